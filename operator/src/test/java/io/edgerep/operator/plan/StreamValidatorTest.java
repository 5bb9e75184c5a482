// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.DifferentialFirst;
import static io.edgerep.operator.Fixtures.consumer;
import static io.edgerep.operator.Fixtures.pod;
import static io.edgerep.operator.Fixtures.rate;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.qoc.QocProfile;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;

/** The stream half alone: its checks in their order, and the profile it resolves. */
class StreamValidatorTest {

    static StreamSpec stream(int consumerPort) {
        return Fixtures.stream("v", "cam", 5004, "n1", consumer("det", "det", consumerPort,
                rate(0.9, DifferentialFirst))).getSpec().getStream();
    }

    static Validation validate(StreamSpec s, List<Pod> pods) {
        return StreamValidator.validate("v", s, pods, (ns, n) -> Optional.empty());
    }

    static Pod hostNetwork(Pod p) {
        return new PodBuilder(p).editSpec().withHostNetwork(true).endSpec().build();
    }

    @Test
    void anAcceptableStreamResolvesItsProfile() {
        Validation v = validate(stream(6000), List.of());
        assertThat(v.accepted()).isTrue();
        assertThat(v.profile()).isSameAs(QocProfile.DEFAULT);
    }

    @Test
    void aHostNetworkConsumerOnTheIngressNodeAndPortWouldLoop() {
        var p = hostNetwork(pod("v", "d1", "n1", "10.0.0.1", Map.of("app", "det")));
        assertThat(validate(stream(5004), List.of(p)).verdict().reason()).isEqualTo("ConsumerPortClash");
        assertThat(validate(stream(6000), List.of(p)).accepted()).as("another port").isTrue();
        var elsewhere = hostNetwork(pod("v", "d2", "n2", "10.0.0.2", Map.of("app", "det")));
        assertThat(validate(stream(5004), List.of(elsewhere)).accepted()).as("another node").isTrue();
    }

    @Test
    void selectorsAreJudgedBeforeTheProfileAndTheProfileBeforeBitrates() {
        var s = stream(6000);
        s.setQocProfile("nope");
        s.getConsumers().get(0).getQoc().setMaxBitrate("0");
        assertThat(validate(s, List.of()).verdict().reason()).isEqualTo("UnknownQocProfile");
        s.getConsumers().get(0).setPodSelector(new LabelSelectorBuilder()
                .addToMatchExpressions(new LabelSelectorRequirement("app", "Like", List.of("d*"))).build());
        assertThat(validate(s, List.of()).verdict().reason()).isEqualTo("InvalidSelector");
        assertThat(validate(s, List.of()).profile()).isNull();
    }
}
