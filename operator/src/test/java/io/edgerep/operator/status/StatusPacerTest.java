// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.operator.status.StatusPacer.Action;
import io.fabric8.kubernetes.api.model.ConditionBuilder;

/** The pacer's rules on a clock the test moves. */
class StatusPacerTest {

    /** A clock that stands still until moved. */
    static final class TestClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(long millis) {
            now = now.plusMillis(millis);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    final TestClock clock = new TestClock();
    final StatusPacer pacer = new StatusPacer(clock);

    static EdgeReplicaStatus status(long generation, String programmedReason, int consumers) {
        var s = new EdgeReplicaStatus();
        s.setObservedGeneration(generation);
        s.setConsumerCount(consumers);
        s.setConditions(List.of(new ConditionBuilder().withType("Programmed")
                .withStatus("Programmed".equals(programmedReason) ? "True" : "False").withReason(programmedReason)
                .withObservedGeneration(generation).build()));
        return s;
    }

    @Test
    void anUnchangedStatusIsNeverWritten() {
        var shown = status(1, "Programmed", 1);
        assertThat(pacer.pace("v/x", 1L, shown, status(1, "Programmed", 1)).action()).isEqualTo(Action.UNCHANGED);
        clock.advance(60_000);
        assertThat(pacer.pace("v/x", 1L, shown, status(1, "Programmed", 1)).action()).isEqualTo(Action.UNCHANGED);
    }

    @Test
    void aChangedStatusIsWrittenAtMostOncePerSecondPerResource() {
        var shown = status(1, "Programmed", 1);
        assertThat(pacer.pace("v/x", 1L, shown, status(1, "Programmed", 2)).action()).isEqualTo(Action.WRITE);
        clock.advance(300);
        var second = pacer.pace("v/x", 1L, status(1, "Programmed", 2), status(1, "Programmed", 3));
        assertThat(second.action()).isEqualTo(Action.WAIT);
        assertThat(second.waitMillis()).as("until a second after the last write").isEqualTo(701);
        assertThat(pacer.pace("v/y", 1L, shown, status(1, "Programmed", 2)).action())
                .as("another resource has its own budget").isEqualTo(Action.WRITE);
        clock.advance(700);
        assertThat(pacer.pace("v/x", 1L, status(1, "Programmed", 2), status(1, "Programmed", 3)).action())
                .isEqualTo(Action.WRITE);
    }

    @Test
    void aNewGenerationBeingAppliedIsHeldBackForTheGraceThenWritten() {
        var shown = status(1, "Programmed", 1);
        var first = pacer.pace("v/x", 2L, shown, status(2, "Applying", 1));
        assertThat(first.action()).isEqualTo(Action.WAIT);
        assertThat(first.waitMillis()).isEqualTo(StatusPacer.APPLY_GRACE.toMillis() + 1);
        clock.advance(500);
        assertThat(pacer.pace("v/x", 2L, shown, status(2, "Applying", 1)).waitMillis())
                .as("the grace counts from when the generation was first seen").isEqualTo(301);
        assertThat(pacer.pace("v/x", 2L, shown, status(2, "Programmed", 1)).action())
                .as("the node applied it within the grace: written at once").isEqualTo(Action.WRITE);
    }

    @Test
    void theGraceEndsAndOnlyNewGenerationsGetIt() {
        var shown = status(1, "Programmed", 1);
        pacer.pace("v/x", 2L, shown, status(2, "Applying", 1));
        clock.advance(StatusPacer.APPLY_GRACE.toMillis());
        assertThat(pacer.pace("v/x", 2L, shown, status(2, "Applying", 1)).action()).isEqualTo(Action.WRITE);
        clock.advance(Duration.ofSeconds(5).toMillis());
        var sameGeneration = status(2, "Applying", 1);
        assertThat(pacer.pace("v/x", 2L, sameGeneration, status(2, "Applying", 2)).action())
                .as("the generation is already shown").isEqualTo(Action.WRITE);
        assertThat(pacer.pace("v/new", 1L, null, status(1, "Applying", 1)).action())
                .as("a resource without status is a new generation").isEqualTo(Action.WAIT);
    }

    @Test
    void aForgottenResourceStartsAfresh() {
        var shown = status(1, "Programmed", 1);
        assertThat(pacer.pace("v/x", 1L, shown, status(1, "Programmed", 2)).action()).isEqualTo(Action.WRITE);
        pacer.forget("v/x");
        assertThat(pacer.pace("v/x", 1L, shown, status(1, "Programmed", 2)).action()).isEqualTo(Action.WRITE);
    }

    static EdgeReplicaStatus withFeedback(EdgeReplicaStatus s, boolean full) {
        var st = new io.edgerep.api.v1alpha1.StreamStatus();
        var f = new io.edgerep.api.v1alpha1.SensorFeedback();
        f.setNode("n1");
        f.setFull(full);
        f.setMaxBitrate(full ? null : 1_000_000L);
        st.getSensorFeedback().add(f);
        s.setStream(st);
        return s;
    }

    @Test
    void aChangedSensorFeedbackIsWrittenAtOnce() {
        var shown = withFeedback(status(1, "Programmed", 1), true);
        assertThat(pacer.pace("v/x", 1L, shown, withFeedback(status(1, "Programmed", 2), true)).action())
                .isEqualTo(Action.WRITE);
        clock.advance(100);
        assertThat(pacer.pace("v/x", 2L, shown, withFeedback(status(2, "Applying", 2), false)).action())
                .as("neither the write interval nor the apply grace holds a sensor back").isEqualTo(Action.WRITE);
        clock.advance(100);
        var counters = withFeedback(status(2, "Programmed", 3), false);
        assertThat(pacer.pace("v/x", 2L, withFeedback(status(2, "Programmed", 2), false), counters).action())
                .as("the same feedback with other counters waits its turn").isEqualTo(Action.WAIT);
        assertThat(pacer.pace("v/new", 1L, null, withFeedback(status(1, "Applying", 1), false)).action())
                .as("a new resource keeps its grace: its sensor has no feedback to follow yet")
                .isEqualTo(Action.WAIT);
    }
}
