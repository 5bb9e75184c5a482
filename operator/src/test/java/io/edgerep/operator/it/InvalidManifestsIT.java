// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.edgerep.api.testing.RealApiServer;
import io.edgerep.api.testing.RepoPaths;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.status.Conditions;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * The corpus under src/test/resources/invalid: every manifest is rejected by the API server's schema
 * with the expected message, or accepted by the schema and reported Accepted=False with the expected
 * reason (plus a Warning Event) by the running operator, which keeps working and does not loop.
 */
class InvalidManifestsIT {

    static final String NS = "corpus";
    static RealApiServer server;
    static KubernetesClient client;
    static OperatorHarness operator;

    @BeforeAll
    static void start() throws Exception {
        server = RealApiServer.start();
        client = server.client();
        RealApiServer.applyCrd(client);
        Cluster cluster = new Cluster(client);
        cluster.namespace(OperatorHarness.NAMESPACE);
        cluster.namespace(NS);
        operator = new OperatorHarness(client, Duration.ofSeconds(5));
        cluster.runningPod(NS, "det", "n1", "10.9.0.1", Map.of("app", "det"));
        cluster.runningPod(NS, "origin", "n1", "10.9.0.2", Map.of("role", "origin", "app", "web"));
        cluster.runningPod(NS, "edge", "n2", "10.9.0.3", Map.of("role", "edge", "app", "web"));
        cluster.runningPod(NS, "twin-a", "n1", "10.9.0.4", Map.of("role", "twin"));
        cluster.runningPod(NS, "twin-b", "n2", "10.9.0.5", Map.of("role", "twin"));
        client.resource(new ConfigMapBuilder().withNewMetadata().withName("broken").withNamespace(NS)
                .addToLabels("edgerep.io/qoc-profile", "").endMetadata()
                .withData(Map.of("lossPercent", "1,2", "uniform", "0.9", "differential", "0.9,0.8")).build()).create();
        // an older resource holding ingress port 7000 on n1
        createAccepted("holder", 7000);
        // creation timestamps have second resolution: the corpus comes strictly after the holder
        long holderSecond = java.time.Instant.parse(client.resources(EdgeReplica.class).inNamespace(NS)
                .withName("holder").get().getMetadata().getCreationTimestamp()).getEpochSecond();
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(20))
                .until(() -> java.time.Instant.now().getEpochSecond() > holderSecond);
    }

    @AfterAll
    static void stop() {
        if (operator != null) {
            operator.close();
        }
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    static EdgeReplica load(String yaml) {
        return Serialization.unmarshal(yaml, EdgeReplica.class);
    }

    static io.fabric8.kubernetes.api.model.Condition accepted(String name) {
        EdgeReplica e = client.resources(EdgeReplica.class).inNamespace(NS).withName(name).get();
        return e == null || e.getStatus() == null
                ? null
                : Conditions.find(e.getStatus().getConditions(), "Accepted").orElse(null);
    }

    record Case(String file, String name, String kind, String expected, String yaml) {
    }

    static List<Case> corpus() throws IOException {
        Path dir = RepoPaths.root().resolve("operator/src/test/resources/invalid");
        List<Case> cases = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                String text = Files.readString(f);
                String header = text.lines().findFirst().orElseThrow();
                assertThat(header).as(f + " states its expectation").startsWith("# expect: ");
                String expect = header.substring("# expect: ".length());
                String name = f.getFileName().toString().replace(".yaml", "");
                if (expect.startsWith("schema: ")) {
                    cases.add(new Case(f.getFileName().toString(), name, "schema", expect.substring(8), text));
                } else {
                    assertThat(expect).startsWith("Accepted=False ");
                    cases.add(new Case(f.getFileName().toString(), name, "semantic", expect.substring(15), text));
                }
            }
        }
        return cases;
    }

    @Test
    void everyInvalidManifestIsRejectedWithAReason() throws Exception {
        List<Case> cases = corpus();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(30);
        List<Case> semantic = createAll(cases);
        assertThat(semantic).hasSizeGreaterThanOrEqualTo(10);
        Map<String, String> versions = awaitRejections(semantic);
        // no churn: reconciling a rejected resource again writes nothing. A restarted operator reconciles every
        // resource; once it finished each at the version the rejection left, that version is still the latest
        operator.close();
        for (Case c : semantic) {
            assertThat(client.resources(EdgeReplica.class).inNamespace(NS).withName(c.name()).get().getMetadata()
                    .getResourceVersion()).as(c.file() + " left alone after its rejection")
                    .isEqualTo(versions.get(c.name()));
        }
        operator = new OperatorHarness(client, Duration.ofSeconds(5));
        await().atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(50)).until(() -> versions.entrySet()
                .stream().allMatch(v -> operator.reconciles.finished(NS, v.getKey(), v.getValue())));
        for (Case c : semantic) {
            assertThat(client.resources(EdgeReplica.class).inNamespace(NS).withName(c.name()).get().getMetadata()
                    .getResourceVersion()).as(c.file() + " unchanged by its reconcile")
                    .isEqualTo(versions.get(c.name()));
        }
        // and the operator still works
        createAccepted("valid-after-corpus", 7100);
    }

    /** Creates a valid stream resource entering n1 on the port, and waits until it is Accepted. */
    static void createAccepted(String name, int port) {
        client.resource(load("""
                apiVersion: edgerep.io/v1alpha1
                kind: EdgeReplica
                metadata: {name: %s}
                spec:
                  stream:
                    ingress: {interface: eth0, port: %d, nodeName: n1}
                    consumers: [{name: det, podSelector: {matchLabels: {app: det}}, port: 6000}]
                """.formatted(name, port))).inNamespace(NS).create();
        await().atMost(30, TimeUnit.SECONDS).until(() -> accepted(name) != null
                && "True".equals(accepted(name).getStatus()));
    }

    /**
     * Creates every case: the schema cases must be refused by the API server with their message,
     * the semantic ones admitted. Returns the semantic ones.
     */
    static List<Case> createAll(List<Case> cases) {
        List<String> failures = new ArrayList<>();
        List<Case> semantic = new ArrayList<>();
        for (Case c : cases) {
            try {
                client.resource(c.yaml()).inNamespace(NS).create();
                if (c.kind().equals("schema")) {
                    failures.add(
                            c.file() + ": accepted by the API server, expected a schema error '" + c.expected() + "'");
                } else {
                    semantic.add(c);
                }
            } catch (KubernetesClientException e) {
                if (c.kind().equals("semantic")) {
                    failures.add(c.file() + ": rejected by the API server (" + e.getMessage() + "), expected "
                            + "acceptance by the schema");
                } else if (e.getCode() != 422 || !e.getMessage().contains(c.expected())) {
                    failures.add(c.file() + ": rejected with " + e.getCode() + " '" + e.getMessage()
                            + "', expected a message containing '" + c.expected() + "'");
                }
            }
        }
        assertThat(failures).isEmpty();
        return semantic;
    }

    /**
     * Waits until each semantic case is Accepted=False with its reason, not Ready, with a Warning
     * Event. Returns each one's resourceVersion then.
     */
    static Map<String, String> awaitRejections(List<Case> semantic) {
        await().atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            List<String> wrong = new ArrayList<>();
            for (Case c : semantic) {
                var a = accepted(c.name());
                if (a == null || !"False".equals(a.getStatus()) || !c.expected().equals(a.getReason())
                        || a.getMessage() == null || a.getMessage().isBlank()) {
                    wrong.add(c.file() + ": " + (a == null
                            ? "no Accepted condition"
                            : a.getStatus() + "/" + a.getReason() + " " + a.getMessage()));
                }
            }
            assertThat(wrong).isEmpty();
        });
        Map<String, String> versions = new HashMap<>();
        var events = client.v1().events().inNamespace(NS).list().getItems();
        for (Case c : semantic) {
            EdgeReplica e = client.resources(EdgeReplica.class).inNamespace(NS).withName(c.name()).get();
            assertThat(Conditions.find(e.getStatus().getConditions(), "Ready").orElseThrow().getStatus())
                    .as(c.file()).isEqualTo("False");
            assertThat(events).as(c.file() + " has a Warning event").anyMatch(ev -> "Warning".equals(ev.getType())
                    && c.expected().equals(ev.getReason()) && c.name().equals(ev.getInvolvedObject().getName()));
            versions.put(c.name(), e.getMetadata().getResourceVersion());
        }
        return versions;
    }
}
