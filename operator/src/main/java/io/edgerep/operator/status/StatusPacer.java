// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * Decides when a resource's status is written: only when it changed, and at most once per
 * {@link #INTERVAL} per resource. A new generation whose only open point is nodes still applying
 * it is held back for up to {@link #APPLY_GRACE}: agents usually acknowledge within milliseconds,
 * and the one write then says Ready instead of spending the write budget on "Applying". A change of
 * the sensor feedback a sensor already follows is written at once: sensors follow it within a second.
 */
public final class StatusPacer {

    /** Least spacing of status writes per resource. */
    public static final Duration INTERVAL = Duration.ofSeconds(1);
    /** How long a new generation that is only being applied waits before "Applying" is written. */
    public static final Duration APPLY_GRACE = Duration.ofMillis(800);

    /** What to do with a computed status. */
    public enum Action {
        /** the status says what the resource already shows: nothing to write */
        UNCHANGED,
        /** write it later: run again after {@link Pace#waitMillis()} */
        WAIT,
        /** write it now (counted as written) */
        WRITE
    }

    /**
     * The decision about one status.
     *
     * @param action what to do
     * @param waitMillis with {@link Action#WAIT}, when to look again; else 0
     */
    public record Pace(Action action, long waitMillis) {
        static final Pace UNCHANGED = new Pace(Action.UNCHANGED, 0);
        static final Pace WRITE = new Pace(Action.WRITE, 0);

        static Pace waitUntil(Instant now, Instant then) {
            return new Pace(Action.WAIT, Duration.between(now, then).toMillis() + 1);
        }
    }

    private final Clock clock;
    private final Map<String, Instant> lastWrite = new ConcurrentHashMap<>();
    private final Map<String, Map.Entry<Long, Instant>> generationSeen = new ConcurrentHashMap<>();

    public StatusPacer(Clock clock) {
        this.clock = clock;
    }

    /**
     * @param key the resource ("namespace/name")
     * @param generation the resource's metadata.generation
     * @param current the status the resource shows, or null
     * @param next the status just computed
     */
    public Pace pace(String key, Long generation, EdgeReplicaStatus current, EdgeReplicaStatus next) {
        if (same(current, next)) {
            return Pace.UNCHANGED;
        }
        Instant now = clock.instant();
        // a sensor without feedback yet sends everything: only a change of feedback it follows is urgent
        if (current != null && current.getStream() != null
                && !SensorFeedbacks.qualityOf(current).equals(SensorFeedbacks.qualityOf(next))) {
            lastWrite.put(key, now);
            return Pace.WRITE;
        }
        Instant seen = generationSeen.compute(key, (k, v) -> v != null && Objects.equals(v.getKey(), generation)
                ? v
                : Map.entry(generation == null ? 0L : generation, now)).getValue();
        boolean newGeneration = current == null || !Objects.equals(current.getObservedGeneration(), generation);
        boolean applying = Conditions.find(next.getConditions(), EdgeReplicaStatus.PROGRAMMED)
                .map(c -> "Applying".equals(c.getReason())).orElse(false);
        if (newGeneration && applying && seen.plus(APPLY_GRACE).isAfter(now)) {
            return Pace.waitUntil(now, seen.plus(APPLY_GRACE));
        }
        Instant last = lastWrite.get(key);
        if (last != null && last.plus(INTERVAL).isAfter(now)) {
            return Pace.waitUntil(now, last.plus(INTERVAL));
        }
        lastWrite.put(key, now);
        return Pace.WRITE;
    }

    /** Forgets a resource (it is being deleted). */
    public void forget(String key) {
        lastWrite.remove(key);
        generationSeen.remove(key);
    }

    private static boolean same(EdgeReplicaStatus a, EdgeReplicaStatus b) {
        return a != null && Serialization.asJson(a).equals(Serialization.asJson(b));
    }
}
