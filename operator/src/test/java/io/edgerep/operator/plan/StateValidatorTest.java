// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.operator.Fixtures.pod;
import static io.edgerep.operator.Fixtures.sel;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.operator.Fixtures;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;

/** The state half alone: its checks in their order. */
class StateValidatorTest {

    static StateSpec state(String origin, String replicas) {
        return Fixtures.state("v", "web", sel("role", origin), sel("role", replicas), "/d").getSpec().getState();
    }

    static String reason(StateSpec s, List<Pod> pods) {
        return StateValidator.validate(s, pods).map(Verdict::reason).orElse("Accepted");
    }

    static final List<Pod> PODS = List.of(pod("v", "o1", "n1", "10.0.0.1", Map.of("role", "origin")),
            pod("v", "e1", "n2", "10.0.0.2", Map.of("role", "edge")));

    @Test
    void oneOriginAndReplicasWithoutIt() {
        assertThat(reason(state("origin", "edge"), PODS)).isEqualTo("Accepted");
        assertThat(reason(state("origin", "edge"), List.of())).as("no pods yet is no error").isEqualTo("Accepted");
    }

    @Test
    void onlyLivePodsMakeAnOriginAmbiguous() {
        var second = pod("v", "o2", "n2", "10.0.0.3", Map.of("role", "origin"));
        var pods = List.of(PODS.get(0), PODS.get(1), second);
        assertThat(reason(state("origin", "edge"), pods)).isEqualTo("OriginAmbiguous");
        var finished = new PodBuilder(second).editStatus().withPhase("Succeeded").endStatus().build();
        assertThat(reason(state("origin", "edge"), List.of(PODS.get(0), finished))).isEqualTo("Accepted");
    }

    @Test
    void selectorsBeforeMaxLagBeforeTheOrigin() {
        var s = state("origin", "in valid");
        s.setMaxLag("0s");
        var withReplicaOrigin = List.of(pod("v", "o1", "n1", "10.0.0.1", Map.of("role", "origin")));
        assertThat(reason(s, withReplicaOrigin)).isEqualTo("SelectorNeverMatches");
        s.getReplicas().setPodSelector(sel("role", "origin"));
        assertThat(reason(s, withReplicaOrigin)).isEqualTo("InvalidMaxLag");
        s.setMaxLag("1s");
        assertThat(reason(s, withReplicaOrigin)).isEqualTo("ReplicaSelectsOrigin");
    }
}
