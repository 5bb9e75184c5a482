package io.edgerep.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
import org.junit.jupiter.api.Test;

import io.edgerep.api.testing.RealApiServer;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.security.CertificateAuthority;
import io.edgerep.operator.status.Conditions;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.proto.v1.StreamConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The operator in-process against a real kube-apiserver, fake agents over real gRPC with real
 * certificates from the operator's CA.
 */
class ControlPlaneIT {

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
        if (operator != null) {
            operator.close();
        }
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        if (kubeconfig != null) {
            Files.deleteIfExists(kubeconfig);
        }
    }

    /** Bootstraps a certificate the way an agent does, then connects with it. */
    static FakeAgent newAgent(String node) throws Exception {
        String token = cluster.agentToken(node, "edgerep-agent", "agent-" + node, AGENT_LABELS);
        FakeAgent a = new FakeAgent(node);
        var resp = FakeAgent.bootstrap(operator.port(), operator.ca.caCertificate(), node, token, a.csrPem());
        X509Certificate cert = CertificateAuthority.parseCert(resp.getCertificatePem());
        assertThat(CertificateAuthority.nodeOf(cert)).contains(node);
        assertThat(resp.getNotAfterUnix()).isGreaterThan(System.currentTimeMillis() / 1000);
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

    @Test
    void applyWithKubectlThenWaitForReady() throws Exception {
        String ns = "t-ready";
        cluster.namespace(ns);
        cluster.runningPod(ns, "d1", "n1", "10.1.0.5", Map.of("app", "det"));
        cluster.runningPod(ns, "d2", "n2", "10.2.0.5", Map.of("app", "det"));
        Path yaml = Files.createTempFile("cam", ".yaml");
        Files.writeString(yaml, """
                apiVersion: edgerep.io/v1alpha1
                kind: EdgeReplica
                metadata: {name: cam, namespace: t-ready}
                spec:
                  stream:
                    ingress: {interface: eth0, port: 5004, nodeName: n1}
                    consumers:
                      - name: det
                        podSelector: {matchLabels: {app: det}}
                        port: 6000
                        qoc: {minDetectionRate: 0.95}
                """);
        assertThat(kubectl("apply", "-f", yaml.toString())).isZero();
        assertThat(kubectl("wait", "--for=condition=Ready", "er/cam", "-n", ns, "--timeout=60s")).isZero();
        Files.delete(yaml);

        StreamConfig s = receivedStream("n1", "t-ready/cam");
        assertThat(s).isNotNull();
        assertThat(s.getPort()).isEqualTo(5004);
        assertThat(consumerKeys(s)).containsExactly("det/d1", "det/d2");
        assertThat(s.getConsumers(1).getViaNodeIp()).isEqualTo(Fixtures.hostIp("n2"));
        assertThat(s.getConsumers(0).getToleratedLossPpm()).isEqualTo(10454);
        EdgeReplica e = er(ns, "cam");
        assertThat(e.getStatus().getObservedGeneration()).isEqualTo(1L);
        assertThat(e.getStatus().getConsumerCount()).isEqualTo(2);
        assertThat(e.getStatus().getStream().getEffectiveQuality()).isEqualTo(0.95);
        assertThat(e.getMetadata().getFinalizers()).isNotEmpty();

        // counters from the node reach the status
        agents.get("n1").send(Counters.newBuilder().setTimestampMs(System.currentTimeMillis())
                .addConsumers(ConsumerCounters.newBuilder().setStreamKey("t-ready/cam").setConsumerKey("det/d1")
                        .setDeliveredPackets(100).setDroppedDifferential(3).setBitrateBps(2_000_000))
                .build());
        await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> {
            var c = er(ns, "cam").getStatus().getStream().getConsumers().get(0);
            assertThat(c.getDeliveredPackets()).isEqualTo(100);
            assertThat(c.getDroppedDifferential()).isEqualTo(3);
            assertThat(c.getBitrate()).isEqualTo(2_000_000);
        });
        // an agent's event about a resource on its node becomes an Event on the resource ...
        agents.get("n1").send(io.edgerep.proto.v1.AgentEvent.newBuilder().setKey("t-ready/cam").setWarning(true)
                .setReason("XdpFellBackToTc").setMessage("eth0 has no native XDP").build());
        // ... while another node cannot speak about a resource it does not carry
        agents.get("n2").send(io.edgerep.proto.v1.AgentEvent.newBuilder().setKey("t-ready/cam").setWarning(true)
                .setReason("ForgedByN2").setMessage("not mine").build());
        await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(client.v1().events().inNamespace(ns)
                .list().getItems()).anyMatch(
                        ev -> "XdpFellBackToTc".equals(ev.getReason())
                                && "Warning".equals(ev.getType()) && ev.getMessage().startsWith("node n1: ")));
        assertThat(client.v1().events().inNamespace(ns).list().getItems())
                .noneMatch(ev -> "ForgedByN2".equals(ev.getReason()));
        // kubectl get shows the printer columns
        assertThat(kubectl("get", "er", "-n", ns)).isZero();
    }

    @Test
    void stateReplicationIsReadyWhenReplicasAreWithinMaxLag() {
        String ns = "t-state";
        cluster.namespace(ns);
        cluster.runningPod(ns, "origin", "n1", "10.1.1.1", Map.of("role", "origin"));
        cluster.runningPod(ns, "edge", "n2", "10.2.1.1", Map.of("role", "edge"));
        var e = Fixtures.state(ns, "web", Fixtures.sel("role", "origin"), Fixtures.sel("role", "edge"), "/data");
        e.getMetadata().setGeneration(null);
        e.getMetadata().setCreationTimestamp(null);
        client.resource(e).create();
        awaitCondition(ns, "web", "Programmed", "True", "Programmed");
        awaitCondition(ns, "web", "InSync", "False", "ProgressUnknown");
        var origin = operator.registry.config("n1").getStateOriginsList().stream()
                .filter(o -> o.getKey().equals("t-state/web")).findFirst().orElseThrow();
        assertThat(origin.getReplicas(0).getAgentEndpoint()).isEqualTo("10.0.0.2:7443");
        assertThat(operator.registry.config("n2").getStateReplicasList()).anyMatch(r -> r.getKey().equals("t-state/web")
                && r.getOriginNode().equals("n1") && r.getPod().getName().equals("edge"));
        agents.get("n2").send(Counters.newBuilder().addReplicas(ReplicaProgress.newBuilder().setKey("t-state/web")
                .setPod("edge").setAppliedSeq(42).setLagMs(3)).build());
        awaitCondition(ns, "web", "Ready", "True", "Ready");
        assertThat(er(ns, "web").getStatus().getState().getReplicas().get(0).getAppliedSeq()).isEqualTo(42);
        agents.get("n2").send(Counters.newBuilder().addReplicas(ReplicaProgress.newBuilder().setKey("t-state/web")
                .setPod("edge").setAppliedSeq(43).setLagMs(5000)).build());
        awaitCondition(ns, "web", "InSync", "False", "ReplicaLagging");
    }

    @Test
    void podChurnUpdatesConfigs() {
        String ns = "t-churn";
        cluster.namespace(ns);
        cluster.runningPod(ns, "d1", "n1", "10.1.2.1", Map.of("app", "det"));
        client.resource(stream(ns, "cam", 5020, "n1")).create();
        String key = ns + "/cam";
        await().atMost(20, TimeUnit.SECONDS).untilAsserted(
                () -> assertThat(consumerKeys(receivedStream("n1", key))).containsExactly("det/d1"));

        cluster.runningPod(ns, "d2", "n2", "10.2.2.1", Map.of("app", "det"));
        await().atMost(20, TimeUnit.SECONDS).untilAsserted(
                () -> assertThat(consumerKeys(receivedStream("n1", key))).containsExactly("det/d1", "det/d2"));

        cluster.changeIp(ns, "d2", "10.2.2.99");
        await().atMost(20, TimeUnit.SECONDS).untilAsserted(
                () -> assertThat(receivedStream("n1", key).getConsumers(1).getPod().getIp()).isEqualTo("10.2.2.99"));

        // relabelled away: no longer selected
        client.pods().inNamespace(ns).withName("d1").edit(p -> {
            p.getMetadata().getLabels().put("app", "other");
            return p;
        });
        await().atMost(20, TimeUnit.SECONDS).untilAsserted(
                () -> assertThat(consumerKeys(receivedStream("n1", key))).containsExactly("det/d2"));

        client.pods().inNamespace(ns).withName("d2").withGracePeriod(0).delete();
        await().atMost(20, TimeUnit.SECONDS).untilAsserted(
                () -> assertThat(consumerKeys(receivedStream("n1", key))).isEmpty());
        awaitCondition(ns, "cam", "Degraded", "True", "NoConsumerPods");
    }

    @Test
    void specUpdateProgramsTheNewGeneration() {
        String ns = "t-gen";
        cluster.namespace(ns);
        cluster.runningPod(ns, "d1", "n1", "10.1.3.1", Map.of("app", "det"));
        client.resource(stream(ns, "cam", 5030, "n1")).create();
        awaitCondition(ns, "cam", "Ready", "True", "Ready");
        client.resources(EdgeReplica.class).inNamespace(ns).withName("cam").edit(e -> {
            e.getSpec().getStream().getIngress().setPort(5031);
            return e;
        });
        await().atMost(20, TimeUnit.SECONDS).untilAsserted(() -> {
            EdgeReplica e = er(ns, "cam");
            assertThat(e.getMetadata().getGeneration()).isEqualTo(2L);
            assertThat(e.getStatus().getObservedGeneration()).isEqualTo(2L);
            var p = Conditions.find(e.getStatus().getConditions(), "Programmed").orElseThrow();
            assertThat(p.getStatus()).isEqualTo("True");
            assertThat(p.getObservedGeneration()).isEqualTo(2L);
        });
        StreamConfig s = receivedStream("n1", ns + "/cam");
        assertThat(s.getPort()).isEqualTo(5031);
        assertThat(s.getGeneration()).isEqualTo(2L);
    }

    @Test
    void deleteWaitsForNodesToAcknowledgeThenGivesUpBounded() throws Exception {
        String ns = "t-del";
        cluster.namespace(ns);
        cluster.runningPod(ns, "d1", "n1", "10.1.4.1", Map.of("app", "det"));
        client.resource(stream(ns, "cam", 5040, "n1")).create();
        awaitCondition(ns, "cam", "Ready", "True", "Ready");
        FakeAgent n1 = agents.get("n1");
        n1.ack.set(false);
        try {
            client.resources(EdgeReplica.class).inNamespace(ns).withName("cam").delete();
            await().atMost(10, TimeUnit.SECONDS)
                    .untilAsserted(() -> assertThat(receivedStream("n1", ns + "/cam")).isNull());
            Thread.sleep(1500);
            assertThat(er(ns, "cam")).as("finalizer holds until the node acknowledges").isNotNull();
            n1.acknowledge(n1.latest());
            await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(er(ns, "cam")).isNull());

            // a node that never answers is given up on after the bounded time, with an Event
            client.resource(stream(ns, "cam2", 5041, "n1")).create();
            await().atMost(20, TimeUnit.SECONDS)
                    .untilAsserted(() -> assertThat(streamOn("n1", ns + "/cam2")).isNotNull());
            n1.acknowledge(n1.latest());
            awaitCondition(ns, "cam2", "Ready", "True", "Ready");
            long t0 = System.nanoTime();
            client.resources(EdgeReplica.class).inNamespace(ns).withName("cam2").delete();
            await().atMost(30, TimeUnit.SECONDS).untilAsserted(() -> assertThat(er(ns, "cam2")).isNull());
            long waited = (System.nanoTime() - t0) / 1_000_000;
            assertThat(waited).isGreaterThanOrEqualTo(FINALIZER_TIMEOUT.toMillis() - 500);
            assertThat(client.v1().events().inNamespace(ns).list().getItems())
                    .anyMatch(ev -> "CleanupGivenUp".equals(ev.getReason()) && ev.getMessage().contains("n1"));
        } finally {
            n1.ack.set(true);
            n1.acknowledge(n1.latest());
        }
    }

    @Test
    void agentDisconnectDegradesAndRecovers() throws Exception {
        String ns = "t-disc";
        cluster.namespace(ns);
        cluster.runningPod(ns, "d1", "n2", "10.2.5.1", Map.of("app", "det"));
        client.resource(stream(ns, "cam", 5050, "n2")).create();
        awaitCondition(ns, "cam", "Ready", "True", "Ready");
        agents.remove("n2").close();
        awaitCondition(ns, "cam", "Programmed", "False", "AgentUnavailable");
        awaitCondition(ns, "cam", "Degraded", "True", "NodeUnavailable");
        awaitCondition(ns, "cam", "Ready", "False", null);
        agents.put("n2", newAgent("n2"));
        awaitCondition(ns, "cam", "Ready", "True", "Ready");
        awaitCondition(ns, "cam", "Degraded", "False", "AsExpected");
    }

    @Test
    void operatorRestartReattachesAgentsWithIdenticalConfigs() throws Exception {
        String ns = "t-restart";
        cluster.namespace(ns);
        cluster.runningPod(ns, "d1", "n1", "10.1.6.1", Map.of("app", "det"));
        client.resource(stream(ns, "cam", 5060, "n1")).create();
        awaitCondition(ns, "cam", "Ready", "True", "Ready");
        await().atMost(10, TimeUnit.SECONDS)
                .until(() -> agents.get("n1").latest().equals(operator.registry.config("n1")));
        Map<String, NodeConfig> before = new HashMap<>();
        for (String node : List.of("n1", "n2")) {
            before.put(node, agents.get(node).latest());
        }
        X509Certificate caBefore = operator.ca.caCertificate();

        operator.close();
        operator = new OperatorHarness(client, FINALIZER_TIMEOUT);
        assertThat(operator.ca.caCertificate()).as("the CA is kept in its Secret").isEqualTo(caBefore);
        for (String node : List.of("n1", "n2")) {
            FakeAgent old = agents.get(node);
            old.close();
            // the agent keeps its certificate and key across the operator's restart
            FakeAgent again = new FakeAgent(node);
            long t0 = System.nanoTime();
            again.connect(operator.port(), operator.ca.caCertificate(), certs.get(node), old.keys.getPrivate(), node,
                    "10.0.0." + node.substring(1) + ":7443");
            NodeConfig first = again.received.poll(20, TimeUnit.SECONDS);
            System.out.printf("node %s: full config re-received %d ms after reconnect%n", node,
                    (System.nanoTime() - t0) / 1_000_000);
            assertThat(first).as("config after restart for " + node).isNotNull();
            assertThat(first.toBuilder().setVersion(0).build())
                    .isEqualTo(before.get(node).toBuilder().setVersion(0).build());
            agents.put(node, again);
        }
        awaitCondition(ns, "cam", "Ready", "True", "Ready");
    }

    @Test
    void certificateFromAnotherCaIsRefused() throws Exception {
        CertificateAuthority rogue = CertificateAuthority.create("rogue");
        FakeAgent a = new FakeAgent("n1");
        var cert = rogue.issueNode(a.csrPem(), "n1", Duration.ofMinutes(5));
        try {
            a.connect(operator.port(), operator.ca.caCertificate(), cert, a.keys.getPrivate(), "n1", "");
            await().atMost(10, TimeUnit.SECONDS).until(() -> a.ended.get());
            assertThat(a.error.get()).isInstanceOf(StatusRuntimeException.class);
            assertThat(a.all).isEmpty();
        } finally {
            a.close();
        }
        assertThat(operator.registry.connectedNodes()).containsExactlyInAnyOrder("n1", "n2");
    }

    @Test
    void nodeACertificateCannotActForNodeB() throws Exception {
        FakeAgent n2Before = agents.get("n2");
        int receivedBefore = n2Before.all.size();
        FakeAgent imposter = new FakeAgent("n1");
        try {
            imposter.connect(operator.port(), operator.ca.caCertificate(), certs.get("n1"),
                    agents.get("n1").keys.getPrivate(), "n2", "");
            await().atMost(10, TimeUnit.SECONDS).until(() -> imposter.ended.get());
            assertThat(Status.fromThrowable(imposter.error.get()).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(imposter.all).as("no config of n2 reaches n1's certificate").isEmpty();
        } finally {
            imposter.close();
        }
        // the real n2 agent is untouched
        assertThat(operator.registry.connectedNodes()).contains("n2");
        assertThat(n2Before.ended.get()).isFalse();
        assertThat(n2Before.all.size()).isGreaterThanOrEqualTo(receivedBefore);
    }

    @Test
    void bootstrapRefusesWrongTokensAndClaims() throws Exception {
        var trust = operator.ca.caCertificate();
        String csr = new FakeAgent("x").csrPem();
        String n1Token = cluster.agentToken("n1", "edgerep-agent", "agent-n1", AGENT_LABELS);
        // a claim for another node than the token's pod runs on
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n2", n1Token, csr), "node");
        // a token for another audience
        String otherAudience = cluster.agentToken("n1", "something-else", "agent-n1", AGENT_LABELS);
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", otherAudience, csr), "");
        // a stolen token of a pod that is not an agent (default service account)
        String ns = "t-sec";
        cluster.namespace(ns);
        var app = cluster.runningPod(ns, "app", "n1", "10.1.7.1", Map.of("app", "web"));
        String appToken = cluster.token("default", "edgerep-agent", app);
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", appToken, csr), "service account");
        // an agent-SA pod without the agent label
        String unlabelled = cluster.agentToken("n1", "edgerep-agent", "not-an-agent", Map.of("app", "x"));
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", unlabelled, csr), "not an agent pod");
        // garbage
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", "not-a-token", csr), "not authenticated");
        // a valid claim with a malformed CSR is an argument error, not a certificate
        assertThatThrownBy(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", n1Token, "junk"))
                .satisfies(t -> assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void connectWithoutCertificateIsUnauthenticated() throws Exception {
        var ch = io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", operator.port())
                .sslContext(io.grpc.netty.GrpcSslContexts.forClient().trustManager(operator.ca.caCertificate()).build())
                .build();
        try {
            var done = new java.util.concurrent.CompletableFuture<Throwable>();
            var up = io.edgerep.proto.v1.AgentControlGrpc.newStub(ch).connect(new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(io.edgerep.proto.v1.ControllerMessage v) {
                    done.complete(new AssertionError("received a config without a certificate"));
                }

                @Override
                public void onError(Throwable t) {
                    done.complete(t);
                }

                @Override
                public void onCompleted() {
                    done.complete(new AssertionError("completed"));
                }
            });
            try {
                up.onNext(io.edgerep.proto.v1.AgentMessage.newBuilder()
                        .setHello(io.edgerep.proto.v1.Hello.newBuilder().setNodeName("n1")).build());
            } catch (IllegalStateException e) {
                // the server may end the call before the Hello is written; its status still arrives
            }
            Throwable t = done.get(10, TimeUnit.SECONDS);
            assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        } finally {
            ch.shutdownNow();
        }
    }

    interface Call {
        Object run() throws Exception;
    }

    static void assertDenied(Call call, String messagePart) {
        assertThatThrownBy(call::run).satisfies(t -> {
            Status s = Status.fromThrowable(t);
            assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(s.getDescription()).contains(messagePart);
        });
    }

    static EdgeReplica stream(String ns, String name, int port, String node) {
        var e = Fixtures.stream(ns, name, port, node, Fixtures.consumer("det", "det", 6000, null));
        e.getMetadata().setGeneration(null);
        e.getMetadata().setCreationTimestamp(null);
        return e;
    }
}
