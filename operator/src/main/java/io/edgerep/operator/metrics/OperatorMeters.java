// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.metrics;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The operator's own Prometheus series: reconcile latency and how many run at once, config pushes to agents and how
 * long an agent takes to apply one, connected agents. Named after Prometheus' conventions (docs/OPERATING.md lists
 * them); the operator SDK's own {@code operator_sdk_*} series (its queue size among them) sit beside these.
 */
public final class OperatorMeters {
    private final MeterRegistry registry;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Timer reconcileOk;
    private final Timer reconcileFailed;
    private final Timer applied;

    public OperatorMeters(MeterRegistry registry) {
        this.registry = registry;
        reconcileOk = reconcileTimer("ok");
        reconcileFailed = reconcileTimer("error");
        applied = Timer.builder("edgerep.operator.config.apply")
                .description("From a NodeConfig sent to an agent until the agent reported it applied")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
        Gauge.builder("edgerep.operator.reconciles.in.flight", inFlight, AtomicInteger::get)
                .description("EdgeReplica reconciles running now").register(registry);
    }

    /** Meters kept apart from any scrape (tests, tools). */
    public static OperatorMeters none() {
        return new OperatorMeters(new SimpleMeterRegistry());
    }

    private Timer reconcileTimer(String result) {
        return Timer.builder("edgerep.operator.reconcile").description("Time one EdgeReplica reconcile took")
                .tag("result", result).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30)).register(registry);
    }

    /** Runs one reconcile, timed under its outcome (an exception counts as an error and is rethrown). */
    public <T> T reconcile(Supplier<T> body) {
        long start = System.nanoTime();
        inFlight.incrementAndGet();
        boolean ok = false;
        try {
            T t = body.get();
            ok = true;
            return t;
        } finally {
            inFlight.decrementAndGet();
            (ok ? reconcileOk : reconcileFailed).record(Duration.ofNanos(System.nanoTime() - start));
        }
    }

    /** A NodeConfig was handed to a node's stream ({@code ok}) or the stream refused it. */
    public void pushed(String node, boolean ok) {
        Counter.builder("edgerep.operator.config.pushes").description("NodeConfigs sent to agents")
                .tags("node", node, "result", ok ? "sent" : "failed").register(registry).increment();
    }

    /** An agent reported a config applied, {@code nanos} after it was sent. */
    public void applied(long nanos) {
        applied.record(Duration.ofNanos(nanos));
    }

    /** Exports a gauge over an object the operator keeps (e.g. the agent registry's connected agents). */
    public <T> void gauge(String name, String help, T obj, ToDoubleFunction<T> f) {
        Gauge.builder(name, obj, f).description(help).register(registry);
    }
}
