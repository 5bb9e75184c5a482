// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.edgerep.agent.FakeLoader;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.pods.RouteResolver;
import io.edgerep.agent.state.StateWiring;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.ReplicatorConsumer;
import io.edgerep.proto.v1.ReplicatorStream;
import io.grpc.ManagedChannel;

/** A consumer whose way out of the node changes is programmed again; nothing is called while nothing changed. */
class RouteWatchTest {
    static final String DETECTOR = "10.0.0.11";

    FakeLoader loader;
    ManagedChannel ch;
    NodeReconciler r;
    RouteWatch watch;
    final AtomicLong now = new AtomicLong(1_000_000);
    /** Routes the test moves; anything else as {@link TestConfigs#pods()} has it. */
    final Map<String, Optional<RouteResolver.Egress>> moved = new ConcurrentHashMap<>();

    @BeforeEach
    void setUp() throws Exception {
        loader = new FakeLoader();
        ch = LoaderChannels.open(loader.target());
        PodFacts base = TestConfigs.pods();
        PodFacts pods = new PodFacts() {
            @Override
            public Optional<RouteResolver.Egress> egress(String ip) throws IOException {
                return moved.containsKey(ip) ? moved.get(ip) : base.egress(ip);
            }

            @Override
            public Optional<CgroupResolver.Container> container(String id) throws IOException {
                return base.container(id);
            }
        };
        r = new NodeReconciler(ch, pods, StateWiring.NONE, Path.of("/proc"));
        watch = new RouteWatch(r, now::get);
    }

    @AfterEach
    void tearDown() throws Exception {
        ch.shutdownNow();
        loader.close();
    }

    private ReplicatorStream cameras() {
        return loader.streams.values().stream().filter(s -> s.getPort() == 5004).findFirst().orElseThrow();
    }

    private ReplicatorConsumer detectorOf(ReplicatorStream s) {
        return s.getConsumersList().stream().filter(c -> c.getName().equals("detector/d-0")).findFirst()
                .orElseThrow();
    }

    private static Map<String, Boolean> okByKey(NodeStatus s) {
        return NodeReconcilerTest.byKey(s).entrySet().stream()
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue().getOk()));
    }

    @Test
    void aConsumerThatMovesIsProgrammedAgainAndOneThatLosesItsWayIsReported() {
        NodeStatus first = r.apply(TestConfigs.config(3));
        assertThat(detectorOf(cameras()).getEgressInterface()).isEqualTo("veth-det");
        int calls = loader.calls.size();

        // nothing moved: no loader call at all, however often it looks
        for (int i = 0; i < 3; i++) {
            assertThat(watch.tick(true)).isNull();
            now.addAndGet(RouteWatch.INTERVAL_MS);
        }
        assertThat(loader.calls.subList(calls, loader.calls.size())).isEmpty();
        assertThat(r.routeChanges()).isZero();

        // the pod's sandbox was recreated: another host-side veth and MAC for the same IP
        moved.put(DETECTOR, Optional.of(new RouteResolver.Egress("veth-det2", "02:00:00:00:00:21", "")));
        NodeStatus st = watch.tick(true);
        assertThat(st).as("still every item as before: nothing new for the operator").isNull();
        assertThat(detectorOf(cameras()).getEgressInterface()).isEqualTo("veth-det2");
        assertThat(detectorOf(cameras()).getDstMac()).isEqualTo("02:00:00:00:00:21");
        // both streams the detector consumes follow it; the other consumers are left as they were
        assertThat(loader.streams.values()).allSatisfy(s -> s.getConsumersList().stream()
                .filter(c -> c.getName().equals("detector/d-0"))
                .forEach(c -> assertThat(c.getEgressInterface()).isEqualTo("veth-det2")));
        assertThat(cameras().getConsumersList()).extracting(ReplicatorConsumer::getEgressInterface)
                .containsExactly("veth-det2", "veth-cnt", "eth0");
        assertThat(r.routeChanges()).isEqualTo(1);

        // not due yet: no look at the tables. Then its veth goes, and with it its route: what is left is the
        // default route, through a gateway, which is no way to a pod of this node
        moved.put(DETECTOR, Optional.of(new RouteResolver.Egress("eth0", "02:00:00:00:0f:01", "192.168.0.1")));
        assertThat(watch.tick(true)).isNull();
        assertThat(r.routeChanges()).isEqualTo(1);

        // the pod has no way any more: the operator hears that it failed, the others still hold
        now.addAndGet(RouteWatch.INTERVAL_MS);
        st = watch.tick(true);
        assertThat(st).isNotNull();
        assertThat(NodeReconcilerTest.byKey(st).get("video/cameras/detector/d-0")).satisfies(i -> {
            assertThat(i.getOk()).isFalse();
            assertThat(i.getReason()).isEqualTo("PodNotResolved");
        });
        Map<String, Boolean> before = okByKey(first);
        Map<String, Boolean> after = okByKey(st);
        before.keySet().stream().filter(k -> !k.contains("detector/d-0"))
                .forEach(k -> assertThat(after.get(k)).as(k).isEqualTo(before.get(k)));
        assertThat(cameras().getConsumersList()).extracting(ReplicatorConsumer::getName)
                .containsExactly("counter/c-0", "remote/r-0");
        assertThat(r.routeChanges()).isEqualTo(2);
    }

    @Test
    void notWhileTheLoaderIsGone() {
        r.apply(TestConfigs.config(3));
        moved.put(DETECTOR, Optional.of(new RouteResolver.Egress("veth-det2", "02:00:00:00:00:21", "")));
        int calls = loader.calls.size();
        assertThat(watch.tick(false)).isNull();
        assertThat(loader.calls.subList(calls, loader.calls.size())).isEmpty();
        assertThat(r.routeChanges()).isZero();
    }
}
