// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.ConfinedRootTest.op;
import static io.edgerep.agent.state.ConfinedRootTest.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.proto.v1.AgentEvent;
import io.edgerep.proto.v1.PodRef;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.wire.ProtoTime;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;

/** Replica items are kept when unchanged, replaced when changed, removed when gone; refusals become one event. */
class StateReplicationManagerTest {
    @TempDir
    Path tmp;

    @Test
    void replicasFollowTheConfigAndRefusalsAreReportedOnce() throws Exception {
        ManagedChannel unused = NettyChannelBuilder.forTarget("127.0.0.1:1").usePlaintext().build();
        ReplicationService svc = new ReplicationService();
        try (StateReplicationManager m = new StateReplicationManager(svc, new StateEventPump(unused),
                tmp.resolve("state"),
                () -> null, 1 << 20, 1 << 20)) {
            StateReplicaConfig cfg = StateReplicaConfig.newBuilder().setKey("shop/web").addPaths("/data")
                    .setOriginNode("node-a").setPod(PodRef.newBuilder().setName("web-1")).build();
            m.replica(cfg, tmp.resolve("root"));
            StateApplier first = svc.replicas().values().iterator().next().applier();
            m.replica(cfg, tmp.resolve("root"));
            assertThat(svc.replicas().values().iterator().next().applier()).isSameAs(first); // unchanged: untouched
            m.replica(cfg.toBuilder().setOriginNode("node-z").build(), tmp.resolve("root"));
            StateApplier second = svc.replicas().values().iterator().next().applier();
            assertThat(second).isNotSameAs(first);
            assertThat(svc.replicas().values().iterator().next().originNode()).isEqualTo("node-z");

            Push.resync(1, 0)
                    .addOps(op(1, write("/etc/passwd", "x"))).addOps(op(2, write("/data/../etc/x", "x"))).to(second);
            assertThat(m.drainEvents()).extracting(AgentEvent::getReason, AgentEvent::getWarning)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("OpsRefused", true));
            assertThat(m.drainEvents()).isEmpty();
            assertThat(m.replicaProgress()).singleElement().satisfies(p -> {
                assertThat(p.getRefusedOps()).isEqualTo(2);
                assertThat(p.getAppliedSeq()).as("no progress before the origin confirmed the content").isZero();
                assertThat(ProtoTime.millis(p.getLag())).isPositive();
            });
            second.apply(Push.confirm(1, 2));
            assertThat(m.replicaProgress()).singleElement().satisfies(p -> {
                assertThat(p.getAppliedSeq()).isEqualTo(2);
                assertThat(ProtoTime.millis(p.getLag())).isZero();
            });

            m.retain(Set.of(), Set.of(new ReplicaId("other/key", "web-1")));
            assertThat(svc.replicas()).isEmpty();
        } finally {
            unused.shutdownNow();
        }
    }
}
