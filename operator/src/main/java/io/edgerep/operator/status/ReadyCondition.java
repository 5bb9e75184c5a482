// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import io.edgerep.operator.plan.Verdict;

/**
 * Ready: accepted, programmed and in sync. When not, it repeats the first condition that does not
 * hold (Programmed before InSync), so one condition says what a user waits for.
 */
final class ReadyCondition {

    private ReadyCondition() {
    }

    /** A spec that was not accepted: the verdict's message. */
    static ConditionState notAccepted(Verdict verdict) {
        return ConditionState.fails("NotAccepted", verdict.message());
    }

    static ConditionState of(ConditionState programmed, ConditionState inSync) {
        if (!programmed.status()) {
            return ConditionState.fails(programmed.reason(), programmed.message());
        }
        if (!inSync.status()) {
            return ConditionState.fails(inSync.reason(), inSync.message());
        }
        return ConditionState.holds("Ready", "accepted, programmed and in sync");
    }
}
