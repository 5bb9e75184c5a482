// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.proto.v1.ReplicaTarget;
import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.wire.ProtoTime;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * The state half of {@link Planner}: the origin pod's node traces the paths and ships them to
 * every replica's node agent (at the replication endpoint that agent reported); each replica's
 * node applies them. Nothing is planned without exactly one usable origin pod.
 */
final class StatePlanner {

    /**
     * The state half of a plan.
     *
     * @param nodes per node, its origin and replica items
     * @param originPod the origin pod name, or null
     * @param originNode the origin pod's node, or null
     * @param replicaPods replica pod name to node (sorted)
     * @param waiting no origin, no replicas, replica nodes without a known endpoint
     */
    record Result(Map<String, NodeItems> nodes, String originPod, String originNode, Map<String, String> replicaPods,
            List<ResourcePlan.Problem> waiting) {
        static final Result NONE = new Result(Map.of(), null, null, Map.of(), List.of());
    }

    private StatePlanner() {
    }

    static Result plan(String key, long generation, StateSpec state, Collection<Pod> pods, NodeFacts facts) {
        List<Pod> origins = Planner.usablePods(pods, state.getOrigin().getPodSelector());
        List<Pod> replicas = Planner.usablePods(pods, state.getReplicas().getPodSelector()).stream()
                .filter(p -> !origins.contains(p)).toList();
        Map<String, String> replicaPods = new TreeMap<>();
        replicas.forEach(p -> replicaPods.put(p.getMetadata().getName(), PodFacts.node(p)));
        List<ResourcePlan.Problem> waiting = new ArrayList<>();
        if (origins.size() != 1) {
            waiting.add(new ResourcePlan.Problem("NoOriginPod", origins.isEmpty()
                    ? "the origin selector matches no ready pod"
                    : "the origin selector matches " + origins.size() + " ready pods"));
            return new Result(Map.of(), null, null, replicaPods, waiting);
        }
        Pod origin = origins.get(0);
        String originNode = PodFacts.node(origin);
        if (replicas.isEmpty()) {
            waiting.add(new ResourcePlan.Problem("NoReplicaPods", "the replica selector matches no ready pod"));
        }
        Map<String, NodeItems> nodes = new TreeMap<>();
        StateOriginConfig.Builder oc = StateOriginConfig.newBuilder().setKey(key).setGeneration(generation)
                .setPod(PodFacts.ref(origin))
                .setContainer(PodFacts.container(origin, state.getOrigin().getContainer()))
                .addAllPaths(state.getPaths())
                .setVerifyInterval(ProtoTime.duration(Quantities.millis(state.getVerifyInterval())));
        for (Pod r : replicas) {
            String endpoint = facts.endpoint(PodFacts.node(r));
            if (endpoint.isEmpty()) {
                waiting.add(new ResourcePlan.Problem("ReplicaNodeUnknown", "no agent has reported a replication "
                        + "endpoint for node " + PodFacts.node(r) + " of replica " + r.getMetadata().getName()));
            }
            oc.addReplicas(ReplicaTarget.newBuilder().setPod(PodFacts.ref(r)).setAgentEndpoint(endpoint));
            nodes.computeIfAbsent(PodFacts.node(r), n -> new NodeItems()).replicas()
                    .add(StateReplicaConfig.newBuilder().setKey(key).setGeneration(generation)
                            .setPod(PodFacts.ref(r))
                            .setContainer(PodFacts.container(r, state.getReplicas().getContainer()))
                            .addAllPaths(state.getPaths()).setOriginNode(originNode).build());
        }
        nodes.computeIfAbsent(originNode, n -> new NodeItems()).origins().add(oc.build());
        return new Result(nodes, origin.getMetadata().getName(), originNode, replicaPods, waiting);
    }
}
