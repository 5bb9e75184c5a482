// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.reconciler.EdgeReplicaReconciler;
import io.edgerep.operator.reconciler.EventRecorder;
import io.edgerep.operator.registry.AgentControlService;
import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.operator.registry.AgentServer;
import io.edgerep.operator.security.BootstrapVerifier;
import io.edgerep.operator.security.CaStore;
import io.edgerep.operator.security.CertificateAuthority;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;

/**
 * The operator in-process: the same reconciler, registry, CA and agent server the Quarkus
 * application wires, started on a JOSDK Operator against a real API server. Can be stopped and
 * started again (an operator restart).
 */
public final class OperatorHarness implements AutoCloseable {

    public static final String NAMESPACE = "edgerep-system";

    public final AgentRegistry registry = new AgentRegistry();
    /** The resource versions reconciles finished with. */
    public final ReconcileLog reconciles = new ReconcileLog();
    public final CertificateAuthority ca;
    public final OperatorSettings settings;
    private final AgentServer server;
    private final Operator operator;
    private final ScheduledExecutorService gate;

    public OperatorHarness(KubernetesClient client, Duration finalizerTimeout) {
        settings = new OperatorSettings(NAMESPACE, "edgerep-ca", "edgerep-agent", "edgerep-agent",
                "app.kubernetes.io/name=edgerep-agent", Duration.ofMinutes(10), "127.0.0.1", 0,
                List.of("localhost", "127.0.0.1"), finalizerTimeout);
        ca = CaStore.loadOrCreate(client, NAMESPACE, settings.caSecret());
        registry.useEndpointStore(new io.edgerep.operator.registry.EndpointStore(client, NAMESPACE, "edgerep-agents"));
        var reconciler = new EdgeReplicaReconciler(registry, settings, new EventRecorder(client), Clock.systemUTC());
        operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false)
                .withConcurrentReconciliationThreads(4).withCacheSyncTimeout(Duration.ofSeconds(30))
                .withMetrics(reconciles));
        operator.register(reconciler);
        operator.start();
        server = AgentServer.start(settings, ca,
                new AgentControlService(registry, ca, new BootstrapVerifier(client, settings), settings));
        gate = Executors.newSingleThreadScheduledExecutor();
        gate.scheduleWithFixedDelay(registry::checkGate, 100, 100, TimeUnit.MILLISECONDS);
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        gate.shutdownNow();
        server.close();
        operator.stop();
    }
}
