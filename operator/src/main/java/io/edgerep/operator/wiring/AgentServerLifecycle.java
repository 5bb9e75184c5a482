package io.edgerep.operator.wiring;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.reconciler.EdgeReplicaReconciler;
import io.edgerep.operator.registry.AgentControlService;
import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.operator.registry.AgentServer;
import io.edgerep.operator.security.BootstrapVerifier;
import io.edgerep.operator.security.CaStore;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * Starts the agent server after the operator (whose informers are then synced): loads or creates
 * the CA, serves AgentControl, and opens the registry's gate once every resource was planned.
 */
@ApplicationScoped
public class AgentServerLifecycle {

    private static final Logger LOG = Logger.getLogger(AgentServerLifecycle.class);

    @Inject
    KubernetesClient client;
    @Inject
    AgentRegistry registry;
    @Inject
    OperatorSettings settings;
    @Inject
    EdgeReplicaReconciler reconciler;
    @Inject
    MeterRegistry meters;

    private AgentServer server;
    private ScheduledExecutorService gate;

    void start(@Observes @Priority(5000) StartupEvent event) {
        var ca = CaStore.loadOrCreate(client, settings.namespace(), settings.caSecret());
        server = AgentServer.start(settings, ca,
                new AgentControlService(registry, ca, new BootstrapVerifier(client, settings), settings));
        meters.gauge("edgerep_connected_agents", registry, AgentRegistry::connectedAgents);
        gate = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "edgerep-gate");
            t.setDaemon(true);
            return t;
        });
        gate.scheduleWithFixedDelay(() -> {
            try {
                reconciler.checkGate();
                if (registry.gateOpen()) {
                    gate.shutdown();
                }
            } catch (RuntimeException e) {
                LOG.debugf("gate check: %s", e.getMessage());
            }
        }, 200, 200, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (gate != null) {
            gate.shutdownNow();
        }
        if (server != null) {
            server.close();
        }
    }

    /** The port agents dial (tests bind to 0). */
    public int port() {
        return server.port();
    }
}
