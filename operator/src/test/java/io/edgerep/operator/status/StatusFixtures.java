// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.edgerep.operator.plan.NodeItems;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.registry.NodeView;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaProgress;

/** Plans, node views and reports for the status tests, built directly (no planner involved). */
final class StatusFixtures {

    static final NodeReports NOTHING_TO_REPORT = new NodeReports(List.of(), List.of(), List.of(), List.of(), null);

    private StatusFixtures() {
    }

    /** A plan with (empty) items on the given nodes, waiting for the given problems. */
    static ResourcePlan planOn(List<String> nodes, ResourcePlan.Problem... waiting) {
        Map<String, NodeItems> items = new TreeMap<>();
        nodes.forEach(n -> items.put(n, new NodeItems()));
        return new ResourcePlan("v/x", 1, items, Set.of(), Map.of(), null, null, Map.of(), null, List.of(waiting));
    }

    /** A state plan: an origin pod (or none) and replica pods by node. */
    static ResourcePlan statePlan(String originPod, String originNode, Map<String, String> replicaPods) {
        return new ResourcePlan("v/x", 1, Map.of(), Set.of(), Map.of(), originPod, originNode,
                new TreeMap<>(replicaPods), null, List.of());
    }

    /** A connected node that applied what it was asked to, with these item results. */
    static NodeView applied(String node, ItemResult... results) {
        return new NodeView(node, true, 3, 3, List.of(results), List.of(), List.of(), null);
    }

    static NodeView withCounters(String node, ConsumerCounters... counters) {
        return new NodeView(node, true, 3, 3, List.of(), List.of(counters), List.of(), null);
    }

    static NodeView withReplicas(String node, ReplicaProgress... progress) {
        return new NodeView(node, true, 3, 3, List.of(), List.of(), List.of(progress), null);
    }

    static NodeView withOrigin(String node, long lastSeq) {
        return new NodeView(node, true, 3, 3, List.of(), List.of(), List.of(),
                OriginProgress.newBuilder().setKey("v/x").setLastSeq(lastSeq).build());
    }

    static NodeView stillApplying(String node) {
        return new NodeView(node, true, 2, 3, List.of(), List.of(), List.of(), null);
    }

    static NodeView disconnected(String node) {
        return new NodeView(node, false, 0, 3, List.of(), List.of(), List.of(), null);
    }

    static ItemResult failed(String reason) {
        return ItemResult.newBuilder().setKey("v/x").setOk(false).setReason(reason).setMessage("m").build();
    }

    static ItemResult degraded(String reason) {
        return ItemResult.newBuilder().setKey("v/x").setOk(true).setDegraded(true).setReason(reason).setMessage("m")
                .build();
    }
}
