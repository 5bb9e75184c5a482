// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.operator.Fixtures.consumer;
import static io.edgerep.operator.Fixtures.pod;
import static io.edgerep.operator.Fixtures.sel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.plan.NodeFacts;
import io.edgerep.operator.plan.Planner;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.plan.Verdict;
import io.edgerep.operator.qoc.QocProfile;
import io.edgerep.operator.registry.NodeView;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.wire.ProtoTime;
import io.fabric8.kubernetes.api.model.Condition;

class StatusAggregatorTest {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    static final Instant T1 = Instant.parse("2026-01-01T00:05:00Z");

    final EdgeReplica er = Fixtures.stream("v", "cam", 5004, "n1", consumer("det", "det", 6000, null));
    final ResourcePlan plan = Planner.plan(er, List.of(pod("v", "d1", "n1", "10.0.0.1", Map.of("app", "det")),
            pod("v", "d2", "n2", "10.0.0.2", Map.of("app", "det"))), NodeFacts.NONE, QocProfile.DEFAULT);

    static NodeView applied(String node, long v, List<ItemResult> results, List<ConsumerCounters> counters) {
        return new NodeView(node, true, v, v, results, counters, List.of(), null);
    }

    static String status(EdgeReplicaStatus s, String type) {
        return Conditions.find(s.getConditions(), type).map(c -> c.getStatus() + "/" + c.getReason()).orElse("-");
    }

    @Test
    void table() {
        record Row(String name, Map<String, NodeView> nodes, String programmed, String degraded, String ready) {
        }
        var rows = List.of(
                new Row("applied everywhere", Map.of("n1", applied("n1", 3, List.of(), List.of())), "True/Programmed",
                        "False/AsExpected", "True/Ready"),
                new Row("agent missing", Map.of(), "False/AgentUnavailable", "True/NodeUnavailable",
                        "False/AgentUnavailable"),
                new Row("older version applied", Map.of("n1", new NodeView("n1", true, 2, 3, List.of(), List.of(),
                        List.of(), null)), "False/Applying", "False/AsExpected", "False/Applying"),
                new Row("item failed", Map.of("n1", applied("n1", 3, List.of(ItemResult.newBuilder().setKey("v/cam")
                        .setOk(false).setReason("AttachFailed").setMessage("no eth0").build()), List.of())),
                        "False/ApplyFailed", "False/AsExpected", "False/ApplyFailed"),
                new Row("xdp fell back", Map.of("n1", applied("n1", 3, List.of(ItemResult.newBuilder().setKey("v/cam")
                        .setOk(true).setDegraded(true).setReason("XdpFellBackToTc").build()), List.of())),
                        "True/Programmed", "True/XdpFellBackToTc", "True/Ready"));
        for (Row r : rows) {
            EdgeReplicaStatus s = StatusAggregator.aggregate(er, Verdict.ACCEPTED, plan, r.nodes(), T0);
            assertThat(status(s, "Accepted")).as(r.name()).isEqualTo("True/Accepted");
            assertThat(status(s, "Programmed")).as(r.name()).isEqualTo(r.programmed());
            assertThat(status(s, "Degraded")).as(r.name()).isEqualTo(r.degraded());
            assertThat(status(s, "Ready")).as(r.name()).isEqualTo(r.ready());
            assertThat(status(s, "InSync")).as(r.name()).isEqualTo("True/NoStateReplication");
            assertThat(s.getObservedGeneration()).isEqualTo(1L);
            assertThat(s.getConditions()).allMatch(c -> c.getObservedGeneration() == 1L);
        }
    }

    @Test
    void rejectedSpecIsNotReady() {
        var s = StatusAggregator.aggregate(er, Verdict.rejected("UnknownQocProfile", "no such profile"), plan,
                Map.of(), T0);
        assertThat(status(s, "Accepted")).isEqualTo("False/UnknownQocProfile");
        assertThat(status(s, "Ready")).isEqualTo("False/NotAccepted");
        assertThat(Conditions.find(s.getConditions(), "Ready").get().getMessage()).isEqualTo("no such profile");
    }

    @Test
    void transitionTimeKeptUnlessStatusChanges() {
        var first = StatusAggregator.aggregate(er, Verdict.ACCEPTED, plan, Map.of(), T0);
        er.setStatus(first);
        // same statuses, different reason text later: time stays
        var second = StatusAggregator.aggregate(er, Verdict.ACCEPTED, plan,
                Map.of("n1", new NodeView("n1", true, 2, 3, List.of(), List.of(), List.of(), null)), T1);
        Condition p1 = Conditions.find(first.getConditions(), "Programmed").get();
        Condition p2 = Conditions.find(second.getConditions(), "Programmed").get();
        assertThat(p2.getReason()).isEqualTo("Applying");
        assertThat(p2.getLastTransitionTime()).isEqualTo(p1.getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
        er.setStatus(second);
        var third = StatusAggregator.aggregate(er, Verdict.ACCEPTED, plan,
                Map.of("n1", applied("n1", 3, List.of(), List.of())), T1);
        assertThat(Conditions.find(third.getConditions(), "Programmed").get().getLastTransitionTime())
                .isEqualTo("2026-01-01T00:05:00Z");
        assertThat(Conditions.find(third.getConditions(), "Accepted").get().getLastTransitionTime())
                .isEqualTo("2026-01-01T00:00:00Z");
    }

    @Test
    void countersSumPerConsumer() {
        var cc = List.of(
                ConsumerCounters.newBuilder().setStreamKey("v/cam").setConsumerKey("det/d1").setDeliveredPackets(10)
                        .setDroppedDifferential(2).setDroppedDisposable(1).setDroppedReference(1).setBitrateBps(1000)
                        .build(),
                ConsumerCounters.newBuilder().setStreamKey("v/cam").setConsumerKey("det/d2").setDeliveredPackets(5)
                        .setBitrateBps(500).build());
        var s = StatusAggregator.aggregate(er, Verdict.ACCEPTED, plan, Map.of("n1", applied("n1", 3, List.of(), cc)),
                T0);
        var c = s.getStream().getConsumers().get(0);
        assertThat(c.getName()).isEqualTo("det");
        assertThat(c.getPods()).containsExactly("d1", "d2");
        assertThat(c.getDeliveredPackets()).isEqualTo(15);
        assertThat(c.getDroppedDifferential()).isEqualTo(3);
        assertThat(c.getDroppedReference()).isEqualTo(1);
        assertThat(c.getBitrate()).isEqualTo(1500);
        assertThat(s.getConsumerCount()).isEqualTo(2);
        assertThat(s.getStream().getEffectiveQuality()).isEqualTo(1.0);
    }

    @Test
    void inSyncFollowsReplicaLag() {
        var st = Fixtures.state("v", "web", sel("role", "origin"), sel("role", "edge"), "/data");
        st.getSpec().getState().setMaxLag("500ms");
        var pods = List.of(pod("v", "o", "n1", "10.0.0.1", Map.of("role", "origin")),
                pod("v", "e", "n2", "10.0.0.2", Map.of("role", "edge")));
        var p = Planner.plan(st, pods, new NodeFacts(Map.of("n2", "x:1")), null);
        var fast = ReplicaProgress.newBuilder().setKey("v/web").setPod("e").setAppliedSeq(9)
                .setLag(ProtoTime.duration(20))
                .setConfirmed(true).build();
        var slow = fast.toBuilder().setLag(ProtoTime.duration(900)).build();
        var ok = StatusAggregator.aggregate(st, Verdict.ACCEPTED, p,
                Map.of("n1", applied("n1", 1, List.of(), List.of()),
                        "n2", new NodeView("n2", true, 1, 1, List.of(), List.of(), List.of(fast), null)),
                T0);
        assertThat(status(ok, "InSync")).isEqualTo("True/InSync");
        assertThat(status(ok, "Ready")).isEqualTo("True/Ready");
        assertThat(ok.getState().getReplicas().get(0).getAppliedSeq()).isEqualTo(9);
        var behind = StatusAggregator.aggregate(st, Verdict.ACCEPTED, p, Map.of("n1",
                applied("n1", 1, List.of(), List.of()),
                "n2", new NodeView("n2", true, 1, 1, List.of(), List.of(), List.of(slow), null)), T0);
        assertThat(status(behind, "InSync")).isEqualTo("False/ReplicaLagging");
        assertThat(status(behind, "Ready")).isEqualTo("False/ReplicaLagging");
        assertThat(behind.getReplicaLag()).isEqualTo("900ms");
    }

    @Test
    void conditionsAreReportedInTheirOrderWhateverOrderTheyAreSetIn() {
        var s = new StatusAggregator(er, T0).condition("Degraded", ConditionState.fails("AsExpected", "d"))
                .condition("Ready", ConditionState.holds("Ready", "r"))
                .condition("InSync", ConditionState.holds("InSync", "i"))
                .condition("Programmed", ConditionState.holds("Programmed", "p"))
                .condition("Accepted", ConditionState.holds("Accepted", "a"))
                .apply(st -> st.setConsumerCount(7)).build();
        assertThat(s.getConditions()).extracting(Condition::getType).containsExactly("Accepted", "Programmed",
                "InSync", "Ready", "Degraded");
        assertThat(s.getConsumerCount()).isEqualTo(7);
        assertThat(s.getObservedGeneration()).isEqualTo(1L);
    }

    @Test
    void aStatusLackingAConditionOrNamingAnUnknownOneIsRefused() {
        var partial = new StatusAggregator(er, T0).condition("Accepted", ConditionState.holds("Accepted", "a"));
        assertThatThrownBy(partial::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("Programmed");
        assertThatThrownBy(() -> partial.condition("Healthy", ConditionState.holds("Healthy", "h")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theHalvesAreReportedOnlyForTheSpecsHalves() {
        var s = StatusAggregator.aggregate(er, Verdict.ACCEPTED, plan, Map.of(), T0);
        assertThat(s.getStream()).isNotNull();
        assertThat(s.getState()).isNull();
        assertThat(s.getReplicaCount()).isNull();
        var rejected = StatusAggregator.aggregate(er, Verdict.rejected("X", "x"), plan, Map.of(), T0);
        assertThat(rejected.getStream()).as("a rejected spec reports conditions only").isNull();
        assertThat(rejected.getConsumerCount()).isNull();
    }
}
