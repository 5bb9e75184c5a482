// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.qoc.QocProfile;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * Pure planning: an accepted EdgeReplica, the pods of its namespace and what is known of the nodes
 * become this resource's items on each node. No I/O, no clock: the same input gives the same plan.
 */
public final class Planner {

    private Planner() {
    }

    /** The resource's key: "namespace/name". */
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

    /**
     * This resource's items on each node: the stream half ({@link StreamPlanner}) and the state
     * half ({@link StatePlanner}) planned apart and joined per node.
     *
     * @param profile the stream's QoC profile, as {@link SemanticValidator#validate} resolved it
     */
    public static ResourcePlan plan(EdgeReplica er, Collection<Pod> pods, NodeFacts facts, QocProfile profile) {
        String key = key(er);
        long generation = er.getMetadata().getGeneration() == null ? 0 : er.getMetadata().getGeneration();
        StreamSpec streamSpec = er.getSpec().getStream();
        StateSpec stateSpec = er.getSpec().getState();
        StreamPlanner.Result stream = streamSpec == null
                ? StreamPlanner.Result.NONE
                : StreamPlanner.plan(key, generation, streamSpec, pods, profile);
        StatePlanner.Result state = stateSpec == null
                ? StatePlanner.Result.NONE
                : StatePlanner.plan(key, generation, stateSpec, pods, facts);
        List<ResourcePlan.Problem> waiting = new ArrayList<>(stream.waiting());
        waiting.addAll(state.waiting());
        return new ResourcePlan(key, generation, join(stream.nodes(), state.nodes()), stream.ingressNodes(),
                stream.consumers(), state.originPod(), state.originNode(), state.replicaPods(),
                stream.effectiveQuality(), waiting);
    }

    /** Per node, the stream items of one half and the state items of the other. */
    private static Map<String, NodeItems> join(Map<String, NodeItems> stream, Map<String, NodeItems> state) {
        Map<String, NodeItems> nodes = new TreeMap<>();
        Set<String> all = new TreeSet<>(stream.keySet());
        all.addAll(state.keySet());
        for (String node : all) {
            NodeItems items = new NodeItems();
            NodeItems s = stream.get(node);
            NodeItems t = state.get(node);
            if (s != null) {
                items.streams().addAll(s.streams());
            }
            if (t != null) {
                items.origins().addAll(t.origins());
                items.replicas().addAll(t.replicas());
            }
            nodes.put(node, items);
        }
        return nodes;
    }
}
