// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.edgerep.agent.FakeLoader;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.state.StateWiring;
import io.edgerep.proto.v1.Datapath;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.grpc.ManagedChannel;

/** Desired-versus-actual reconciliation against an in-process loader. */
class NodeReconcilerTest {
    FakeLoader loader;
    ManagedChannel ch;
    NodeReconciler r;

    @BeforeEach
    void setUp() throws Exception {
        loader = new FakeLoader();
        loader.failInterfaces.add("eth9");
        loader.noXdpInterfaces.add("eth1");
        ch = LoaderChannels.open(loader.target());
        r = new NodeReconciler(ch, TestConfigs.pods(), StateWiring.NONE, Path.of("/proc"));
    }

    @AfterEach
    void tearDown() throws Exception {
        ch.shutdownNow();
        loader.close();
    }

    static Map<String, ItemResult> byKey(NodeStatus s) {
        return s.getItemsList().stream().collect(Collectors.toMap(ItemResult::getKey, Function.identity()));
    }

    @Test
    void appliesWhatItCanReportsEachFailureAndMakesNoCallsTheSecondTime() {
        NodeStatus s = r.apply(TestConfigs.config(3));
        assertThat(s.getAppliedVersion()).isEqualTo(3);
        Map<String, ItemResult> items = byKey(s);
        assertThat(items.get("video/cameras").getOk()).isTrue();
        assertThat(items.get("video/cameras/detector/d-0").getOk()).isTrue();
        assertThat(items.get("video/cameras/counter/c-0").getOk()).isTrue();
        assertThat(items.get("video/cameras/remote/r-0").getOk()).isTrue();
        assertThat(items.get("video/cameras/ghost/g-0")).satisfies(i -> {
            assertThat(i.getOk()).isFalse();
            assertThat(i.getReason()).isEqualTo("PodNotResolved");
        });
        assertThat(items.get("video/broken")).satisfies(i -> {
            assertThat(i.getOk()).isFalse();
            assertThat(i.getReason()).isEqualTo("ReplicatorFailed");
            assertThat(i.getMessage()).contains("eth9");
        });
        assertThat(items.get("video/fast")).satisfies(i -> {
            assertThat(i.getOk()).isTrue();
            assertThat(i.getDegraded()).isTrue();
            assertThat(i.getReason()).isEqualTo("XdpFellBackToTc");
        });
        assertThat(items.get("shop/web").getOk()).isTrue();
        assertThat(items.get("shop/missing").getOk()).isFalse();

        // the kernel side holds what was asked
        assertThat(loader.replicators).containsOnlyKeys("eth0", "eth1");
        assertThat(loader.replicators.get("eth1").getDatapath()).isEqualTo(Datapath.DATAPATH_TC);
        var cameras = loader.streams
                .get(StableIds.assign(java.util.List.of("video/cameras", "video/broken", "video/fast"))
                        .get("video/cameras"));
        assertThat(cameras.getConsumersList()).extracting(c -> c.getName()).containsExactly("detector/d-0",
                "counter/c-0",
                "remote/r-0");
        assertThat(cameras.getConsumers(0).getDstMac()).isEqualTo("02:00:00:00:00:11");
        assertThat(cameras.getConsumers(0).getEgressInterface()).isEqualTo("veth-det");
        assertThat(cameras.getConsumers(2).getDstMac()).isEmpty(); // remote: FIB lookup
        assertThat(cameras.getConsumers(2).getEgressInterface()).isEqualTo("eth0");
        assertThat(loader.traces).hasSize(1);
        var trace = loader.traces.values().iterator().next();
        assertThat(trace.getCgroupIdsList()).containsExactly(4711L);
        assertThat(trace.getRoot()).isEqualTo("/proc/99/root");
        assertThat(trace.getPrefixesList()).containsExactly("/data");

        int calls = loader.calls.size();
        long mutating = r.mutatingCalls();
        NodeStatus again = r.apply(TestConfigs.config(3));
        assertThat(byKey(again)).isEqualTo(items);
        // only the failing replicator is retried; nothing that is right is touched
        assertThat(loader.calls.subList(calls, loader.calls.size()))
                .containsExactly("EnsureReplicator eth9 DATAPATH_TC");
        assertThat(r.mutatingCalls() - mutating).isEqualTo(1);
    }

    @Test
    void teardownEmptiesTheLoaderAndNothingProgramsItAgain() {
        r.apply(TestConfigs.config(3));
        assertThat(loader.traces).hasSize(1);
        String trace = "trace " + loader.traces.keySet().iterator().next();
        var result = r.teardown("helm uninstall");
        assertThat(result.getOk()).isTrue();
        assertThat(result.getRemovedList()).contains("replicator eth0", "replicator eth1", trace);
        assertThat(loader.replicators).isEmpty();
        assertThat(loader.streams).isEmpty();
        assertThat(loader.traces).isEmpty();

        // neither a new config, nor the last one applied again (a reconnected loader, the retry) programs the node
        int calls = loader.calls.size();
        assertThat(r.apply(TestConfigs.config(4)).getItemsList()).isEmpty();
        assertThat(r.reapply()).isNull();
        assertThat(loader.calls.subList(calls, loader.calls.size())).isEmpty();
    }

    @Test
    void aLostLoaderLeavesStreamsAppliedButDegradedAndFailsOrigins() {
        assertThat(r.loaderLost("gone")).isNull(); // nothing applied yet: nothing to vouch for
        Map<String, ItemResult> before = byKey(r.apply(TestConfigs.config(3)));
        NodeStatus lost = r.loaderLost("UNAVAILABLE: connection refused");
        assertThat(lost.getAppliedVersion()).isEqualTo(3);
        Map<String, ItemResult> items = byKey(lost);
        assertThat(items).containsOnlyKeys(before.keySet());
        assertThat(items.get("video/cameras")).satisfies(i -> {
            assertThat(i.getOk()).isTrue();
            assertThat(i.getDegraded()).isTrue();
            assertThat(i.getReason()).isEqualTo("LoaderUnavailable");
            assertThat(i.getMessage()).contains("connection refused").contains("forwards");
        });
        assertThat(items.get("video/cameras/detector/d-0").getDegraded()).isTrue();
        // what had failed stays failed with its own reason
        assertThat(items.get("video/broken")).isEqualTo(before.get("video/broken"));
        assertThat(items.get("shop/web")).satisfies(i -> {
            assertThat(i.getOk()).isFalse();
            assertThat(i.getReason()).isEqualTo("LoaderUnavailable");
            assertThat(i.getMessage()).contains("not captured");
        });
        // back: the next apply reports the node as it is again
        assertThat(byKey(r.reapply())).isEqualTo(before);
    }

    @Test
    void removesWhatIsNoLongerWantedAndChangesOnlyWhatDiffers() {
        r.apply(TestConfigs.config(1));
        int calls = loader.calls.size();
        NodeConfig cfg = TestConfigs.config(2).toBuilder().removeStreams(2).removeStateOrigins(0).build();
        var cameras = cfg.getStreams(0).toBuilder().setPort(5005).build();
        cfg = cfg.toBuilder().setStreams(0, cameras).build();
        NodeStatus s = r.apply(cfg);
        assertThat(s.getAppliedVersion()).isEqualTo(2);
        assertThat(loader.calls.subList(calls, loader.calls.size())).containsExactlyInAnyOrder(
                "EnsureReplicator eth9 DATAPATH_TC", "SetStream " + StableIds.assign(java.util.List.of("video/cameras",
                        "video/broken")).get("video/cameras") + " 5005",
                "RemoveStream " + StableIds.assign(java.util.List.of("video/cameras", "video/broken", "video/fast"))
                        .get("video/fast"),
                "RemoveReplicator eth1",
                "RemoveTrace " + StableIds.assign(java.util.List.of("shop/web", "shop/missing"))
                        .get("shop/web"));
        assertThat(loader.replicators).containsOnlyKeys("eth0");
        assertThat(loader.traces).isEmpty();
    }

    @Test
    void anOriginHearsThatCaptureIsOnOnlyOnceTheLoaderHoldsItsTraceAndAgainAfterALoaderRestart() {
        java.util.List<String> said = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        StateWiring wiring = new StateWiring() {
            @Override
            public void origin(io.edgerep.proto.v1.StateOriginConfig cfg, int id, Path root) {
                said.add("origin " + cfg.getKey() + " traced=" + loader.traces.containsKey(id));
            }

            @Override
            public void traced(String key) {
                said.add("traced " + key + " traces=" + loader.traces.size());
            }

            @Override
            public void replica(io.edgerep.proto.v1.StateReplicaConfig cfg, Path root) {
            }

            @Override
            public void retain(java.util.Set<String> originKeys,
                    java.util.Set<io.edgerep.agent.state.ReplicaId> replicas) {
            }
        };
        NodeReconciler rec = new NodeReconciler(ch, TestConfigs.pods(), wiring, Path.of("/proc"));
        assertThat(rec.reapply()).isNull();
        rec.apply(TestConfigs.config(1));
        assertThat(said).containsExactly("origin shop/web traced=false", "traced shop/web traces=1");
        said.clear();
        loader.traces.clear(); // a restarted loader knows no trace
        rec.reapply();
        assertThat(said).containsExactly("origin shop/web traced=false", "traced shop/web traces=1");
        assertThat(loader.traces).hasSize(1);
    }

    @Test
    void stableIdsDoNotDependOnOrderAndResolveCollisions() {
        var a = StableIds.assign(java.util.List.of("x/a", "x/b", "x/c"));
        var b = StableIds.assign(java.util.List.of("x/c", "x/a", "x/b"));
        assertThat(a).isEqualTo(b);
        assertThat(a.values()).doesNotHaveDuplicates().allSatisfy(id -> assertThat(id).isBetween(1, 65535));
    }

    @Test
    void aLoaderWarningDegradesItsConsumerForAsLongAsItIsProgrammedSo() {
        loader.warnConsumers.put("counter/c-0", "consumer counter/c-0: its egress veth-cnt has MTU 1000, below 1500");
        Map<String, ItemResult> items = byKey(r.apply(TestConfigs.config(3)));
        assertThat(items.get("video/cameras/counter/c-0")).satisfies(i -> {
            assertThat(i.getOk()).isTrue();
            assertThat(i.getDegraded()).isTrue();
            assertThat(i.getReason()).isEqualTo("EgressMtuTooSmall");
            assertThat(i.getMessage()).contains("MTU 1000");
        });
        assertThat(items.get("video/cameras/detector/d-0").getDegraded()).isFalse();

        // applied again without a SetStream call: the warning still holds
        int calls = loader.calls.size();
        assertThat(byKey(r.apply(TestConfigs.config(3))).get("video/cameras/counter/c-0").getDegraded()).isTrue();
        assertThat(loader.calls.subList(calls, loader.calls.size())).noneMatch(c -> c.startsWith("SetStream"));

        // programmed again (another port) without the warning: it is gone
        loader.warnConsumers.clear();
        var moved = TestConfigs.config(4).toBuilder();
        moved.setStreams(0, moved.getStreams(0).toBuilder().setPort(5010));
        assertThat(byKey(r.apply(moved.build())).get("video/cameras/counter/c-0")).satisfies(i -> {
            assertThat(i.getOk()).isTrue();
            assertThat(i.getDegraded()).isFalse();
        });
    }
}
