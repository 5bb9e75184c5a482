// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.metrics;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * Meters whose values are read from snapshots, not counted here: each {@link #begin()}/{@link #end()} round sets the
 * value of every series the snapshot holds, creates the meters of new series and removes those of series the
 * snapshot no longer holds (a consumer or replica that went away leaves no stale series behind).
 *
 * <p>
 * A counter's value is the kernel's or the replication's own monotonic figure, so a restart of what counts shows as a
 * counter reset, which Prometheus' {@code rate()} handles.
 */
public final class Series {
    /** Counter (a {@code _total} series) or gauge. */
    public enum Kind {
        COUNTER, GAUGE
    }

    private record Key(String name, Tags tags) {
    }

    private record Entry(Meter meter, AtomicReference<Double> value) {
    }

    private final MeterRegistry registry;
    private final Map<Key, Entry> live = new HashMap<>();
    private final Set<Key> touched = new HashSet<>();

    public Series(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Starts a snapshot round. */
    public synchronized void begin() {
        touched.clear();
    }

    /**
     * Sets one series; {@code name} is the Micrometer name ({@code edgerep.consumer.delivered.packets}: a counter is
     * exported as {@code edgerep_consumer_delivered_packets_total}), {@code unit} its base unit or null.
     */
    public synchronized void set(Kind kind, String name, String unit, String help, Tags tags, double value) {
        Key k = new Key(name, tags);
        touched.add(k);
        Entry e = live.get(k);
        if (e == null) {
            AtomicReference<Double> v = new AtomicReference<>(value);
            Meter m = kind == Kind.COUNTER
                    ? FunctionCounter.builder(name, v, AtomicReference::get).baseUnit(unit).description(help)
                            .tags(tags).register(registry)
                    : Gauge.builder(name, v, AtomicReference::get).baseUnit(unit).description(help).tags(tags)
                            .register(registry);
            live.put(k, new Entry(m, v));
        } else {
            e.value().set(value);
        }
    }

    /** Ends a round: series not set since {@link #begin()} are removed from the registry. */
    public synchronized void end() {
        var it = live.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (!touched.contains(e.getKey())) {
                registry.remove(e.getValue().meter());
                it.remove();
            }
        }
    }

    /** Series currently exported. */
    public synchronized int size() {
        return live.size();
    }
}
