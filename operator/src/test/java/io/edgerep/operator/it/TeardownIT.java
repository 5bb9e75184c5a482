// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.HttpURLConnection;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.status.Conditions;
import io.edgerep.operator.wiring.AgentServerLifecycle;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The uninstall endpoint of the packaged operator against a real API server, with a fake agent: refused without
 * the uninstall account's token; with it, the agent is told to tear down, the controller stops and the
 * EdgeReplica loses its finalizer for good. A profile of its own: the application is not reused by other tests
 * once its controller is stopped.
 */
@QuarkusTest
@TestProfile(TeardownIT.Uninstall.class)
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
class TeardownIT {

    /** Only here so the application is started for this class alone. */
    public static class Uninstall implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("edgerep.uninstall-service-account", "edgerep-uninstall");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FINALIZER = "edgereplicas.edgerep.io/finalizer";
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {
    };

    @TestHTTPResource("/edgerep/v1/teardown")
    URL teardown;
    @Inject
    KubernetesClient client;
    @Inject
    AgentServerLifecycle agentServer;

    record Answer(int code, JsonNode body) {
    }

    Answer post(String token) throws Exception {
        var c = (HttpURLConnection) new URL(teardown + "?timeoutSeconds=20").openConnection();
        c.setRequestMethod("POST");
        if (token != null) {
            c.setRequestProperty("Authorization", "Bearer " + token);
        }
        int code = c.getResponseCode();
        var in = code < 400 ? c.getInputStream() : c.getErrorStream();
        return new Answer(code, JSON.readTree(in));
    }

    String tokenOf(String serviceAccount) {
        String ns = OperatorHarness.NAMESPACE;
        client.resource(new ServiceAccountBuilder().withNewMetadata().withName(serviceAccount).withNamespace(ns)
                .endMetadata().build()).serverSideApply();
        return client.serviceAccounts().inNamespace(ns).withName(serviceAccount)
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(600L).endSpec().build())
                .getStatus().getToken();
    }

    EdgeReplica cam() {
        return client.resources(EdgeReplica.class).inNamespace("q-td").withName("cam").get();
    }

    @Test
    void theUninstallAccountTearsEveryNodeDownAndReleasesTheFinalizers() throws Exception {
        await().atMost(60, TimeUnit.SECONDS).until(agentServer::serving);
        try (FakeAgent agent = FakeAgent.enrol(client, agentServer.port(), "n1")) {
            Cluster cluster = new Cluster(client);
            cluster.namespace("q-td");
            cluster.runningPod("q-td", "d1", "n1", "10.1.0.1", Map.of("app", "det"));
            var er = Fixtures.stream("q-td", "cam", 5004, "n1", Fixtures.consumer("det", "det", 6000, null));
            er.getMetadata().setGeneration(null);
            er.getMetadata().setCreationTimestamp(null);
            client.resource(er).create();
            await().atMost(60, TimeUnit.SECONDS).until(() -> cam().getStatus() != null
                    && Conditions.isTrue(cam().getStatus().getConditions(), "Ready"));
            assertThat(cam().getMetadata().getFinalizers()).contains(FINALIZER);

            // anyone else: refused, and nothing happens
            assertThat(post(null)).satisfies(a -> {
                assertThat(a.code()).isEqualTo(403);
                assertThat(a.body().get("error").asText()).isEqualTo("a bearer token is required");
            });
            assertThat(post(tokenOf("edgerep-agent"))).satisfies(a -> {
                assertThat(a.code()).isEqualTo(403);
                assertThat(a.body().get("error").asText()).startsWith(
                        "system:serviceaccount:" + OperatorHarness.NAMESPACE + ":edgerep-agent may not tear");
            });
            assertThat(agent.teardowns).isEmpty();

            Answer done = post(tokenOf("edgerep-uninstall"));
            assertThat(done.code()).as(done.body().toString()).isEqualTo(200);
            assertThat(agent.teardowns).hasSize(1);
            assertThat(JSON.convertValue(done.body().get("nodes").get("n1").get("removed"), STRINGS))
                    .containsExactly("tc ingress eth0", "pin dir /sys/fs/bpf/edgerep");
            assertThat(JSON.convertValue(done.body().get("finalizersRemoved"), STRINGS)).containsExactly(
                    "q-td/cam");
            assertThat(cam().getMetadata().getFinalizers()).doesNotContain(FINALIZER);

            // the controller is stopped: a change does not bring the finalizer back, no config reaches the agent,
            // and the resource deletes at once
            int configs = agent.all.size();
            client.resources(EdgeReplica.class).inNamespace("q-td").withName("cam")
                    .edit(e -> {
                        e.getMetadata().setLabels(Map.of("touched", "yes"));
                        return e;
                    });
            Thread.sleep(3000);
            assertThat(cam().getMetadata().getFinalizers()).doesNotContain(FINALIZER);
            assertThat(agent.all).hasSize(configs);
            client.resources(EdgeReplica.class).inNamespace("q-td").withName("cam").delete();
            await().atMost(10, TimeUnit.SECONDS).until(() -> cam() == null);
        }
    }
}
