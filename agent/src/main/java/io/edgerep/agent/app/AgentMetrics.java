// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.app;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;

import org.jboss.logging.Logger;

import io.edgerep.agent.metrics.NodeMeters;
import io.edgerep.agent.metrics.NodeSample;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * The agent's Prometheus series (scraped at /q/metrics): per consumer, replica and origin link from a sample taken
 * every second (a scrape never waits on the loader, and answers with the loader's health at 0 while it is away), and
 * node-wide gauges over the agent's own state.
 */
@ApplicationScoped
public class AgentMetrics {
    private static final Logger LOG = Logger.getLogger(AgentMetrics.class);
    /** How often the per-consumer and per-replica series are refreshed. */
    static final long SAMPLE_MS = 1000;

    private ScheduledExecutorService sampler;

    void register(@Observes @Priority(Interceptor.Priority.APPLICATION + 10) StartupEvent ev, Agent agent,
            AgentConfig cfg, MeterRegistry registry) {
        gauge(registry, "edgerep.agent.state.buffered.bytes", "Ops the origins on this node hold for their replicas",
                agent, a -> a.state().bufferedBytes());
        gauge(registry, "edgerep.agent.state.events", "Capture events received from the loader", agent,
                a -> a.pump().events());
        gauge(registry, "edgerep.agent.state.replicas", "Replicas this node's agent writes", agent,
                a -> a.replicationService().replicas().size());
        gauge(registry, "edgerep.agent.state.refused.peers", "Pushes refused from peers not allowed for the key",
                agent, a -> a.replicationService().refusedPeers());
        FunctionCounter.builder("edgerep.agent.consumer.route.changes", agent, Agent::routeChanges)
                .description("Consumers whose way out of the node changed and whose stream was programmed again")
                .register(registry);
        NodeMeters meters = new NodeMeters(registry, cfg.nodeName());
        sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "agent-metrics");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleWithFixedDelay(() -> {
            try {
                if (agent.counters() != null) { // started after this observer
                    meters.apply(sample(agent));
                }
            } catch (RuntimeException e) {
                LOG.warnf("metrics sample: %s", e.toString());
            }
        }, 0, SAMPLE_MS, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent ev) {
        if (sampler != null) {
            sampler.shutdownNow();
        }
    }

    static NodeSample sample(Agent a) {
        var counters = a.counters().collect();
        var read = a.counters().lastRead();
        var link = a.link();
        return new NodeSample(link != null && link.connected(), read.ok(), link == null ? 0 : link.appliedVersion(),
                read.consumers(), counters.getReplicasList(), counters.getOriginsList(), a.state().linkSamples());
    }

    private static void gauge(MeterRegistry r, String name, String help, Agent a, ToDoubleFunction<Agent> f) {
        Gauge.builder(name, a, f).description(help).register(r);
    }
}
