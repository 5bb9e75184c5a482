// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;

/** Label selector matching and static analysis (malformed or never-matching selectors). */
public final class Selectors {

    private static final Pattern NAME = Pattern.compile("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$");
    private static final Pattern PREFIX = Pattern
            .compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

    private Selectors() {
    }

    /** Whether the labels satisfy the selector (a null selector matches nothing, an empty one everything). */
    public static boolean matches(LabelSelector selector, Map<String, String> labels) {
        if (selector == null || malformed(selector).isPresent()) {
            return false; // a malformed selector selects nothing
        }
        Map<String, String> l = labels == null ? Map.of() : labels;
        if (selector.getMatchLabels() != null) {
            for (var e : selector.getMatchLabels().entrySet()) {
                if (e.getValue() == null || !e.getValue().equals(l.get(e.getKey()))) {
                    return false;
                }
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                String v = l.get(r.getKey());
                List<String> values = r.getValues() == null ? List.of() : r.getValues();
                boolean ok = switch (r.getOperator()) {
                    case "In" -> v != null && values.contains(v);
                    case "NotIn" -> v == null || !values.contains(v);
                    case "Exists" -> v != null;
                    case "DoesNotExist" -> v == null;
                    default -> false;
                };
                if (!ok) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Why a selector is malformed, if it is (unknown operator, bad key, values where none belong...). */
    public static Optional<String> malformed(LabelSelector selector) {
        if (selector == null) {
            return Optional.of("selector is missing");
        }
        if (selector.getMatchLabels() != null) {
            for (String key : selector.getMatchLabels().keySet()) {
                if (!validKey(key)) {
                    return Optional.of("invalid label key '" + key + "'");
                }
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                if (r.getKey() == null || !validKey(r.getKey())) {
                    return Optional.of("invalid label key '" + r.getKey() + "'");
                }
                int n = r.getValues() == null ? 0 : r.getValues().size();
                String op = r.getOperator();
                if ("In".equals(op) || "NotIn".equals(op)) {
                    if (n == 0) {
                        return Optional.of("operator " + op + " on key '" + r.getKey() + "' needs at least one value");
                    }
                } else if ("Exists".equals(op) || "DoesNotExist".equals(op)) {
                    if (n != 0) {
                        return Optional.of("operator " + op + " on key '" + r.getKey() + "' takes no values");
                    }
                } else {
                    return Optional.of("unknown operator '" + op + "' (In, NotIn, Exists, DoesNotExist)");
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Why a well-formed selector can never match any pod, if so: contradictory requirements on one
     * key, or a required value no label can hold.
     */
    public static Optional<String> neverMatches(LabelSelector selector) {
        Map<String, Set<String>> allowed = new HashMap<>();
        Map<String, Set<String>> forbidden = new HashMap<>();
        Set<String> mustExist = new HashSet<>();
        Set<String> mustNotExist = new HashSet<>();
        if (selector.getMatchLabels() != null) {
            for (var e : selector.getMatchLabels().entrySet()) {
                mustExist.add(e.getKey());
                intersect(allowed, e.getKey(), Set.of(e.getValue() == null ? "" : e.getValue()));
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                switch (r.getOperator()) {
                    case "In" -> {
                        mustExist.add(r.getKey());
                        intersect(allowed, r.getKey(), new HashSet<>(r.getValues()));
                    }
                    case "NotIn" -> forbidden.computeIfAbsent(r.getKey(), k -> new HashSet<>()).addAll(r.getValues());
                    case "Exists" -> mustExist.add(r.getKey());
                    case "DoesNotExist" -> mustNotExist.add(r.getKey());
                    default -> {
                        return Optional.of("unknown operator '" + r.getOperator() + "'");
                    }
                }
            }
        }
        for (String key : mustExist) {
            if (mustNotExist.contains(key)) {
                return Optional.of("label '" + key + "' is required to exist and to be absent");
            }
        }
        for (var e : allowed.entrySet()) {
            Set<String> values = new HashSet<>(e.getValue());
            values.removeIf(v -> !validValue(v));
            values.removeAll(forbidden.getOrDefault(e.getKey(), Set.of()));
            if (values.isEmpty()) {
                return Optional.of("no value of label '" + e.getKey() + "' satisfies every requirement "
                        + "(contradictory or invalid label values)");
            }
        }
        return Optional.empty();
    }

    private static void intersect(Map<String, Set<String>> allowed, String key, Set<String> values) {
        allowed.merge(key, new HashSet<>(values), (a, b) -> {
            a.retainAll(b);
            return a;
        });
    }

    static boolean validKey(String key) {
        if (key == null || key.isEmpty()) {
            return false;
        }
        int slash = key.indexOf('/');
        if (slash >= 0) {
            String prefix = key.substring(0, slash);
            if (prefix.isEmpty() || prefix.length() > 253 || !PREFIX.matcher(prefix).matches()) {
                return false;
            }
            key = key.substring(slash + 1);
        }
        return key.length() <= 63 && NAME.matcher(key).matches();
    }

    static boolean validValue(String value) {
        return value.isEmpty() || (value.length() <= 63 && NAME.matcher(value).matches());
    }
}
