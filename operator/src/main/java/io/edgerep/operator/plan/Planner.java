package io.edgerep.operator.plan;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.QocSpec;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.qoc.QocProfile;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.Datapath;
import io.edgerep.proto.v1.Inspection;
import io.edgerep.proto.v1.Policy;
import io.edgerep.proto.v1.PolicyKind;
import io.edgerep.proto.v1.ReplicaTarget;
import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.proto.v1.StreamConfig;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * Pure planning: an accepted EdgeReplica, the pods of its namespace and what is known of the nodes
 * become this resource's items on each node. No I/O, no clock: the same input gives the same plan.
 */
public final class Planner {

    /** IANA protocol number of UDP. */
    static final int IP_PROTO_UDP = 17;

    private Planner() {
    }

    public static String key(EdgeReplica er) {
        return er.getMetadata().getNamespace() + "/" + er.getMetadata().getName();
    }

    /** Pods of the selector that can take traffic, by name. */
    public static List<Pod> usablePods(Collection<Pod> pods, io.fabric8.kubernetes.api.model.LabelSelector sel) {
        return pods.stream().filter(PodFacts::usable)
                .filter(p -> Selectors.matches(sel, p.getMetadata().getLabels()))
                .sorted(PodFacts.BY_NAME).toList();
    }

    /** Nodes the stream enters: the named node, or every node that runs a usable consumer pod. */
    public static Set<String> ingressNodes(StreamSpec stream, Collection<Pod> pods) {
        Set<String> nodes = new TreeSet<>();
        if (stream == null) {
            return nodes;
        }
        if (stream.getIngress().getNodeName() != null) {
            nodes.add(stream.getIngress().getNodeName());
            return nodes;
        }
        for (ConsumerSpec c : stream.getConsumers()) {
            usablePods(pods, c.getPodSelector()).forEach(p -> nodes.add(PodFacts.node(p)));
        }
        return nodes;
    }

    public static ResourcePlan plan(EdgeReplica er, Collection<Pod> pods, NodeFacts facts, QocProfile profile) {
        String key = key(er);
        long generation = er.getMetadata().getGeneration() == null ? 0 : er.getMetadata().getGeneration();
        Map<String, NodeItems> nodes = new TreeMap<>();
        List<ResourcePlan.Problem> waiting = new ArrayList<>();
        Map<String, List<String>> consumers = new LinkedHashMap<>();
        Set<String> ingress = Set.of();
        Double quality = null;

        StreamSpec stream = er.getSpec().getStream();
        if (stream != null) {
            ingress = ingressNodes(stream, pods);
            quality = effectiveQuality(stream);
            Map<String, List<Pod>> selected = new LinkedHashMap<>();
            for (ConsumerSpec c : stream.getConsumers()) {
                List<Pod> ps = usablePods(pods, c.getPodSelector());
                selected.put(c.getName(), ps);
                consumers.put(c.getName(), ps.stream().map(p -> p.getMetadata().getName()).toList());
                if (ps.isEmpty()) {
                    waiting.add(new ResourcePlan.Problem("NoConsumerPods",
                            "consumer " + c.getName() + " selects no ready pod"));
                }
            }
            for (String node : ingress) {
                StreamConfig.Builder sc = StreamConfig.newBuilder().setKey(key).setGeneration(generation)
                        .setInterface(stream.getIngress().getInterfaceName()).setIpProtocol(IP_PROTO_UDP)
                        .setPort(stream.getIngress().getPort())
                        .setInspection(stream.getInspection() == StreamSpec.Inspection.NONE
                                ? Inspection.INSPECTION_NONE
                                : Inspection.INSPECTION_MPEGTS)
                        .setDatapath(stream.getDatapath() == StreamSpec.Datapath.XDP
                                ? Datapath.DATAPATH_XDP
                                : Datapath.DATAPATH_TC);
                boolean local = stream.getIngress().getNodeName() == null;
                for (ConsumerSpec c : stream.getConsumers()) {
                    for (Pod p : selected.get(c.getName())) {
                        if (local && !node.equals(PodFacts.node(p))) {
                            continue;
                        }
                        sc.addConsumers(consumer(c, p, node, profile));
                    }
                }
                nodes.computeIfAbsent(node, n -> new NodeItems()).streams().add(sc.build());
            }
        }

        String originPod = null;
        String originNode = null;
        Map<String, String> replicaPods = new TreeMap<>();
        StateSpec state = er.getSpec().getState();
        if (state != null) {
            List<Pod> origins = usablePods(pods, state.getOrigin().getPodSelector());
            List<Pod> replicas = usablePods(pods, state.getReplicas().getPodSelector()).stream()
                    .filter(p -> !origins.contains(p)).toList();
            replicas.forEach(p -> replicaPods.put(p.getMetadata().getName(), PodFacts.node(p)));
            if (origins.size() != 1) {
                waiting.add(new ResourcePlan.Problem("NoOriginPod", origins.isEmpty()
                        ? "the origin selector matches no ready pod"
                        : "the origin selector matches " + origins.size() + " ready pods"));
            } else {
                Pod origin = origins.get(0);
                originPod = origin.getMetadata().getName();
                originNode = PodFacts.node(origin);
                if (replicas.isEmpty()) {
                    waiting.add(new ResourcePlan.Problem("NoReplicaPods", "the replica selector matches no ready pod"));
                }
                StateOriginConfig.Builder oc = StateOriginConfig.newBuilder().setKey(key).setGeneration(generation)
                        .setPod(PodFacts.ref(origin))
                        .setContainer(PodFacts.container(origin, state.getOrigin().getContainer()))
                        .addAllPaths(state.getPaths());
                for (Pod r : replicas) {
                    String endpoint = facts.endpoint(PodFacts.node(r));
                    if (endpoint.isEmpty()) {
                        waiting.add(new ResourcePlan.Problem("ReplicaNodeUnknown",
                                "no agent has reported a replication "
                                        + "endpoint for node " + PodFacts.node(r) + " of replica "
                                        + r.getMetadata().getName()));
                    }
                    oc.addReplicas(ReplicaTarget.newBuilder().setPod(PodFacts.ref(r)).setAgentEndpoint(endpoint));
                    nodes.computeIfAbsent(PodFacts.node(r), n -> new NodeItems()).replicas()
                            .add(StateReplicaConfig.newBuilder().setKey(key).setGeneration(generation)
                                    .setPod(PodFacts.ref(r))
                                    .setContainer(PodFacts.container(r, state.getReplicas().getContainer()))
                                    .addAllPaths(state.getPaths()).setOriginNode(originNode).build());
                }
                nodes.computeIfAbsent(originNode, n -> new NodeItems()).origins().add(oc.build());
            }
        }
        return new ResourcePlan(key, generation, nodes, ingress, consumers, originPod, originNode, replicaPods, quality,
                waiting);
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
            if (q.getMinDetectionRate() != null) {
                int ppm = lossPpm(profile.lossBudgetPercent(q.getMinDetectionRate(), q.getPolicy()));
                b.setToleratedLossPpm(ppm);
                if (q.getPolicy() == QocSpec.DropPolicy.Uniform) {
                    policy.setUniformDropPpm(ppm);
                }
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
