// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.DifferentialFirst;
import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.None;
import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.Uniform;
import static io.edgerep.operator.Fixtures.bitrate;
import static io.edgerep.operator.Fixtures.consumer;
import static io.edgerep.operator.Fixtures.rate;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.operator.Fixtures;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.StreamConfig;

class EffectiveQualityTest {

    static ConsumerSpec budget(String name, String rate, io.edgerep.api.v1alpha1.QocSpec.DropPolicy p) {
        return consumer(name, name, 6000, bitrate(rate, p));
    }

    @Test
    void anUnbudgetedConsumerMakesItFull() {
        var q = EffectiveQuality.of(List.of(budget("a", "2M", DifferentialFirst), consumer("b", "b", 6000, null)));
        assertThat(q.full()).isTrue();
        assertThat(q.maxBitrate()).isNull();
        assertThat(q.policy()).isNull();
        assertThat(q.consumers()).containsExactly("a", "b");
    }

    @Test
    void policyNoneAndADetectionRateAloneAreUnbudgeted() {
        assertThat(EffectiveQuality.of(List.of(budget("a", "2M", Uniform), budget("n", "1M", None))).full())
                .as("None never drops, whatever its maxBitrate").isTrue();
        assertThat(EffectiveQuality
                .of(List.of(budget("a", "2M", Uniform), consumer("d", "d", 6000, rate(0.9, Uniform)))).full())
                .as("a loss tolerated at the edge must not be taken at the source too").isTrue();
        assertThat(EffectiveQuality
                .of(List.of(consumer("d", "d", 6000, rate(0.5, DifferentialFirst)))).full()).isTrue();
    }

    @Test
    void theLargestBudgetAndTheStrictestPolicy() {
        var q = EffectiveQuality.of(List.of(budget("a", "1.5M", Uniform), budget("b", "800k", DifferentialFirst),
                budget("c", "3M", Uniform)));
        assertThat(q.full()).isFalse();
        assertThat(q.maxBitrate()).isEqualTo(3_000_000L);
        assertThat(q.policy()).as("one DifferentialFirst consumer makes the sensor keep reference packets")
                .isEqualTo(DifferentialFirst);
        var uniform = EffectiveQuality.of(List.of(budget("a", "1M", Uniform), budget("c", "2M", Uniform)));
        assertThat(uniform.policy()).isEqualTo(Uniform);
        assertThat(uniform.maxBitrate()).isEqualTo(2_000_000L);
    }

    @Test
    void noConsumersIsFull() {
        assertThat(EffectiveQuality.of(List.of()).full()).isTrue();
    }

    static ResourcePlan plan(Set<String> ingress, Map<String, NodeItems> nodes) {
        return new ResourcePlan("v/x", 1, nodes, ingress, Map.of(), null, null, Map.of(), null, List.of());
    }

    static NodeItems serving(String... consumerKeys) {
        var sc = StreamConfig.newBuilder().setKey("v/x");
        for (String k : consumerKeys) {
            sc.addConsumers(ConsumerConfig.newBuilder().setKey(k));
        }
        var items = new NodeItems();
        items.streams().add(sc.build());
        return items;
    }

    @Test
    void aPinnedIngressCountsEveryConsumerOfTheSpecPodsOrNot() {
        var er = Fixtures.stream("v", "x", 5004, "n1", budget("a", "1M", DifferentialFirst),
                consumer("starting", "s", 6000, null));
        var per = EffectiveQuality.perIngress(er.getSpec().getStream(),
                plan(Set.of("n1"), Map.of("n1", serving("a/a-0"))));
        assertThat(per).containsOnlyKeys("n1");
        assertThat(per.get("n1").full()).as("the unbudgeted consumer has no pod yet, it still counts").isTrue();
    }

    @Test
    void anUnpinnedIngressCountsItsLocalConsumers() {
        var er = Fixtures.stream("v", "x", 5004, null, budget("a", "1M", DifferentialFirst),
                budget("b", "4M", Uniform), consumer("full", "f", 6000, null));
        var per = EffectiveQuality.perIngress(er.getSpec().getStream(), plan(Set.of("n1", "n2"),
                Map.of("n1", serving("a/a-0", "b/b-0"), "n2", serving("full/f-0", "a/a-1"))));
        assertThat(per.get("n1")).isEqualTo(new EffectiveQuality(false, 4_000_000L, DifferentialFirst,
                List.of("a", "b")));
        assertThat(per.get("n2").full()).isTrue();
        assertThat(per.get("n2").consumers()).containsExactly("a", "full");
    }
}
