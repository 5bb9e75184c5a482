// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.util.ArrayList;
import java.util.List;

import io.edgerep.operator.plan.ResourcePlan;

/**
 * Degraded: the resource runs, but not as asked — a node without an agent, an item in a fallback
 * mode, pods or endpoints the plan waits for. Every cause is listed; the reason is the first
 * cause's, in that order.
 */
final class DegradedCondition {

    /** What a spec that was not accepted says. */
    static final ConditionState NOT_ACCEPTED = ConditionState.fails("NotAccepted", "nothing is programmed");

    private DegradedCondition() {
    }

    static ConditionState of(NodeReports reports, ResourcePlan plan) {
        List<String> why = new ArrayList<>();
        String reason = null;
        if (!reports.disconnected().isEmpty()) {
            why.add("no agent on node(s) " + String.join(", ", reports.disconnected()));
            reason = "NodeUnavailable";
        }
        if (!reports.degraded().isEmpty()) {
            why.addAll(reports.degraded());
            reason = reason == null ? reports.degradedReason() : reason;
        }
        for (ResourcePlan.Problem p : plan.waiting()) {
            why.add(p.message());
            reason = reason == null ? p.reason() : reason;
        }
        if (why.isEmpty()) {
            return ConditionState.fails("AsExpected", "no fallback, every node and pod present");
        }
        return ConditionState.holds(reason, String.join("; ", why));
    }
}
