// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.DifferentialFirst;
import static io.edgerep.operator.Fixtures.consumer;
import static io.edgerep.operator.Fixtures.pod;
import static io.edgerep.operator.Fixtures.rate;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.qoc.QocProfile;

/** The stream half alone: only stream items, the ingress nodes, consumers and what they wait for. */
class StreamPlannerTest {

    static StreamSpec stream(String node) {
        return Fixtures.stream("v", "cam", 5004, node, consumer("det", "det", 6000, rate(0.95, DifferentialFirst)),
                consumer("cnt", "cnt", 6001, null)).getSpec().getStream();
    }

    @Test
    void anUnpinnedStreamEntersEachConsumerNodeAndCopiesLocally() {
        var pods = List.of(pod("v", "d1", "n1", "10.1.0.1", Map.of("app", "det")),
                pod("v", "d2", "n2", "10.2.0.1", Map.of("app", "det")));
        var r = StreamPlanner.plan("v/cam", 3, stream(null), pods, QocProfile.DEFAULT);
        assertThat(r.ingressNodes()).containsExactly("n1", "n2");
        assertThat(r.nodes()).containsOnlyKeys("n1", "n2");
        assertThat(r.nodes().get("n1").streams()).singleElement().satisfies(s -> {
            assertThat(s.getGeneration()).isEqualTo(3);
            assertThat(s.getIpProtocol()).as("UDP, from spec.ingress.protocol").isEqualTo(17);
            assertThat(s.getConsumersList()).extracting(c -> c.getKey()).containsExactly("det/d1");
        });
        assertThat(r.nodes().values()).allSatisfy(i -> {
            assertThat(i.origins()).isEmpty();
            assertThat(i.replicas()).isEmpty();
        });
        assertThat(r.consumers()).containsExactly(Map.entry("det", List.of("d1", "d2")), Map.entry("cnt", List.of()));
        assertThat(r.waiting()).extracting(ResourcePlan.Problem::message)
                .containsExactly("consumer cnt selects no ready pod");
        assertThat(r.effectiveQuality()).as("cnt has no QoC need: everything").isEqualTo(1.0);
    }

    @Test
    void aPinnedStreamCopiesFromItsNodeToEveryConsumerPod() {
        var pods = List.of(pod("v", "d2", "n2", "10.2.0.1", Map.of("app", "det")));
        var r = StreamPlanner.plan("v/cam", 1, stream("n1"), pods, QocProfile.DEFAULT);
        assertThat(r.nodes()).containsOnlyKeys("n1");
        var c = r.nodes().get("n1").streams().get(0).getConsumers(0);
        assertThat(c.getViaNodeIp()).isEqualTo(Fixtures.hostIp("n2"));
        assertThat(c.getPolicy().getKind()).isEqualTo(io.edgerep.proto.v1.PolicyKind.POLICY_KIND_DIFFERENTIAL_FIRST);
    }

    @Test
    void lossBudgetsRoundDown() {
        assertThat(StreamPlanner.lossPpm(1.04545)).isEqualTo(10454);
        assertThat(StreamPlanner.lossPpm(1.0)).isEqualTo(10000);
    }
}
