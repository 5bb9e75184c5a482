// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;

/** Kubernetes-convention conditions: lastTransitionTime moves only when the status flips. */
public final class Conditions {

    private Conditions() {
    }

    public static Optional<Condition> find(List<Condition> conditions, String type) {
        return conditions == null
                ? Optional.empty()
                : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    public static boolean isTrue(List<Condition> conditions, String type) {
        return find(conditions, type).map(c -> "True".equals(c.getStatus())).orElse(false);
    }

    /** A new condition derived from the previous one of the same type (transition time kept unless status changes). */
    public static Condition next(List<Condition> previous, String type, boolean status, String reason, String message,
            Long generation, Instant now) {
        String s = status ? "True" : "False";
        String time = find(previous, type).filter(c -> s.equals(c.getStatus()))
                .map(Condition::getLastTransitionTime)
                .orElse(now.truncatedTo(ChronoUnit.SECONDS).toString());
        return new ConditionBuilder().withType(type).withStatus(s).withReason(reason)
                .withMessage(truncate(message)).withObservedGeneration(generation).withLastTransitionTime(time).build();
    }

    static String truncate(String message) {
        return message.length() <= 1024 ? message : message.substring(0, 1021) + "...";
    }

    /** Whether two condition lists say the same (same order, same fields). */
    public static boolean same(List<Condition> a, List<Condition> b) {
        return Objects.equals(a == null ? List.of() : new ArrayList<>(a), b == null ? List.of() : new ArrayList<>(b));
    }
}
