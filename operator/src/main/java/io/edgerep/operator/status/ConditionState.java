// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

/**
 * What one condition says before it is stamped with the generation and a transition time: the
 * value each condition function returns, and what {@link StatusAggregator} turns into a condition.
 *
 * @param status whether the condition holds
 * @param reason CamelCase reason
 * @param message what a person reads
 */
public record ConditionState(boolean status, String reason, String message) {

    /** A condition that holds. */
    public static ConditionState holds(String reason, String message) {
        return new ConditionState(true, reason, message);
    }

    /** A condition that does not hold. */
    public static ConditionState fails(String reason, String message) {
        return new ConditionState(false, reason, message);
    }
}
