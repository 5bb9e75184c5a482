// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.app;

import java.util.function.ToDoubleFunction;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/** Prometheus gauges over the agent's state (scraped at /q/metrics). */
@ApplicationScoped
public class AgentMetrics {
    void register(@Observes @Priority(Interceptor.Priority.APPLICATION + 10) StartupEvent ev, Agent agent,
            MeterRegistry registry) {
        gauge(registry, "edgerep.agent.operator.connected", agent,
                a -> a.link() != null && a.link().connected() ? 1 : 0);
        gauge(registry, "edgerep.agent.config.applied.version", agent,
                a -> a.link() == null ? 0 : a.link().appliedVersion());
        gauge(registry, "edgerep.agent.state.resynced.bytes", agent, a -> a.state().resyncedBytes());
        gauge(registry, "edgerep.agent.state.buffered.bytes", agent, a -> a.state().bufferedBytes());
        gauge(registry, "edgerep.agent.state.events", agent, a -> a.pump().events());
        gauge(registry, "edgerep.agent.state.replicas", agent, a -> a.replicationService().replicas().size());
        gauge(registry, "edgerep.agent.state.refused.ops", agent,
                a -> a.replicationService().replicas().values().stream()
                        .mapToLong(r -> r.applier().refusedOps()).sum());
        gauge(registry, "edgerep.agent.state.refused.peers", agent, a -> a.replicationService().refusedPeers());
        gauge(registry, "edgerep.agent.state.lag.ms.max", agent,
                a -> a.replicationService().replicas().values().stream()
                        .mapToLong(r -> r.applier().lagMs()).max().orElse(0));
        gauge(registry, "edgerep.agent.state.applied.ops", agent,
                a -> a.replicationService().replicas().values().stream()
                        .mapToLong(r -> r.applier().appliedOps()).sum());
    }

    private static void gauge(MeterRegistry r, String name, Agent a, ToDoubleFunction<Agent> f) {
        Gauge.builder(name, a, f).register(r);
    }
}
