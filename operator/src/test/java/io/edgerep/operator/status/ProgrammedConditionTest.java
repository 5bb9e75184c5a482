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

/** Plan × node reports → Programmed; each row's cause wins over the ones of the rows below it. */
class ProgrammedConditionTest {

    static final List<String> NONE = List.of();

    static NodeReports reports(List<String> disconnected, List<String> failed, List<String> pending) {
        return new NodeReports(disconnected, pending, failed, NONE, null);
    }

    static Stream<Arguments> table() {
        var two = planOn(List.of("n1", "n2"));
        return Stream.of(
                Arguments.of("no node involved", planOn(NONE), reports(NONE, NONE, NONE),
                        ConditionState.fails("WaitingForPods", "no node is involved yet")),
                Arguments.of("no node involved, the plan says why",
                        planOn(NONE, new ResourcePlan.Problem("NoOriginPod", "no origin pod"),
                                new ResourcePlan.Problem("NoReplicaPods", "no replica pod")),
                        reports(NONE, NONE, NONE), ConditionState.fails("WaitingForPods", "no origin pod")),
                Arguments.of("an agent missing beats a failure", two,
                        reports(List.of("n1", "n2"), List.of("n1: v/x AttachFailed m"), List.of("n2")),
                        ConditionState.fails("AgentUnavailable", "no agent connected on node(s) n1, n2")),
                Arguments.of("a failure beats a node applying", two,
                        reports(NONE, List.of("n1: a", "n1: b"), List.of("n2")),
                        ConditionState.fails("ApplyFailed", "n1: a; n1: b")),
                Arguments.of("a node applying", two, reports(NONE, NONE, List.of("n2")),
                        ConditionState.fails("Applying", "waiting for node(s) n2 to apply generation 4")),
                Arguments.of("every node applied", two, reports(NONE, NONE, NONE),
                        ConditionState.holds("Programmed", "2 node(s) applied generation 4")));
    }

    @org.junit.jupiter.api.Test
    void aNodeWithoutAgentSaysWhyWhenItCanTell() {
        var two = planOn(List.of("n1", "n2"));
        assertThat(ProgrammedCondition.of(two, reports(List.of("n1", "n2"), NONE, NONE), 4L,
                n -> n.equals("n1") ? "agent pod a-1: agent: ImagePullBackOff" : ""))
                .isEqualTo(ConditionState.fails("AgentUnavailable",
                        "no agent connected on node(s) n1 (agent pod a-1: agent: ImagePullBackOff), n2"));
    }

    @org.junit.jupiter.api.Test
    void aNodeWhoseLoaderIsGoneQuotesItsPod() {
        var reports = new NodeReports(NONE, NONE, List.of("n1: v/x LoaderUnavailable the loader is gone"), NONE,
                null, List.of("n1"));
        assertThat(ProgrammedCondition.of(planOn(List.of("n1")), reports, 4L,
                n -> "agent pod a-1: loader: CrashLoopBackOff (last exit 2: Error: no kernel headers for 6.1)"))
                .isEqualTo(ConditionState.fails("ApplyFailed", "n1: v/x LoaderUnavailable the loader is gone; "
                        + "n1: agent pod a-1: loader: CrashLoopBackOff (last exit 2: Error: no kernel headers for 6.1)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void table(String name, ResourcePlan plan, NodeReports reports, ConditionState expected) {
        assertThat(ProgrammedCondition.of(plan, reports, 4L)).isEqualTo(expected);
    }

    @Test
    void aRejectedSpecIsNotProgrammed() {
        assertThat(ProgrammedCondition.NOT_ACCEPTED.status()).isFalse();
        assertThat(ProgrammedCondition.NOT_ACCEPTED.reason()).isEqualTo("NotAccepted");
    }
}
