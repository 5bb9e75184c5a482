// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.DifferentialFirst;
import static io.edgerep.operator.Fixtures.bitrate;
import static io.edgerep.operator.Fixtures.consumer;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.SensorFeedback;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.plan.ResourcePlan;

class SensorFeedbacksTest {

    static final Instant NOW = Instant.parse("2026-01-01T00:00:10Z");

    static EdgeReplica er(Map<String, String> annotations) {
        var er = Fixtures.stream("v", "x", 5004, "n1", consumer("a", "a", 6000, bitrate("2M", DifferentialFirst)));
        er.getMetadata().setAnnotations(annotations);
        return er;
    }

    static SensorFeedback only(EdgeReplica er, Set<String> ingress) {
        var plan = new ResourcePlan("v/x", 1, Map.of(), ingress, Map.of(), null, null, Map.of(), null, List.of());
        List<SensorFeedback> all = SensorFeedbacks.of(er, er.getSpec().getStream(), plan, NOW);
        assertThat(all).hasSize(1);
        return all.get(0);
    }

    static String report(long sent, long saved, String time) {
        return "{\"sentBps\": " + sent + ", \"savedBps\": " + saved + ", \"time\": \"" + time + "\"}";
    }

    @Test
    void anEntryPerIngressWithItsEffectiveQuality() {
        var f = only(er(null), Set.of("n1"));
        assertThat(f.getNode()).isEqualTo("n1");
        assertThat(f.getPort()).isEqualTo(5004);
        assertThat(f.getFull()).isFalse();
        assertThat(f.getMaxBitrate()).isEqualTo(2_000_000L);
        assertThat(f.getPolicy()).isEqualTo(DifferentialFirst);
        assertThat(f.getAccessLinkSavedBitrate()).isNull();
    }

    @Test
    void aFreshReportIsShown() {
        var f = only(er(Map.of("sensor.edgerep.io/n1", report(2_000_000, 6_000_000, "2026-01-01T00:00:09Z"))),
                Set.of("n1"));
        assertThat(f.getAccessLinkBitrate()).isEqualTo(2_000_000L);
        assertThat(f.getAccessLinkSavedBitrate()).isEqualTo(6_000_000L);
        assertThat(f.getSensorReportTime()).isEqualTo("2026-01-01T00:00:09Z");
    }

    @Test
    void aStaleReportShowsItsTimeButNoFigures() {
        var f = only(er(Map.of("sensor.edgerep.io/n1", report(1, 2, "2025-12-31T23:59:59Z"))), Set.of("n1"));
        assertThat(f.getSensorReportTime()).isEqualTo("2025-12-31T23:59:59Z");
        assertThat(f.getAccessLinkBitrate()).isNull();
        assertThat(f.getAccessLinkSavedBitrate()).isNull();
        var ahead = only(er(Map.of("sensor.edgerep.io/n1", report(1, 2, "2026-01-01T00:00:30Z"))), Set.of("n1"));
        assertThat(ahead.getAccessLinkSavedBitrate()).as("a report from the future is not fresh").isNull();
    }

    @Test
    void malformedReportsAndReportsOfOtherNodesShowNothing() {
        for (String bad : List.of("not json", "{}", report(-1, 5, "2026-01-01T00:00:09Z"),
                "{\"sentBps\": \"x\", \"savedBps\": 1, \"time\": \"2026-01-01T00:00:09Z\"}",
                "{\"sentBps\": 1, \"savedBps\": 1, \"time\": \"yesterday\"}")) {
            var f = only(er(Map.of("sensor.edgerep.io/n1", bad)), Set.of("n1"));
            assertThat(f.getAccessLinkSavedBitrate()).as(bad).isNull();
            assertThat(f.getSensorReportTime()).as(bad).isNull();
            assertThat(f.getFull()).as("the feedback does not depend on the report").isFalse();
        }
        var f = only(er(Map.of("sensor.edgerep.io/gone", report(1, 2, "2026-01-01T00:00:09Z"))), Set.of("n1"));
        assertThat(f.getAccessLinkSavedBitrate()).isNull();
    }
}
