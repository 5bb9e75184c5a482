// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConditionStateTest {

    @Test
    void holdsIsTrueAndFailsIsFalse() {
        assertThat(ConditionState.holds("Ready", "all good")).isEqualTo(new ConditionState(true, "Ready", "all good"));
        assertThat(ConditionState.fails("Applying", "wait")).isEqualTo(new ConditionState(false, "Applying", "wait"));
    }
}
