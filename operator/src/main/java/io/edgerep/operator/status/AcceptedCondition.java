// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import io.edgerep.operator.plan.Verdict;

/** Accepted: the spec passed the semantic checks; the verdict's reason and message as they are. */
final class AcceptedCondition {

    private AcceptedCondition() {
    }

    static ConditionState of(Verdict verdict) {
        return new ConditionState(verdict.accepted(), verdict.reason(), verdict.message());
    }
}
