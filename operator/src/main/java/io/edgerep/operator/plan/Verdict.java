// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

/** Whether a spec is accepted; when not, a CamelCase reason and a message for the condition and Event. */
public record Verdict(boolean accepted, String reason, String message) {

    public static final Verdict ACCEPTED = new Verdict(true, "Accepted", "the spec is valid and resolvable");

    public static Verdict rejected(String reason, String message) {
        return new Verdict(false, reason, message);
    }
}
