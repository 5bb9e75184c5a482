// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one EdgeReplica asks of the cluster, resolved against its pods.
 *
 * @param key "namespace/name"
 * @param generation the spec generation planned
 * @param nodes per node, this resource's items (sorted by node name)
 * @param ingressNodes nodes that receive the stream (claim its ingress port)
 * @param consumers per consumer name, the pods receiving copies (sorted)
 * @param originPod the origin pod name, or null
 * @param originNode the origin pod's node, or null
 * @param replicaPods replica pod name to node (sorted)
 * @param effectiveQuality the highest detection rate any consumer needs, or null
 * @param waiting why the plan is incomplete (no ready pods, unknown endpoints): Degraded reasons
 */
public record ResourcePlan(String key, long generation, Map<String, NodeItems> nodes, Set<String> ingressNodes,
        Map<String, List<String>> consumers, String originPod, String originNode, Map<String, String> replicaPods,
        Double effectiveQuality, List<Problem> waiting) {

    /** A CamelCase reason and a message. */
    public record Problem(String reason, String message) {
    }

    /** The plan of a resource that was not accepted: nothing on any node. */
    public static ResourcePlan none(String key, long generation) {
        return new ResourcePlan(key, generation, Map.of(), Set.of(), Map.of(), null, null, Map.of(), null, List.of());
    }

    /** How many consumer pods receive the stream. */
    public int consumerPodCount() {
        return consumers.values().stream().mapToInt(List::size).sum();
    }
}
