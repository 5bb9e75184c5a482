// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.operator.Fixtures.consumer;
import static io.edgerep.operator.status.StatusFixtures.withCounters;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.proto.v1.ConsumerCounters;

class StreamConsumersTest {

    static final StreamSpec STREAM = Fixtures.stream("v", "x", 5004, null, consumer("det", "det", 6000, null),
            consumer("cnt", "cnt", 6001, null)).getSpec().getStream();

    static ResourcePlan plan(Map<String, List<String>> consumers) {
        return new ResourcePlan("v/x", 1, Map.of(), Set.of(), consumers, null, null, Map.of(), 0.9, List.of());
    }

    static ConsumerCounters counters(String consumerKey, long delivered, long diff, long disp, long ref, long bps) {
        return ConsumerCounters.newBuilder().setStreamKey("v/x").setConsumerKey(consumerKey)
                .setDeliveredPackets(delivered).setDroppedDifferential(diff).setDroppedDisposable(disp)
                .setDroppedReference(ref).setBitrateBps(bps).build();
    }

    @Test
    void countersAddUpPerConsumerOverPodsAndNodes() {
        var consumers = new java.util.LinkedHashMap<String, List<String>>();
        consumers.put("det", List.of("d1", "d2"));
        consumers.put("cnt", List.of());
        var st = StreamConsumers.of(STREAM, plan(consumers), Map.of(
                "n1", withCounters("n1", counters("det/d1", 10, 2, 1, 1, 1000)),
                "n2", withCounters("n2", counters("det/d2", 5, 0, 0, 0, 500), counters("other", 7, 0, 0, 0, 0))),
                StatusFixtures.NOTHING_TO_REPORT);
        assertThat(st.getEffectiveQuality()).isEqualTo(0.9);
        assertThat(st.getDatapath()).isEqualTo("TC");
        assertThat(st.getConsumers()).extracting(c -> c.getName() + " " + c.getPods() + " " + c.getDeliveredPackets()
                + " " + c.getDroppedDifferential() + " " + c.getDroppedReference() + " " + c.getBitrate())
                .containsExactly("det [d1, d2] 15 3 1 1500", "cnt [] 0 0 0 0");
    }

    @Test
    void theDatapathIsTcWhereXdpFellBack() {
        var xdp = Fixtures.stream("v", "x", 5004, null, consumer("det", "det", 6000, null)).getSpec().getStream();
        xdp.setDatapath(StreamSpec.Datapath.XDP);
        var fine = StreamConsumers.of(xdp, plan(Map.of()), Map.of(), StatusFixtures.NOTHING_TO_REPORT);
        assertThat(fine.getDatapath()).isEqualTo("XDP");
        var fellBack = new NodeReports(List.of(), List.of(), List.of(), List.of("n1: v/x XdpFellBackToTc m"),
                "XdpFellBackToTc");
        assertThat(StreamConsumers.of(xdp, plan(Map.of()), Map.of(), fellBack).getDatapath()).isEqualTo("TC");
    }
}
