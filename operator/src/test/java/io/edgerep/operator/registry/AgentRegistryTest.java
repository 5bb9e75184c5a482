// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.edgerep.operator.plan.NodeItems;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.StreamConfig;
import io.edgerep.proto.v1.TeardownResult;
import io.grpc.stub.StreamObserver;

class AgentRegistryTest {

    static final class Sink implements StreamObserver<ControllerMessage> {
        final List<ControllerMessage> got = new ArrayList<>();

        @Override
        public void onNext(ControllerMessage value) {
            got.add(value);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }

    static NodeItems stream(String key, int port) {
        var i = new NodeItems();
        i.streams().add(StreamConfig.newBuilder().setKey(key).setPort(port).build());
        return i;
    }

    @Test
    void nothingIsPushedBeforeTheGateOpens() {
        var r = new AgentRegistry();
        var sink = new Sink();
        r.connected("n1", Hello.newBuilder().setNodeName("n1").build(), sink);
        r.update("a/x", Map.of("n1", stream("a/x", 1)));
        assertThat(sink.got).isEmpty();
        r.openGate();
        assertThat(sink.got).hasSize(1);
        assertThat(sink.got.get(0).getConfig().getStreamsCount()).isEqualTo(1);
    }

    @Test
    void pushesOnChangeAndTracksAcknowledgement() {
        var r = new AgentRegistry();
        Set<String> notified = new HashSet<>();
        r.addListener(notified::addAll);
        r.openGate();
        var sink = new Sink();
        r.connected("n1", Hello.newBuilder().setNodeName("n1").build(), sink);
        assertThat(sink.got).hasSize(1); // the empty config clears leftovers
        r.update("a/x", Map.of("n1", stream("a/x", 1)));
        r.update("a/x", Map.of("n1", stream("a/x", 1))); // unchanged: no push
        assertThat(sink.got).hasSize(2);
        long v = sink.got.get(1).getConfig().getVersion();
        assertThat(r.view("a/x", "n1").applied()).isFalse();
        r.status("n1", sink, NodeStatus.newBuilder().setAppliedVersion(v).build());
        assertThat(r.view("a/x", "n1").applied()).isTrue();
        assertThat(notified).contains("a/x");

        // removal is pending until the node applies a config without the resource
        assertThat(r.removeAndPending("a/x")).containsExactly("n1");
        assertThat(sink.got).hasSize(3);
        assertThat(sink.got.get(2).getConfig().getStreamsCount()).isZero();
        r.status("n1", sink,
                NodeStatus.newBuilder().setAppliedVersion(sink.got.get(2).getConfig().getVersion()).build());
        assertThat(r.removeAndPending("a/x")).isEmpty();
    }

    @Test
    void reconnectGetsTheSameConfigAndStaleStreamsAreIgnored() {
        var r = new AgentRegistry();
        r.openGate();
        r.update("a/x", Map.of("n1", stream("a/x", 1)));
        var first = new Sink();
        r.connected("n1", Hello.newBuilder().setNodeName("n1").build(), first);
        var second = new Sink();
        r.connected("n1", Hello.newBuilder().setNodeName("n1").setAppliedVersion(1).build(), second);
        assertThat(second.got.get(0).getConfig()).isEqualTo(first.got.get(0).getConfig());
        r.disconnected("n1", first); // the replaced stream ending does not drop the node
        assertThat(r.connectedNodes()).containsExactly("n1");
        r.disconnected("n1", second);
        assertThat(r.view("a/x", "n1").connected()).isFalse();
    }

    @Test
    void agentEventsOnlyAboutResourcesOnTheNodeAndRateLimited() {
        var r = new AgentRegistry();
        r.openGate();
        List<String> seen = new ArrayList<>();
        r.addEventListener((node, ev) -> seen.add(node + ":" + ev.getKey() + ":" + ev.getReason()));
        var n1 = new Sink();
        var n2 = new Sink();
        r.connected("n1", Hello.newBuilder().setNodeName("n1").build(), n1);
        r.connected("n2", Hello.newBuilder().setNodeName("n2").build(), n2);
        r.update("a/x", Map.of("n1", stream("a/x", 1)));
        var ev = io.edgerep.proto.v1.AgentEvent.newBuilder().setKey("a/x").setReason("XdpFellBackToTc").build();
        assertThat(r.agentEvent("n2", n2, ev)).as("n2 carries nothing of a/x").isFalse();
        assertThat(r.agentEvent("n1", n2, ev)).as("not n1's current stream").isFalse();
        assertThat(r.agentEvent("n1", n1, ev)).isTrue();
        assertThat(r.agentEvent("n1", n1, ev)).as("same reason again within the interval").isFalse();
        assertThat(seen).containsExactly("n1:a/x:XdpFellBackToTc");
    }

    @Test
    void theGateOpensByItselfOnceEveryKnownResourceWasPlanned() {
        var r = new AgentRegistry();
        List<String> known = new ArrayList<>(List.of("a/x", "b/y"));
        r.useResourceKeys(known::stream);
        var sink = new Sink();
        r.connected("n1", Hello.newBuilder().setNodeName("n1").build(), sink);
        r.update("a/x", Map.of("n1", stream("a/x", 1)));
        assertThat(r.gateOpen()).isFalse();
        assertThat(sink.got).as("b/y was not planned yet").isEmpty();
        r.update("b/y", Map.of("n1", stream("b/y", 2)));
        assertThat(r.gateOpen()).isTrue();
        assertThat(sink.got).hasSize(1);
        assertThat(sink.got.get(0).getConfig().getStreamsCount()).as("a config with both, never one").isEqualTo(2);
    }

    @Test
    void aResourceBeingRemovedCountsAsPlanned() {
        var r = new AgentRegistry();
        r.useResourceKeys(() -> Stream.of("a/x"));
        assertThat(r.removeAndPending("a/x")).isEmpty();
        assertThat(r.gateOpen()).isTrue();
    }

    @Test
    void withoutResourceKeysOnlyCheckingDoesNotOpenTheGate() {
        var r = new AgentRegistry();
        r.update("a/x", Map.of());
        r.checkGate();
        assertThat(r.gateOpen()).isFalse();
        r.useResourceKeys(Stream::empty);
        r.checkGate();
        assertThat(r.gateOpen()).as("an operator with no resources serves its agents").isTrue();
    }

    @Test
    void teardownReachesEveryAgentStopsConfigsAndCollectsAnswers() {
        var r = new AgentRegistry();
        r.openGate();
        var n1 = new Sink();
        var n2 = new Sink();
        r.connected("n1", Hello.newBuilder().setNodeName("n1").build(), n1);
        r.connected("n2", Hello.newBuilder().setNodeName("n2").build(), n2);
        int before = n1.got.size();

        var answers = r.teardown("helm uninstall");

        assertThat(r.tornDown()).isTrue();
        assertThat(answers).containsOnlyKeys("n1", "n2");
        assertThat(n1.got.get(n1.got.size() - 1).getTeardown().getReason()).isEqualTo("helm uninstall");
        assertThat(n2.got.get(n2.got.size() - 1).hasTeardown()).isTrue();
        // no config goes out after it: a changed resource must not program the torn-down node again
        r.update("a/x", Map.of("n1", stream("a/x", 1)));
        assertThat(n1.got).hasSize(before + 1);

        // an answer on a replaced stream does not count; the current stream's does
        r.teardownResult("n1", new Sink(), TeardownResult.newBuilder().setOk(true).build());
        assertThat(answers.get("n1")).isNotDone();
        r.teardownResult("n1", n1, TeardownResult.newBuilder().setOk(true).addRemoved("tc ingress eth0").build());
        assertThat(answers.get("n1").join().getRemovedList()).containsExactly("tc ingress eth0");
        assertThat(answers.get("n2")).isNotDone();

        // an agent that connects while the release goes away is told too, and not given a config
        var n3 = new Sink();
        r.connected("n3", Hello.newBuilder().setNodeName("n3").build(), n3);
        assertThat(n3.got).hasSize(1);
        assertThat(n3.got.get(0).hasTeardown()).isTrue();
        assertThat(r.teardown("helm uninstall")).containsOnlyKeys("n1", "n2", "n3");
    }
}
