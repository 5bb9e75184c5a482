// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.edgerep.operator.plan.Verdict;

class AcceptedConditionTest {

    @Test
    void saysWhatTheVerdictSays() {
        assertThat(AcceptedCondition.of(Verdict.ACCEPTED))
                .isEqualTo(ConditionState.holds("Accepted", "the spec is valid and resolvable"));
        assertThat(AcceptedCondition.of(Verdict.rejected("IngressPortConflict", "port 5004 on n1 is taken")))
                .isEqualTo(ConditionState.fails("IngressPortConflict", "port 5004 on n1 is taken"));
    }
}
