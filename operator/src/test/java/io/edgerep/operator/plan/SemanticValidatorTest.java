// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.DifferentialFirst;
import static io.edgerep.operator.Fixtures.consumer;
import static io.edgerep.operator.Fixtures.pod;
import static io.edgerep.operator.Fixtures.rate;
import static io.edgerep.operator.Fixtures.sel;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.qoc.QocProfiles;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.Pod;

/** Table: spec × pods × other claims → verdict reason. */
class SemanticValidatorTest {

    static final String NS = "video";

    static EdgeReplica cam(int port, String node) {
        return Fixtures.stream(NS, "cam", port, node, consumer("det", "det", 6000, rate(0.9, DifferentialFirst)));
    }

    static EdgeReplica with(EdgeReplica er, java.util.function.Consumer<EdgeReplica> change) {
        change.accept(er);
        return er;
    }

    static Stream<Arguments> table() {
        List<Pod> pods = List.of(pod(NS, "d1", "n1", "10.0.0.1", Map.of("app", "det")),
                pod(NS, "o1", "n1", "10.0.0.2", Map.of("role", "origin", "app", "web")),
                pod(NS, "o2", "n2", "10.0.0.3", Map.of("role", "origin2", "app", "web")),
                pod(NS, "o3", "n2", "10.0.0.4", Map.of("role", "origin2", "app", "web")),
                pod(NS, "e1", "n2", "10.0.0.5", Map.of("role", "edge", "app", "web")));
        PortClaim olderOnN1 = new PortClaim("other/cam", "2025-01-01T00:00:00Z", 5004, Set.of("n1"));
        PortClaim newerOnN1 = new PortClaim("other/cam", "2027-01-01T00:00:00Z", 5004, Set.of("n1"));
        PortClaim olderOnN2 = new PortClaim("other/cam", "2025-01-01T00:00:00Z", 5004, Set.of("n2"));
        PortClaim olderOtherPort = new PortClaim("other/cam", "2025-01-01T00:00:00Z", 5005, Set.of("n1"));
        return Stream.of(
                Arguments.of("valid stream", cam(5004, "n1"), pods, List.of(), "Accepted"),
                Arguments.of("older claim of the port on the node", cam(5004, "n1"), pods, List.of(olderOnN1),
                        "IngressPortConflict"),
                Arguments.of("unpinned ingress conflicts through its consumer's node", cam(5004, null), pods,
                        List.of(olderOnN1), "IngressPortConflict"),
                Arguments.of("newer claim loses, not this one", cam(5004, "n1"), pods, List.of(newerOnN1), "Accepted"),
                Arguments.of("same port on another node", cam(5004, "n1"), pods, List.of(olderOnN2), "Accepted"),
                Arguments.of("other port on the node", cam(5004, "n1"), pods, List.of(olderOtherPort), "Accepted"),
                Arguments.of("unknown profile",
                        with(cam(5004, "n1"), e -> e.getSpec().getStream().setQocProfile("nope")),
                        pods, List.of(), "UnknownQocProfile"),
                Arguments.of("consumer selector never matches",
                        with(cam(5004, "n1"), e -> e.getSpec().getStream().getConsumers().get(0).setPodSelector(
                                new LabelSelectorBuilder().addToMatchLabels("app", "det").addToMatchExpressions(
                                        new LabelSelectorRequirement("app", "NotIn", List.of("det"))).build())),
                        pods, List.of(), "SelectorNeverMatches"),
                Arguments.of("consumer selector with unknown operator",
                        with(cam(5004, "n1"), e -> e.getSpec().getStream().getConsumers().get(0).setPodSelector(
                                new LabelSelectorBuilder().addToMatchExpressions(
                                        new LabelSelectorRequirement("app", "Like", List.of("d*"))).build())),
                        pods, List.of(), "InvalidSelector"),
                Arguments.of("zero bitrate", with(cam(5004, "n1"), e -> {
                    var q = new io.edgerep.api.v1alpha1.QocSpec();
                    q.setMaxBitrate("0");
                    e.getSpec().getStream().getConsumers().get(0).setQoc(q);
                }), pods, List.of(), "InvalidBitrate"),
                Arguments.of("valid state", Fixtures.state(NS, "web", sel("role", "origin"), sel("role", "edge"), "/d"),
                        pods, List.of(), "Accepted"),
                Arguments.of("origin matches two pods",
                        Fixtures.state(NS, "web", sel("role", "origin2"), sel("role", "edge"), "/d"), pods, List.of(),
                        "OriginAmbiguous"),
                Arguments.of("replicas select the origin",
                        Fixtures.state(NS, "web", sel("role", "origin"), sel("app", "web"), "/d"), pods, List.of(),
                        "ReplicaSelectsOrigin"),
                Arguments.of("zero maxLag", with(Fixtures.state(NS, "web", sel("role", "origin"), sel("role", "edge"),
                        "/d"), e -> e.getSpec().getState().setMaxLag("0s")), pods, List.of(), "InvalidMaxLag"),
                Arguments.of("origin selector never matches",
                        Fixtures.state(NS, "web", sel("role", "in valid"), sel("role", "edge"), "/d"), pods, List.of(),
                        "SelectorNeverMatches"),
                Arguments.of("neither half", Fixtures.er(NS, "x", new io.edgerep.api.v1alpha1.EdgeReplicaSpec()), pods,
                        List.of(), "NothingToDo"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void verdicts(String name, EdgeReplica er, List<Pod> pods, List<PortClaim> claims, String reason) {
        Verdict v = SemanticValidator.validate(er, pods, claims, (ns, n) -> Optional.empty()).verdict();
        assertThat(v.reason()).isEqualTo(reason);
        assertThat(v.accepted()).isEqualTo("Accepted".equals(reason));
        assertThat(v.message()).isNotBlank();
    }

    static final ConfigMap STRICT = new ConfigMapBuilder().withNewMetadata().withName("strict").withNamespace(NS)
            .addToLabels(QocProfiles.PROFILE_LABEL, "").endMetadata()
            .withData(Map.of("lossPercent", "1, 10", "uniform", "0.9,0.5", "differential", "0.95,0.8")).build();

    @Test
    void anAcceptedStreamHandsOnTheProfileItResolvedLookingItUpOnce() {
        var er = with(cam(5004, "n1"), e -> e.getSpec().getStream().setQocProfile("strict"));
        List<String> lookups = new ArrayList<>();
        Validation v = SemanticValidator.validate(er, List.of(), List.of(), (ns, n) -> {
            lookups.add(ns + "/" + n);
            return Optional.of(STRICT);
        });
        assertThat(v.accepted()).isTrue();
        assertThat(v.profile().name()).isEqualTo("strict");
        assertThat(lookups).containsExactly(NS + "/strict");
    }

    @Test
    void aRejectedSpecOrOneWithoutAStreamHandsOnNoProfile() {
        var rejected = SemanticValidator.validate(cam(5004, "n1"), List.of(),
                List.of(new PortClaim("other/cam", "2025-01-01T00:00:00Z", 5004, Set.of("n1"))),
                (ns, n) -> Optional.empty());
        assertThat(rejected.verdict().reason()).isEqualTo("IngressPortConflict");
        assertThat(rejected.profile()).isNull();
        var state = SemanticValidator.validate(Fixtures.state(NS, "web", sel("role", "origin"), sel("role", "edge"),
                "/d"), List.of(), List.of(), (ns, n) -> Optional.empty());
        assertThat(state.accepted()).isTrue();
        assertThat(state.profile()).isNull();
    }

    @Test
    void theStreamHalfIsJudgedBeforeTheStateHalfAndPortClaimsLast() {
        var both = with(cam(5004, "n1"), e -> {
            var st = Fixtures.state(NS, "web", sel("role", "origin2"), sel("role", "edge"), "/d");
            e.getSpec().setState(st.getSpec().getState());
        });
        List<Pod> pods = List.of(pod(NS, "o2", "n2", "10.0.0.3", Map.of("role", "origin2")),
                pod(NS, "o3", "n2", "10.0.0.4", Map.of("role", "origin2")));
        var older = List.of(new PortClaim("other/cam", "2025-01-01T00:00:00Z", 5004, Set.of("n1")));
        assertThat(SemanticValidator.validate(both, pods, older, (ns, n) -> Optional.empty()).verdict().reason())
                .as("state half before the claims").isEqualTo("OriginAmbiguous");
        both.getSpec().getStream().setQocProfile("nope");
        assertThat(SemanticValidator.validate(both, pods, older, (ns, n) -> Optional.empty()).verdict().reason())
                .as("stream half first").isEqualTo("UnknownQocProfile");
    }
}
