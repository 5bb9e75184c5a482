// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import io.edgerep.api.testing.RealApiServer;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.security.CertificateAuthority;
import io.edgerep.operator.status.Conditions;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.StreamConfig;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * What the control plane integration tests share: a real kube-apiserver, the operator in-process,
 * and fake agents of nodes n1 and n2 over real gRPC with real certificates from the operator's CA.
 * Each test class gets its own (started before its first test, stopped after its last).
 */
abstract class ControlPlaneSetup {

    static final Duration FINALIZER_TIMEOUT = Duration.ofSeconds(5);
    static final Map<String, String> AGENT_LABELS = Map.of("app.kubernetes.io/name", "edgerep-agent");

    static RealApiServer server;
    static KubernetesClient client;
    static Cluster cluster;
    static OperatorHarness operator;
    static Path kubeconfig;
    static final Map<String, FakeAgent> agents = new HashMap<>();
    static final Map<String, X509Certificate> certs = new HashMap<>();

    @BeforeAll
    static void start() throws Exception {
        server = RealApiServer.start();
        client = server.client();
        RealApiServer.applyCrd(client);
        kubeconfig = server.writeKubeconfig(Files.createTempFile("edgerep-it", ".kubeconfig"));
        cluster = new Cluster(client);
        cluster.namespace(OperatorHarness.NAMESPACE);
        operator = new OperatorHarness(client, FINALIZER_TIMEOUT);
        agents.put("n1", newAgent("n1"));
        agents.put("n2", newAgent("n2"));
    }

    @AfterAll
    static void stop() throws Exception {
        agents.values().forEach(FakeAgent::close);
        agents.clear();
        certs.clear();
        if (operator != null) {
            operator.close();
            operator = null;
        }
        if (client != null) {
            client.close();
            client = null;
        }
        if (server != null) {
            server.close();
            server = null;
        }
        if (kubeconfig != null) {
            Files.deleteIfExists(kubeconfig);
            kubeconfig = null;
        }
    }

    /** Bootstraps a certificate the way an agent does, then connects with it. */
    static FakeAgent newAgent(String node) throws Exception {
        String token = cluster.agentToken(node, "edgerep-agent", "agent-" + node, AGENT_LABELS);
        FakeAgent a = new FakeAgent(node);
        var resp = FakeAgent.bootstrap(operator.port(), operator.ca.caCertificate(), node, token, a.csrPem());
        X509Certificate cert = CertificateAuthority.parseCert(resp.getCertificatePem());
        assertThat(CertificateAuthority.nodeOf(cert)).contains(node);
        assertThat(resp.getNotAfter().getSeconds()).isGreaterThan(System.currentTimeMillis() / 1000);
        certs.put(node, cert);
        return a.connect(operator.port(), operator.ca.caCertificate(), cert, a.keys.getPrivate(), node,
                "10.0.0." + node.substring(1) + ":7443");
    }

    static EdgeReplica er(String ns, String name) {
        return client.resources(EdgeReplica.class).inNamespace(ns).withName(name).get();
    }

    static void awaitCondition(String ns, String name, String type, String status, String reason) {
        await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            EdgeReplica e = er(ns, name);
            assertThat(e).isNotNull();
            assertThat(e.getStatus()).isNotNull();
            var c = Conditions.find(e.getStatus().getConditions(), type);
            assertThat(c).as(type + " of " + ns + "/" + name).isPresent();
            assertThat(c.get().getStatus()).as(type + " " + c.get().getReason() + ": " + c.get().getMessage())
                    .isEqualTo(status);
            if (reason != null) {
                assertThat(c.get().getReason()).isEqualTo(reason);
            }
        });
    }

    static StreamConfig streamOn(String node, String key) {
        NodeConfig c = operator.registry.config(node);
        return c == null
                ? null
                : c.getStreamsList().stream().filter(s -> s.getKey().equals(key)).findFirst().orElse(null);
    }

    /** The stream as the agent last received it. */
    static StreamConfig receivedStream(String node, String key) {
        NodeConfig c = agents.get(node).latest();
        return c == null
                ? null
                : c.getStreamsList().stream().filter(s -> s.getKey().equals(key)).findFirst().orElse(null);
    }

    static List<String> consumerKeys(StreamConfig s) {
        return s.getConsumersList().stream().map(ConsumerConfig::getKey).toList();
    }

    static int kubectl(String... args) throws Exception {
        String bin = System.getenv().getOrDefault("KUBE_API_TEST_DIR",
                System.getProperty("user.home") + "/.kubeapitest")
                + "/k8s/1.34.4-linux-amd64/kubectl";
        var cmd = new java.util.ArrayList<>(List.of(bin, "--kubeconfig", kubeconfig.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        int rc = p.waitFor();
        System.out.println("kubectl " + String.join(" ", args) + " -> " + rc + "\n" + out);
        return rc;
    }

    static EdgeReplica stream(String ns, String name, int port, String node) {
        var e = Fixtures.stream(ns, name, port, node, Fixtures.consumer("det", "det", 6000, null));
        e.getMetadata().setGeneration(null);
        e.getMetadata().setCreationTimestamp(null);
        return e;
    }
}
