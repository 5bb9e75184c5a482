// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.QocSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.qoc.QocProfile;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.Datapath;
import io.edgerep.proto.v1.Inspection;
import io.edgerep.proto.v1.Policy;
import io.edgerep.proto.v1.PolicyKind;
import io.edgerep.proto.v1.StreamConfig;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * The stream half of {@link Planner}: one {@code StreamConfig} per ingress node, copying to the
 * consumer pods that node serves (all of them when the ingress is pinned, its own otherwise), each
 * with its drop policy and loss budget from the QoC profile.
 */
final class StreamPlanner {

    /**
     * The stream half of a plan.
     *
     * @param nodes per ingress node, its stream item
     * @param ingressNodes nodes that receive the stream
     * @param consumers per consumer name, the names of its usable pods
     * @param effectiveQuality the highest detection rate any consumer needs, or null
     * @param waiting consumers that select no ready pod
     */
    record Result(Map<String, NodeItems> nodes, Set<String> ingressNodes, Map<String, List<String>> consumers,
            Double effectiveQuality, List<ResourcePlan.Problem> waiting) {
        static final Result NONE = new Result(Map.of(), Set.of(), Map.of(), null, List.of());
    }

    private StreamPlanner() {
    }

    static Result plan(String key, long generation, StreamSpec stream, Collection<Pod> pods, QocProfile profile) {
        Map<String, NodeItems> nodes = new TreeMap<>();
        List<ResourcePlan.Problem> waiting = new ArrayList<>();
        Map<String, List<String>> consumers = new LinkedHashMap<>();
        Map<String, List<Pod>> selected = new LinkedHashMap<>();
        for (ConsumerSpec c : stream.getConsumers()) {
            List<Pod> ps = Planner.usablePods(pods, c.getPodSelector());
            selected.put(c.getName(), ps);
            consumers.put(c.getName(), ps.stream().map(p -> p.getMetadata().getName()).toList());
            if (ps.isEmpty()) {
                waiting.add(new ResourcePlan.Problem("NoConsumerPods",
                        "consumer " + c.getName() + " selects no ready pod"));
            }
        }
        Set<String> ingress = Planner.ingressNodes(stream, pods);
        boolean local = stream.getIngress().getNodeName() == null;
        for (String node : ingress) {
            StreamConfig.Builder sc = streamOf(key, generation, stream);
            for (ConsumerSpec c : stream.getConsumers()) {
                for (Pod p : selected.get(c.getName())) {
                    if (!local || node.equals(PodFacts.node(p))) {
                        sc.addConsumers(consumer(c, p, node, profile));
                    }
                }
            }
            nodes.computeIfAbsent(node, n -> new NodeItems()).streams().add(sc.build());
        }
        return new Result(nodes, ingress, consumers, effectiveQuality(stream), waiting);
    }

    private static StreamConfig.Builder streamOf(String key, long generation, StreamSpec stream) {
        return StreamConfig.newBuilder().setKey(key).setGeneration(generation)
                .setInterface(stream.getIngress().getInterfaceName())
                .setIpProtocol(stream.getIngress().getProtocol().ianaNumber())
                .setPort(stream.getIngress().getPort())
                .setInspection(stream.getInspection() == StreamSpec.Inspection.NONE
                        ? Inspection.INSPECTION_NONE
                        : Inspection.INSPECTION_MPEGTS)
                .setDatapath(stream.getDatapath() == StreamSpec.Datapath.XDP
                        ? Datapath.DATAPATH_XDP
                        : Datapath.DATAPATH_TC);
    }

    static ConsumerConfig consumer(ConsumerSpec c, Pod pod, String ingressNode, QocProfile profile) {
        ConsumerConfig.Builder b = ConsumerConfig.newBuilder().setKey(c.getName() + "/" + pod.getMetadata().getName())
                .setPod(PodFacts.ref(pod)).setPort(c.getPort());
        if (!ingressNode.equals(PodFacts.node(pod))) {
            b.setViaNodeIp(PodFacts.hostIp(pod));
        }
        QocSpec q = c.getQoc();
        Policy.Builder policy = Policy.newBuilder();
        if (q == null || q.getPolicy() == QocSpec.DropPolicy.None) {
            policy.setKind(PolicyKind.POLICY_KIND_NONE);
        } else {
            policy.setKind(q.getPolicy() == QocSpec.DropPolicy.Uniform
                    ? PolicyKind.POLICY_KIND_UNIFORM
                    : PolicyKind.POLICY_KIND_DIFFERENTIAL_FIRST);
            if (q.getMaxBitrate() != null) {
                policy.setRateBytesPerSec(Quantities.bitsPerSecond(q.getMaxBitrate()) / 8);
            }
            if (q.getMinDetectionRate() != null && q.getPolicy() == QocSpec.DropPolicy.Uniform) {
                policy.setUniformDropPpm(lossPpm(profile.lossBudgetPercent(q.getMinDetectionRate(), q.getPolicy())));
            }
        }
        return b.setPolicy(policy).build();
    }

    /** Percent to parts per million, rounded down (never tolerate more than the profile allows). */
    static int lossPpm(double percent) {
        return (int) Math.floor(percent * 10_000 + 1e-6);
    }

    /**
     * The quality the sensor must deliver: the highest detection rate any consumer states; a consumer
     * with no QoC need receives everything and so needs 1.0; bitrate-only consumers state no rate.
     */
    static Double effectiveQuality(StreamSpec stream) {
        Double best = null;
        for (ConsumerSpec c : stream.getConsumers()) {
            Double need = null;
            if (c.getQoc() == null || c.getQoc().getPolicy() == QocSpec.DropPolicy.None) {
                need = 1.0;
            } else if (c.getQoc().getMinDetectionRate() != null) {
                need = c.getQoc().getMinDetectionRate();
            }
            if (need != null && (best == null || need > best)) {
                best = need;
            }
        }
        return best;
    }
}
