// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.status.Conditions;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.proto.v1.StreamConfig;
import io.edgerep.wire.ProtoTime;

/**
 * The operator in-process against a real kube-apiserver, with fake agents: what it plans, what it
 * pushes, and what the status says as pods, specs, agents and the operator itself change.
 */
class ControlPlaneIT extends ControlPlaneSetup {

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
        assertThat(s.getConsumers(0).getPolicy().getKind())
                .isEqualTo(io.edgerep.proto.v1.PolicyKind.POLICY_KIND_DIFFERENTIAL_FIRST);
        EdgeReplica e = er(ns, "cam");
        assertThat(e.getStatus().getObservedGeneration()).isEqualTo(1L);
        assertThat(e.getStatus().getConsumerCount()).isEqualTo(2);
        assertThat(e.getStatus().getStream().getEffectiveQuality()).isEqualTo(0.95);
        assertThat(e.getMetadata().getFinalizers()).isNotEmpty();

        // counters from the node reach the status
        agents.get("n1").send(Counters.newBuilder().setReadAt(ProtoTime.now())
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
                .setPod("edge").setAppliedSeq(42).setLag(ProtoTime.duration(3))).build());
        awaitCondition(ns, "web", "InSync", "False", "Unconfirmed"); // caught up, not yet confirmed by the origin
        agents.get("n2").send(Counters.newBuilder().addReplicas(ReplicaProgress.newBuilder().setKey("t-state/web")
                .setPod("edge").setAppliedSeq(42).setLag(ProtoTime.duration(3)).setConfirmed(true)).build());
        awaitCondition(ns, "web", "Ready", "True", "Ready");
        assertThat(er(ns, "web").getStatus().getState().getReplicas().get(0).getAppliedSeq()).isEqualTo(42);
        agents.get("n2").send(Counters.newBuilder().addReplicas(ReplicaProgress.newBuilder().setKey("t-state/web")
                .setPod("edge").setAppliedSeq(43).setLag(ProtoTime.duration(5000)).setConfirmed(true)).build());
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
            long passes = operator.reconciles.cleanups(ns, "cam");
            await().atMost(30, TimeUnit.SECONDS).until(() -> operator.reconciles.cleanups(ns, "cam") >= passes + 2);
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
}
