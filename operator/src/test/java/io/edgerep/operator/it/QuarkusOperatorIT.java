// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.operator.status.Conditions;
import io.edgerep.operator.wiring.AgentServerLifecycle;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The packaged wiring: the Quarkus application (quarkus-operator-sdk registering the reconciler,
 * CDI, configuration, CA Secret, agent server) against a real API server, with a fake agent.
 */
@QuarkusTest
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
class QuarkusOperatorIT {

    @io.quarkus.test.common.http.TestHTTPResource("/q/metrics")
    java.net.URL metricsUrl;
    @Inject
    KubernetesClient client;
    @Inject
    AgentServerLifecycle agentServer;
    @Inject
    AgentRegistry registry;
    @Inject
    @org.eclipse.microprofile.health.Readiness
    io.edgerep.operator.wiring.AgentServerReadiness readiness;

    @Test
    void applicationReconcilesAndServesAgents() throws Exception {
        Cluster cluster = new Cluster(client);
        await().atMost(60, TimeUnit.SECONDS).until(agentServer::serving);
        var ready = readiness.call();
        assertThat(ready.getStatus()).isEqualTo(org.eclipse.microprofile.health.HealthCheckResponse.Status.UP);
        var secret = client.secrets().inNamespace(OperatorHarness.NAMESPACE).withName("edgerep-ca").get();
        assertThat(secret).as("the CA is created on first start and kept in a Secret").isNotNull();

        try (FakeAgent agent = FakeAgent.enrol(client, agentServer.port(), "n1")) {

            cluster.namespace("q-app");
            cluster.runningPod("q-app", "d1", "n1", "10.1.0.1", Map.of("app", "det"));
            var er = Fixtures.stream("q-app", "cam", 5004, "n1", Fixtures.consumer("det", "det", 6000, null));
            er.getMetadata().setGeneration(null);
            er.getMetadata().setCreationTimestamp(null);
            client.resource(er).create();
            await().atMost(60, TimeUnit.SECONDS).untilAsserted(() -> {
                EdgeReplica e = client.resources(EdgeReplica.class).inNamespace("q-app").withName("cam").get();
                assertThat(e.getStatus()).isNotNull();
                assertThat(Conditions.isTrue(e.getStatus().getConditions(), "Ready")).as(e.getStatus()
                        .getConditions().toString()).isTrue();
            });
            assertThat(agent.latest().getStreamsList()).anyMatch(s -> s.getKey().equals("q-app/cam"));
            assertThat(registry.connectedAgents()).isEqualTo(1);
            String metrics = new String(metricsUrl.openStream().readAllBytes());
            assertThat(metrics).contains("edgerep_operator_connected_agents 1.0")
                    .contains("edgerep_operator_config_pushes_total{");
            assertThat(metrics).as("reconcile metrics").containsPattern("operator_sdk_\\w*reconcil");
        }
    }
}
