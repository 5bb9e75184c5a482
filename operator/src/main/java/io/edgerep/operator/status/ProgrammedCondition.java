// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.edgerep.operator.plan.ResourcePlan;

/**
 * Programmed: every node the plan involves applied the config carrying this generation, without
 * error. The first of these that applies gives the reason: no node involved, an agent missing,
 * an item failed, a node still applying.
 */
final class ProgrammedCondition {

    /** What a spec that was not accepted says. */
    static final ConditionState NOT_ACCEPTED = ConditionState.fails("NotAccepted", "the spec was not accepted");

    private ProgrammedCondition() {
    }

    static ConditionState of(ResourcePlan plan, NodeReports reports, Long generation) {
        return of(plan, reports, generation, node -> "");
    }

    /**
     * With {@code absence} saying what a node's agent pod reports about itself ("" when it cannot tell): quoted for
     * nodes without an agent and for nodes whose loader is gone.
     */
    static ConditionState of(ResourcePlan plan, NodeReports reports, Long generation,
            Function<String, String> absence) {
        if (plan.nodes().isEmpty()) {
            return ConditionState.fails("WaitingForPods",
                    plan.waiting().isEmpty() ? "no node is involved yet" : plan.waiting().get(0).message());
        }
        if (!reports.disconnected().isEmpty()) {
            return ConditionState.fails("AgentUnavailable",
                    "no agent connected on node(s) " + reports.disconnected().stream().map(n -> {
                        String why = absence.apply(n);
                        return why.isEmpty() ? n : n + " (" + why + ")";
                    }).collect(Collectors.joining(", ")));
        }
        if (!reports.failed().isEmpty()) {
            List<String> lines = new ArrayList<>(reports.failed());
            // a loader that is gone: what its container last said is the cause worth reading
            for (String node : reports.loaderDown()) {
                String why = absence.apply(node);
                if (!why.isEmpty()) {
                    lines.add(node + ": " + why);
                }
            }
            return ConditionState.fails("ApplyFailed", String.join("; ", lines));
        }
        if (!reports.pending().isEmpty()) {
            return ConditionState.fails("Applying", "waiting for node(s) " + String.join(", ", reports.pending())
                    + " to apply generation " + generation);
        }
        return ConditionState.holds("Programmed", plan.nodes().size() + " node(s) applied generation " + generation);
    }
}
