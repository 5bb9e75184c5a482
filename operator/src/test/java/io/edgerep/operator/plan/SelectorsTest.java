// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;

class SelectorsTest {

    static LabelSelectorRequirement req(String key, String op, String... values) {
        return new LabelSelectorRequirement(key, op, List.of(values));
    }

    static LabelSelector sel(Map<String, String> labels, LabelSelectorRequirement... reqs) {
        return new LabelSelectorBuilder().withMatchLabels(labels).withMatchExpressions(reqs).build();
    }

    /** selector, labels, matches, malformed?, never matches? */
    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of("equality", sel(Map.of("app", "web")), Map.of("app", "web", "x", "y"), true, false, false),
                Arguments.of("equality miss", sel(Map.of("app", "web")), Map.of("app", "db"), false, false, false),
                Arguments.of("empty selects all", sel(Map.of()), Map.of("a", "b"), true, false, false),
                Arguments.of("In", sel(Map.of(), req("tier", "In", "a", "b")), Map.of("tier", "b"), true, false, false),
                Arguments.of("NotIn absent", sel(Map.of(), req("tier", "NotIn", "a")), Map.of(), true, false, false),
                Arguments.of("Exists", sel(Map.of(), req("tier", "Exists")), Map.of("tier", ""), true, false, false),
                Arguments.of("DoesNotExist", sel(Map.of(), req("tier", "DoesNotExist")), Map.of("tier", "x"), false,
                        false, false),
                Arguments.of("unknown operator", sel(Map.of(), req("tier", "Equals", "a")), Map.of("tier", "a"), false,
                        true, false),
                Arguments.of("In without values", sel(Map.of(), req("tier", "In")), Map.of(), false, true, false),
                Arguments.of("Exists with values", sel(Map.of(), req("tier", "Exists", "a")), Map.of("tier", "a"),
                        false, true, false),
                Arguments.of("bad key", sel(Map.of("bad key", "x")), Map.of(), false, true, false),
                Arguments.of("bad prefix", sel(Map.of("Bad_Prefix/x", "x")), Map.of(), false, true, false),
                Arguments.of("equal and absent", sel(Map.of("app", "web"), req("app", "DoesNotExist")),
                        Map.of("app", "web"), false, false, true),
                Arguments.of("equal and NotIn same", sel(Map.of("app", "web"), req("app", "NotIn", "web")),
                        Map.of("app", "web"), false, false, true),
                Arguments.of("equal outside In", sel(Map.of("app", "web"), req("app", "In", "db")),
                        Map.of("app", "web"), false, false, true),
                Arguments.of("disjoint Ins", sel(Map.of(), req("a", "In", "x"), req("a", "In", "y")), Map.of("a", "x"),
                        false, false, true),
                Arguments.of("In fully excluded", sel(Map.of(), req("a", "In", "x"), req("a", "NotIn", "x")),
                        Map.of("a", "x"), false, false, true),
                Arguments.of("invalid value", sel(Map.of("app", "not a label value")), Map.of(), false, false, true),
                Arguments.of("Exists and DoesNotExist", sel(Map.of(), req("a", "Exists"), req("a", "DoesNotExist")),
                        Map.of("a", "1"), false, false, true),
                Arguments.of("satisfiable mix", sel(Map.of("app", "web"), req("tier", "NotIn", "db"),
                        req("zone", "In", "a", "b")), Map.of("app", "web", "zone", "a"), true, false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void selectorTable(String name, LabelSelector s, Map<String, String> labels, boolean matches, boolean malformed,
            boolean never) {
        assertThat(Selectors.malformed(s).isPresent()).as("malformed").isEqualTo(malformed);
        if (!malformed) {
            assertThat(Selectors.neverMatches(s).isPresent()).as("never matches").isEqualTo(never);
        }
        assertThat(Selectors.matches(s, labels)).as("matches").isEqualTo(matches);
    }
}
