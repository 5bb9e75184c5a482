// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.DifferentialFirst;
import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.None;
import static io.edgerep.api.v1alpha1.QocSpec.DropPolicy.Uniform;
import static io.edgerep.operator.Fixtures.bitrate;
import static io.edgerep.operator.Fixtures.consumer;
import static io.edgerep.operator.Fixtures.hostIp;
import static io.edgerep.operator.Fixtures.pod;
import static io.edgerep.operator.Fixtures.rate;
import static io.edgerep.operator.Fixtures.sel;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.qoc.QocProfile;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.proto.v1.StreamConfig;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;

/** The planner as a table: spec × pods × node facts → each node's items, rendered as lines. */
class PlannerTest {

    static final String NS = "video";
    static final NodeFacts FACTS = new NodeFacts(Map.of("n1", "10.0.0.1:7443", "n2", "10.0.0.2:7443"));

    static Pod p(String name, String node, String ip, String... labels) {
        Map<String, String> l = new java.util.HashMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            l.put(labels[i], labels[i + 1]);
        }
        return pod(NS, name, node, ip, l);
    }

    static Pod notReady(Pod pod) {
        return new PodBuilder(pod).editStatus().editCondition(0).withStatus("False").endCondition().endStatus().build();
    }

    static Pod deleting(Pod pod) {
        return new PodBuilder(pod).editMetadata().withDeletionTimestamp("2026-01-01T00:00:00Z").endMetadata().build();
    }

    static Stream<Arguments> table() {
        var det = consumer("det", "det", 6000, rate(0.95, DifferentialFirst));
        var cnt = consumer("cnt", "cnt", 6001, bitrate("2M", Uniform));
        var all = consumer("all", "all", 6002, null);
        var uni = consumer("uni", "uni", 6003, rate(0.84, Uniform));
        return Stream.of(
                Arguments.of("pinned ingress copies to local and remote consumers",
                        Fixtures.stream(NS, "cam", 5004, "n1", det),
                        List.of(p("d1", "n1", "10.1.0.5", "app", "det"), p("d2", "n2", "10.2.0.5", "app", "det")),
                        List.of("n1 stream video/cam eth0 17:5004 MPEGTS TC",
                                "n1   det/d1 10.1.0.5:6000 DIFFERENTIAL_FIRST rate=0 uni=0",
                                "n1   det/d2 10.2.0.5:6000 via " + hostIp("n2")
                                        + " DIFFERENTIAL_FIRST rate=0 uni=0")),
                Arguments.of("unpinned ingress: every consumer node copies to its own consumers",
                        Fixtures.stream(NS, "cam", 5004, null, det, cnt),
                        List.of(p("d1", "n1", "10.1.0.5", "app", "det"), p("c2", "n2", "10.2.0.6", "app", "cnt")),
                        List.of("n1 stream video/cam eth0 17:5004 MPEGTS TC",
                                "n1   det/d1 10.1.0.5:6000 DIFFERENTIAL_FIRST rate=0 uni=0",
                                "n2 stream video/cam eth0 17:5004 MPEGTS TC",
                                "n2   cnt/c2 10.2.0.6:6001 UNIFORM rate=250000 uni=0")),
                Arguments.of("not ready, deleting and unscheduled pods are left out",
                        Fixtures.stream(NS, "cam", 5004, "n1", det),
                        List.of(notReady(p("d1", "n1", "10.1.0.5", "app", "det")),
                                deleting(p("d2", "n1", "10.1.0.6", "app", "det")),
                                p("d3", "n1", "10.1.0.7", "app", "det")),
                        List.of("n1 stream video/cam eth0 17:5004 MPEGTS TC",
                                "n1   det/d3 10.1.0.7:6000 DIFFERENTIAL_FIRST rate=0 uni=0")),
                Arguments.of("no QoC means deliver everything; uniform with a rate gets a uniform drop share",
                        Fixtures.stream(NS, "cam", 5004, "n1", all, uni),
                        List.of(p("a1", "n1", "10.1.0.8", "app", "all"), p("u1", "n1", "10.1.0.9", "app", "uni")),
                        List.of("n1 stream video/cam eth0 17:5004 MPEGTS TC",
                                "n1   all/a1 10.1.0.8:6002 NONE rate=0 uni=0",
                                "n1   uni/u1 10.1.0.9:6003 UNIFORM rate=0 uni=10000")),
                Arguments.of("consumers sorted by pod name; other labels ignored",
                        Fixtures.stream(NS, "cam", 5004, "n1", det),
                        List.of(p("zz", "n1", "10.1.0.2", "app", "det"), p("aa", "n1", "10.1.0.3", "app", "det"),
                                p("xx", "n1", "10.1.0.4", "app", "other")),
                        List.of("n1 stream video/cam eth0 17:5004 MPEGTS TC",
                                "n1   det/aa 10.1.0.3:6000 DIFFERENTIAL_FIRST rate=0 uni=0",
                                "n1   det/zz 10.1.0.2:6000 DIFFERENTIAL_FIRST rate=0 uni=0")),
                Arguments.of("unpinned ingress without consumer pods plans nothing",
                        Fixtures.stream(NS, "cam", 5004, null, det), List.of(), List.of()),
                Arguments.of("state: origin node traces, replica nodes receive",
                        Fixtures.state(NS, "web", sel("role", "origin"), sel("role", "edge"), "/data"),
                        List.of(p("o", "n1", "10.1.0.1", "role", "origin"), p("e1", "n1", "10.1.0.2", "role", "edge"),
                                p("e2", "n2", "10.2.0.2", "role", "edge")),
                        List.of("n1 origin video/web o main [/data] -> e1@10.0.0.1:7443, e2@10.0.0.2:7443",
                                "n1 replica video/web e1 main [/data] from n1",
                                "n2 replica video/web e2 main [/data] from n1")),
                Arguments.of("state: replica on a node without an agent has no endpoint yet",
                        Fixtures.state(NS, "web", sel("role", "origin"), sel("role", "edge"), "/data", "/etc/app"),
                        List.of(p("o", "n1", "10.1.0.1", "role", "origin"), p("e3", "n3", "10.3.0.2", "role", "edge")),
                        List.of("n1 origin video/web o main [/data, /etc/app] -> e3@",
                                "n3 replica video/web e3 main [/data, /etc/app] from n1")),
                Arguments.of("state: no origin pod plans nothing",
                        Fixtures.state(NS, "web", sel("role", "origin"), sel("role", "edge"), "/data"),
                        List.of(p("e1", "n1", "10.1.0.2", "role", "edge")), List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void plans(String name, EdgeReplica er, List<Pod> pods, List<String> expected) {
        ResourcePlan plan = Planner.plan(er, pods, FACTS, QocProfile.DEFAULT);
        assertThat(render(plan)).containsExactlyElementsOf(expected);
        // pure: the same input plans the same output
        assertThat(Planner.plan(er, pods, FACTS, QocProfile.DEFAULT)).isEqualTo(plan);
    }

    @Test
    void waitingReasonsAndSummaries() {
        var er = Fixtures.stream(NS, "cam", 5004, "n1", consumer("det", "det", 6000, rate(0.99, DifferentialFirst)),
                consumer("cnt", "cnt", 6001, bitrate("1M", DifferentialFirst)),
                consumer("raw", "raw", 6002, rate(0.5, None)));
        var plan = Planner.plan(er, List.of(p("d1", "n1", "10.1.0.5", "app", "det")), FACTS, QocProfile.DEFAULT);
        assertThat(plan.waiting()).extracting(ResourcePlan.Problem::reason).containsExactly("NoConsumerPods",
                "NoConsumerPods");
        assertThat(plan.consumers()).containsEntry("det", List.of("d1")).containsEntry("cnt", List.of());
        // policy None receives everything, so the sensor must deliver full quality
        assertThat(plan.effectiveQuality()).isEqualTo(1.0);
        assertThat(plan.ingressNodes()).containsExactly("n1");
    }

    @Test
    void effectiveQualityIsTheHighestNeed() {
        var er = Fixtures.stream(NS, "cam", 5004, "n1", consumer("a", "a", 6000, rate(0.7, DifferentialFirst)),
                consumer("b", "b", 6000, rate(0.9, Uniform)), consumer("c", "c", 6000, bitrate("1M", Uniform)));
        assertThat(Planner.plan(er, List.of(), FACTS, QocProfile.DEFAULT).effectiveQuality()).isEqualTo(0.9);
    }

    @Test
    void generationIsCarriedOnEveryItem() {
        var er = Fixtures.stream(NS, "cam", 5004, "n1", consumer("det", "det", 6000, null));
        er.getMetadata().setGeneration(7L);
        var plan = Planner.plan(er, List.of(p("d1", "n1", "10.1.0.5", "app", "det")), FACTS, QocProfile.DEFAULT);
        assertThat(plan.nodes().get("n1").streams().get(0).getGeneration()).isEqualTo(7L);
        assertThat(plan.nodes().get("n1").streams().get(0).getConsumers(0).getPod().getContainerIdsMap())
                .containsEntry("main", "containerd://d1");
    }

    @Test
    void bothHalvesJoinOnASharedNode() {
        var er = Fixtures.stream(NS, "both", 5004, "n1", consumer("det", "det", 6000, null));
        er.getSpec().setState(Fixtures.state(NS, "both", sel("role", "origin"), sel("role", "edge"), "/data")
                .getSpec().getState());
        var plan = Planner.plan(er, List.of(p("d1", "n1", "10.1.0.5", "app", "det"),
                p("o", "n1", "10.1.0.1", "role", "origin")), FACTS, QocProfile.DEFAULT);
        NodeItems n1 = plan.nodes().get("n1");
        assertThat(n1.streams()).hasSize(1);
        assertThat(n1.origins()).hasSize(1);
        assertThat(plan.waiting()).extracting(ResourcePlan.Problem::reason).containsExactly("NoReplicaPods");
        assertThat(plan.originPod()).isEqualTo("o");
        assertThat(plan.consumerPodCount()).isEqualTo(1);
    }

    @Test
    void aRejectedResourcePlansNothing() {
        var none = ResourcePlan.none("v/x", 4);
        assertThat(none.nodes()).isEmpty();
        assertThat(none.generation()).isEqualTo(4);
        assertThat(none.consumerPodCount()).isZero();
        assertThat(none.waiting()).isEmpty();
    }

    static List<String> render(ResourcePlan plan) {
        List<String> out = new ArrayList<>();
        plan.nodes().forEach((node, items) -> {
            for (StreamConfig s : items.streams()) {
                out.add(node + " stream " + s.getKey() + " " + s.getInterface() + " " + s.getIpProtocol() + ":"
                        + s.getPort() + " " + s.getInspection().name().replace("INSPECTION_", "") + " "
                        + s.getDatapath().name().replace("DATAPATH_", ""));
                for (ConsumerConfig c : s.getConsumersList()) {
                    out.add(node + "   " + c.getKey() + " " + c.getPod().getIp() + ":" + c.getPort()
                            + (c.getViaNodeIp().isEmpty() ? "" : " via " + c.getViaNodeIp()) + " "
                            + c.getPolicy().getKind().name().replace("POLICY_KIND_", "") + " rate="
                            + c.getPolicy().getRateBytesPerSec() + " uni=" + c.getPolicy().getUniformDropPpm());
                }
            }
            for (StateOriginConfig o : items.origins()) {
                out.add(node + " origin " + o.getKey() + " " + o.getPod().getName() + " " + o.getContainer() + " "
                        + o.getPathsList() + " -> " + String.join(", ", o.getReplicasList().stream()
                                .map(r -> r.getPod().getName() + "@" + r.getAgentEndpoint()).toList()));
            }
            for (StateReplicaConfig r : items.replicas()) {
                out.add(node + " replica " + r.getKey() + " " + r.getPod().getName() + " " + r.getContainer() + " "
                        + r.getPathsList() + " from " + r.getOriginNode());
            }
        });
        return out;
    }
}
