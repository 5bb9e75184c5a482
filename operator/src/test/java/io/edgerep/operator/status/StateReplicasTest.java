// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.operator.Fixtures.sel;
import static io.edgerep.operator.status.StatusFixtures.disconnected;
import static io.edgerep.operator.status.StatusFixtures.statePlan;
import static io.edgerep.operator.status.StatusFixtures.withOrigin;
import static io.edgerep.operator.status.StatusFixtures.withReplicas;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.operator.Fixtures;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.wire.ProtoTime;

class StateReplicasTest {

    static StateSpec state(String maxLag) {
        var s = Fixtures.state("v", "x", sel("role", "o"), sel("role", "e"), "/d").getSpec().getState();
        s.setMaxLag(maxLag);
        return s;
    }

    static ReplicaProgress progress(String pod, long appliedSeq, long lagMs) {
        return ReplicaProgress.newBuilder().setKey("v/x").setPod(pod).setAppliedSeq(appliedSeq)
                .setLag(ProtoTime.duration(lagMs))
                .setResyncs(2).setConfirmed(true).build();
    }

    @Test
    void eachReplicaIsWithinBehindOrUnknown() {
        var plan = statePlan("o", "n1",
                Map.of("fast", "n2", "slow", "n2", "silent", "n2", "gone", "n3", "nowhere", "n4"));
        var r = StateReplicas.of(state("500ms"), plan, Map.of("n1", withOrigin("n1", 100),
                "n2", withReplicas("n2", progress("fast", 90, 20), progress("slow", 80, 900)),
                "n3", disconnected("n3")));
        assertThat(r.behind()).containsExactly("slow (900ms)");
        assertThat(r.unknown()).containsExactly("gone", "nowhere", "silent");
        assertThat(r.maxLagMs()).isEqualTo(900);
        assertThat(r.status().getOriginPod()).isEqualTo("o");
        assertThat(r.status().getLastSeq()).isEqualTo(100);
        assertThat(r.status().getReplicas()).extracting(rs -> rs.getPod() + "@" + rs.getNode() + " "
                + rs.getAppliedSeq() + " " + rs.getLagMillis() + " " + rs.getResyncs())
                .containsExactly("fast@n2 90 20 2", "gone@n3 null null null", "nowhere@n4 null null null",
                        "silent@n2 null null null", "slow@n2 80 900 2");

        var s = new EdgeReplicaStatus();
        r.writeTo(s);
        assertThat(s.getState()).isSameAs(r.status());
        assertThat(s.getReplicaCount()).isEqualTo(5);
        assertThat(s.getReplicaLag()).isEqualTo("900ms");
    }

    @Test
    void aReplicaThatAppliedEverythingTheOriginAssignedHasNoLag() {
        var plan = statePlan("o", "n1", Map.of("e", "n2"));
        var r = StateReplicas.of(state("500ms"), plan,
                Map.of("n1", withOrigin("n1", 8253), "n2", withReplicas("n2", progress("e", 8253, 1099))));
        assertThat(r.behind()).isEmpty();
        assertThat(r.status().getReplicas().get(0).getLagMillis()).isZero();

        var caughtUp = ReplicaProgress.newBuilder().setAppliedSeq(8253).setLag(ProtoTime.duration(1099)).build();
        var behind = ReplicaProgress.newBuilder().setAppliedSeq(8000).setLag(ProtoTime.duration(1099)).build();
        assertThat(StateReplicas.effectiveLagMs(caughtUp, 8253L)).isZero();
        assertThat(StateReplicas.effectiveLagMs(behind, 8253L)).isEqualTo(1099);
        assertThat(StateReplicas.effectiveLagMs(caughtUp, null)).as("origin not heard from yet").isEqualTo(1099);
    }

    @Test
    void withoutAnOriginViewTheLastSequenceIsUnknown() {
        var r = StateReplicas.of(state("1s"), statePlan(null, null, Map.of()), Map.of());
        assertThat(r.status().getLastSeq()).isNull();
        assertThat(r.status().getOriginPod()).isNull();
        assertThat(r.maxLagMs()).isZero();
    }

    @Test
    void replicasNotConfirmedAndReplicasTheOriginFoundDriftingAreNamed() {
        var plan = statePlan("o", "n1", Map.of("a", "n2", "b", "n2", "c", "n2"));
        var origin = new io.edgerep.operator.registry.NodeView("n1", true, 3, 3, List.of(), List.of(), List.of(),
                io.edgerep.proto.v1.OriginProgress.newBuilder().setKey("v/x").setLastSeq(10)
                        .addDrift(io.edgerep.proto.v1.ReplicaDrift.newBuilder().setPod("b").setDriftedPaths(3)
                                .setRepairing(true))
                        .addDrift(io.edgerep.proto.v1.ReplicaDrift.newBuilder().setPod("c").setDriftedPaths(1))
                        .build());
        var r = StateReplicas.of(state("1s"), plan, Map.of("n1", origin, "n2", withReplicas("n2",
                progress("a", 10, 0).toBuilder().setConfirmed(false).build(), progress("b", 10, 0),
                progress("c", 10, 0))));
        assertThat(r.unconfirmed()).containsExactly("a");
        assertThat(r.drifting()).containsExactly("b");
        assertThat(r.status().getReplicas()).extracting(rs -> rs.getPod() + " " + rs.getConfirmed() + " "
                + rs.getDriftedPaths()).containsExactly("a false null", "b true 3", "c true 1");
    }
}
