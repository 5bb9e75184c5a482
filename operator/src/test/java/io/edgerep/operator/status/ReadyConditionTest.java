// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.edgerep.operator.plan.Verdict;

class ReadyConditionTest {

    static final ConditionState PROGRAMMED = ConditionState.holds("Programmed", "1 node(s) applied generation 1");
    static final ConditionState APPLYING = ConditionState.fails("Applying", "waiting for node(s) n1");
    static final ConditionState IN_SYNC = ConditionState.holds("InSync", "1 replica(s) within 1s");
    static final ConditionState LAGGING = ConditionState.fails("ReplicaLagging", "beyond maxLag 1s: e (2000ms)");

    /** Programmed × InSync → Ready: the first condition that does not hold is repeated. */
    @ParameterizedTest(name = "programmed={0} inSync={1}")
    @CsvSource({
            "true,  true,  true,  Ready,          'accepted, programmed and in sync'",
            "true,  false, false, ReplicaLagging, beyond maxLag 1s: e (2000ms)",
            "false, true,  false, Applying,       waiting for node(s) n1",
            "false, false, false, Applying,       waiting for node(s) n1"})
    void table(boolean programmed, boolean inSync, boolean ready, String reason, String message) {
        var s = ReadyCondition.of(programmed ? PROGRAMMED : APPLYING, inSync ? IN_SYNC : LAGGING);
        assertThat(s).isEqualTo(new ConditionState(ready, reason, message));
    }

    @org.junit.jupiter.api.Test
    void aRejectedSpecIsNotReadyWithTheVerdictsMessage() {
        assertThat(ReadyCondition.notAccepted(Verdict.rejected("UnknownQocProfile", "no such profile")))
                .isEqualTo(ConditionState.fails("NotAccepted", "no such profile"));
    }
}
