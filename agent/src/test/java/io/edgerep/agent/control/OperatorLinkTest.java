// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.edgerep.agent.FakeLoader;
import io.edgerep.agent.FakeOperator;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.state.StateWiring;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.proto.v1.Teardown;
import io.edgerep.proto.v1.TeardownResult;
import io.edgerep.wire.ProtoTime;
import io.grpc.ManagedChannel;

/** The operator link against an in-process operator with real certificates. */
class OperatorLinkTest {
    TestCa ca;
    FakeOperator operator;
    FakeLoader loader;
    ManagedChannel loaderCh;
    NodeReconciler reconciler;
    final AtomicLong progress = new AtomicLong();
    /** Times the link asked for counters (once per interval). */
    final AtomicLong countersAsked = new AtomicLong();
    final List<OperatorLink> links = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        ca = new TestCa("edgerep-ca");
        operator = new FakeOperator(ca, ca.node("edgerep-operator")).start(0);
        operator.token("node-a", "token-a");
        loader = new FakeLoader();
        loader.failInterfaces.add("eth9");
        loader.noXdpInterfaces.add("eth1");
        loaderCh = LoaderChannels.open(loader.target());
        reconciler = new NodeReconciler(loaderCh, TestConfigs.pods(), StateWiring.NONE, Path.of("/proc"));
    }

    @AfterEach
    void tearDown() throws Exception {
        links.forEach(OperatorLink::close);
        operator.close();
        loaderCh.shutdownNow();
        loader.close();
    }

    OperatorLink link(String node, String token, List<java.security.cert.X509Certificate> trust, NodeTls initial,
            long capMs) {
        OperatorLink.Options o = new OperatorLink.Options(operator.target(), "edgerep-operator", node, () -> token,
                trust,
                50, capMs, 300);
        OperatorLink l = new OperatorLink(o, new OperatorLink.Handler() {
            @Override
            public NodeStatus apply(NodeConfig config) {
                return reconciler.apply(config);
            }

            @Override
            public TeardownResult teardown(Teardown teardown) {
                return reconciler.teardown(teardown.getReason());
            }

            @Override
            public Hello.Builder hello() {
                return Hello.newBuilder().setAgentVersion("test").setLoaderVersion("fake-1")
                        .setReplicationEndpoint("127.0.0.1:9444");
            }

            @Override
            public Counters counters() {
                countersAsked.incrementAndGet();
                return Counters.newBuilder().setReadAt(ProtoTime.now())
                        .addReplicas(ReplicaProgress.newBuilder().setKey("shop/web").setAppliedSeq(progress.get()))
                        .build();
            }
        }, initial);
        links.add(l);
        return l.start();
    }

    @Test
    void bootstrapsConnectsAppliesReportsAndReconnectsWithAFullReapply() throws Exception {
        operator.config(TestConfigs.config(1));
        OperatorLink l = link("node-a", "token-a", List.of(ca.cert), null, 400);
        await().atMost(Duration.ofSeconds(10)).until(() -> !operator.statuses.isEmpty());
        assertThat(l.bootstraps()).isEqualTo(1);
        assertThat(l.tls().nodeName()).isEqualTo("node-a");
        assertThat(operator.hellos).hasSize(1);
        assertThat(operator.hellos.get(0).getAppliedVersion()).isZero();
        NodeStatus st = operator.statuses.get(0);
        assertThat(st.getAppliedVersion()).isEqualTo(1);
        assertThat(st.getItemsList()).filteredOn(i -> !i.getOk()).extracting(i -> i.getKey())
                .containsExactlyInAnyOrder("video/broken", "video/cameras/ghost/g-0", "shop/missing");
        assertThat(loader.replicators).containsKeys("eth0", "eth1");

        // counters: coalesced, sent only when they change, at the interval
        progress.set(5);
        await().atMost(Duration.ofSeconds(3)).until(() -> operator.counters.stream()
                .anyMatch(c -> c.getReplicas(0).getAppliedSeq() == 5));
        long sent = l.countersSent();
        long asked = countersAsked.get();
        // three more intervals without change (the link decides on the fourth ask's values after sending none)
        await().atMost(Duration.ofSeconds(30)).until(() -> countersAsked.get() >= asked + 4);
        assertThat(l.countersSent()).as("nothing sent while nothing changed").isEqualTo(sent);

        // a new config version is applied
        operator.config(TestConfigs.config(2).toBuilder().removeStreams(1).build());
        await().atMost(Duration.ofSeconds(5)).until(() -> l.appliedVersion() == 2);

        // operator gone: the node keeps its state
        int callsBefore = loader.calls.size();
        var streamsBefore = new java.util.HashMap<>(loader.streams);
        int port = operator.port();
        long attemptsBefore = l.attempts();
        operator.stop();
        // the link notices and keeps trying: two failed attempts later, nothing on the node was touched
        await().atMost(Duration.ofSeconds(30)).until(() -> l.attempts() >= attemptsBefore + 2);
        assertThat(loader.streams).isEqualTo(streamsBefore);
        assertThat(loader.calls.size()).isEqualTo(callsBefore);

        // operator back: reconnect (within the backoff cap), same certificate, full config re-applied, nothing touched
        long back = System.currentTimeMillis();
        operator.start(port);
        int statuses = operator.statuses.size();
        await().atMost(Duration.ofSeconds(5)).until(() -> operator.statuses.size() > statuses);
        long took = System.currentTimeMillis() - back;
        assertThat(took).isLessThan(5000);
        assertThat(operator.hellos.get(operator.hellos.size() - 1).getAppliedVersion()).isEqualTo(2);
        assertThat(l.bootstraps()).isEqualTo(1);
        assertThat(l.connects()).isEqualTo(2);
        assertThat(loader.calls.subList(callsBefore, loader.calls.size()))
                .as("version 2 has no failing item: re-applying it touches nothing").isEmpty();
        assertThat(loader.streams).isEqualTo(streamsBefore);
    }

    @Test
    void backoffGrowsAndIsCappedWhileTheOperatorRefuses() throws Exception {
        // node-b has no valid token: bootstrap is refused on every attempt
        OperatorLink l = link("node-b", "wrong", List.of(ca.cert), null, 400);
        await().atMost(Duration.ofSeconds(60)).until(() -> operator.bootstrapRefusalNanos.size() >= 8);
        assertThat(l.connects()).isZero();
        assertThat(l.lastError()).contains("UNAUTHENTICATED");
        assertThat(operator.refusals).allMatch(r -> r.equals("bootstrap node-b"));
        // delays 25-50, 50-100, 100-200, 200-400, then 200-400 each: never a tight loop, whatever the machine's
        // speed (a slower machine only lengthens the gaps; the cap is Backoff's, checked in backoffBounds)
        List<Long> at = operator.bootstrapRefusalNanos;
        long[] floorsMs = {25, 50, 100, 200, 200, 200, 200};
        for (int i = 0; i < floorsMs.length; i++) {
            assertThat((at.get(i + 1) - at.get(i)) / 1_000_000).as("gap before attempt %d", i + 2)
                    .isGreaterThanOrEqualTo(floorsMs[i]);
        }
    }

    @Test
    void certificatesAreRefusedFromAWrongCaAndForAnotherNode() throws Exception {
        // the agent does not trust an operator whose certificate chains to another CA
        TestCa other = new TestCa("other-ca");
        operator.config(TestConfigs.config(1));
        OperatorLink wrongCa = link("node-a", "token-a", List.of(other.cert), null, 200);
        // node A's (valid) certificate used by an agent that claims to be node B
        operator.config(TestConfigs.config(1).toBuilder().setNodeName("node-b").build());
        OperatorLink pretender = link("node-b", "unused", List.of(ca.cert), ca.node("node-a"), 200);
        // each has been refused a few times over (a refusal is an attempt that ended, its error recorded)
        await().atMost(Duration.ofSeconds(60)).until(() -> wrongCa.attempts() >= 3 && pretender.attempts() >= 3
                && operator.refusals.contains("connect node-a as node-b"));
        assertThat(wrongCa.connects()).isZero();
        assertThat(wrongCa.bootstraps()).isZero();
        assertThat(wrongCa.lastError()).containsIgnoringCase("UNAVAILABLE");
        assertThat(pretender.connects()).isZero();
        assertThat(pretender.lastError()).contains("PERMISSION_DENIED");
        assertThat(operator.refusals).contains("connect node-a as node-b");
        assertThat(operator.statuses).isEmpty();
        assertThat(loader.calls).isEmpty();
        // and an agent whose client certificate comes from another CA is not let in at all
        OperatorLink foreign = link("node-a", "unused", List.of(ca.cert), other.node("node-a"), 200);
        await().atMost(Duration.ofSeconds(60)).until(() -> foreign.attempts() >= 3);
        assertThat(foreign.connects()).isZero();
        assertThat(foreign.lastError()).as("refused, with a reason").isNotEmpty();
        assertThat(operator.hellos).isEmpty();
    }
}
