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

/** The state half alone: only origin and replica items, and what they wait for. */
class StatePlannerTest {

    static final StateSpec STATE = Fixtures.state("v", "web", sel("role", "origin"), sel("role", "edge"), "/data")
            .getSpec().getState();

    @Test
    void theOriginShipsToEveryReplicaAtItsNodesEndpoint() {
        var pods = List.of(pod("v", "o", "n1", "10.1.0.1", Map.of("role", "origin")),
                pod("v", "e1", "n2", "10.2.0.1", Map.of("role", "edge")),
                pod("v", "e2", "n3", "10.3.0.1", Map.of("role", "edge")));
        var r = StatePlanner.plan("v/web", 2, STATE, pods, new NodeFacts(Map.of("n2", "10.0.0.2:7443")));
        assertThat(r.originPod()).isEqualTo("o");
        assertThat(r.originNode()).isEqualTo("n1");
        assertThat(r.replicaPods()).containsExactly(Map.entry("e1", "n2"), Map.entry("e2", "n3"));
        assertThat(r.nodes().get("n1").origins()).singleElement().satisfies(o -> {
            assertThat(o.getGeneration()).isEqualTo(2);
            assertThat(o.getReplicasList()).extracting(t -> t.getPod().getName() + "@" + t.getAgentEndpoint())
                    .containsExactly("e1@10.0.0.2:7443", "e2@");
        });
        assertThat(r.nodes().get("n3").replicas()).singleElement()
                .satisfies(x -> assertThat(x.getOriginNode()).isEqualTo("n1"));
        assertThat(r.nodes().values()).allSatisfy(i -> assertThat(i.streams()).isEmpty());
        assertThat(r.waiting()).extracting(ResourcePlan.Problem::reason).containsExactly("ReplicaNodeUnknown");
    }

    @Test
    void withoutExactlyOneOriginNothingIsPlannedButTheReplicasAreKnown() {
        var pods = List.of(pod("v", "e1", "n2", "10.2.0.1", Map.of("role", "edge")));
        var r = StatePlanner.plan("v/web", 1, STATE, pods, NodeFacts.NONE);
        assertThat(r.nodes()).isEmpty();
        assertThat(r.originPod()).isNull();
        assertThat(r.replicaPods()).containsOnlyKeys("e1");
        assertThat(r.waiting()).extracting(ResourcePlan.Problem::message)
                .containsExactly("the origin selector matches no ready pod");
    }

    @Test
    void anOriginWithoutReplicasWaitsForThem() {
        var pods = List.of(pod("v", "o", "n1", "10.1.0.1", Map.of("role", "origin")));
        var r = StatePlanner.plan("v/web", 1, STATE, pods, NodeFacts.NONE);
        assertThat(r.nodes()).containsOnlyKeys("n1");
        assertThat(r.waiting()).extracting(ResourcePlan.Problem::reason).containsExactly("NoReplicaPods");
    }
}
