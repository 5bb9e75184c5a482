// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import io.edgerep.operator.qoc.QocProfile;

/**
 * What {@link SemanticValidator#validate} found: the verdict, and what it resolved on the way, so
 * the planner uses it instead of resolving it again.
 *
 * @param verdict whether the spec is accepted, and why not
 * @param profile the stream's QoC profile, resolved; null without a stream or when not accepted
 */
public record Validation(Verdict verdict, QocProfile profile) {

    /** A rejection: nothing resolved is handed on. */
    public static Validation rejected(Verdict verdict) {
        return new Validation(verdict, null);
    }

    /** An accepted spec and its resolved QoC profile (null without a stream). */
    public static Validation accepted(QocProfile profile) {
        return new Validation(Verdict.ACCEPTED, profile);
    }

    public boolean accepted() {
        return verdict.accepted();
    }
}
