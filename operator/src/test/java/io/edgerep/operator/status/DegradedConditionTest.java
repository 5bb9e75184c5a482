// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.operator.status.StatusFixtures.planOn;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.edgerep.operator.plan.ResourcePlan;

/** Node reports × what the plan waits for → Degraded: every cause listed, the first one's reason. */
class DegradedConditionTest {

    static final List<String> NONE = List.of();
    static final ResourcePlan.Problem NO_PODS = new ResourcePlan.Problem("NoConsumerPods", "det selects no pod");

    static NodeReports reports(List<String> disconnected, List<String> degraded, String degradedReason) {
        return new NodeReports(disconnected, NONE, NONE, degraded, degradedReason);
    }

    static Stream<Arguments> table() {
        var plain = planOn(List.of("n1"));
        var waiting = planOn(List.of("n1"), NO_PODS);
        var fallback = List.of("n1: v/x XdpFellBackToTc m");
        return Stream.of(
                Arguments.of("nothing wrong", reports(NONE, NONE, null), plain,
                        ConditionState.fails("AsExpected", "no fallback, every node and pod present")),
                Arguments.of("only waiting for pods", reports(NONE, NONE, null), waiting,
                        ConditionState.holds("NoConsumerPods", "det selects no pod")),
                Arguments.of("a fallback before waiting", reports(NONE, fallback, "XdpFellBackToTc"), waiting,
                        ConditionState.holds("XdpFellBackToTc", "n1: v/x XdpFellBackToTc m; det selects no pod")),
                Arguments.of("a missing node first", reports(List.of("n2"), fallback, "XdpFellBackToTc"), waiting,
                        ConditionState.holds("NodeUnavailable",
                                "no agent on node(s) n2; n1: v/x XdpFellBackToTc m; det selects no pod")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void table(String name, NodeReports reports, ResourcePlan plan, ConditionState expected) {
        assertThat(DegradedCondition.of(reports, plan)).isEqualTo(expected);
    }

    @Test
    void aRejectedSpecIsNotDegraded() {
        assertThat(DegradedCondition.NOT_ACCEPTED)
                .isEqualTo(ConditionState.fails("NotAccepted", "nothing is programmed"));
    }
}
