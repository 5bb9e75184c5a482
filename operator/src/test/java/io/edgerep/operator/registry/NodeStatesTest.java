// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.edgerep.proto.v1.Capabilities;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.ItemKind;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.Policy;
import io.edgerep.proto.v1.ReplicaDrift;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.proto.v1.StreamConfig;
import io.edgerep.wire.ProtoTime;
import io.grpc.stub.StreamObserver;

/** The per-node view kubectl edgerep reads: what each agent said, holds and counted, with its consumers' budgets. */
class NodeStatesTest {
    private static final Hello HELLO = Hello.newBuilder().setNodeName("edge-a").setAgentVersion("0.1.0")
            .setLoaderVersion("0.1.0-l").setCapabilities(Capabilities.newBuilder().setKernelRelease("6.18.0"))
            .build();

    @SuppressWarnings("unchecked")
    @Test
    void aNodeShowsAgentLoaderVersionsItemsConsumersReplicasAndOrigins() {
        NodeConfig desired = NodeConfig.newBuilder().setVersion(4).addStreams(StreamConfig.newBuilder()
                .setKey("media/cams").addConsumers(ConsumerConfig.newBuilder().setKey("viewer/pod-1")
                        .setPolicy(Policy.newBuilder().setRateBytesPerSec(250_000))))
                .build();
        NodeStatus status = NodeStatus.newBuilder().setAppliedVersion(3).addItems(ItemResult.newBuilder()
                .setKind(ItemKind.ITEM_KIND_STREAM).setKey("media/cams").setOk(true)).build();
        Counters counters = Counters.newBuilder().setReadAt(ProtoTime.timestamp(1234))
                .addConsumers(ConsumerCounters.newBuilder().setStreamKey("media/cams").setConsumerKey("viewer/pod-1")
                        .setDeliveredPackets(10).setDroppedDifferential(2).setBitrateBps(1_900_000))
                .addReplicas(ReplicaProgress.newBuilder().setKey("media/web").setPod("web-1").setAppliedSeq(7)
                        .setLag(ProtoTime.duration(20)).setConfirmed(true))
                .addOrigins(OriginProgress.newBuilder().setKey("media/web").setLastSeq(8)
                        .addDrift(ReplicaDrift.newBuilder().setPod("web-1").setDriftedPaths(1)))
                .build();
        Map<String, Object> view = NodeStates
                .view(List.of(new NodeStates.Node("edge-a", HELLO, true, 3, desired, status, counters)));
        assertThat(view).containsEntry("apiVersion", NodeStates.API_VERSION);
        Map<String, Object> n = ((List<Map<String, Object>>) view.get("nodes")).get(0);
        assertThat(n).containsEntry("node", "edge-a").containsEntry("connected", true)
                .containsEntry("agentVersion", "0.1.0").containsEntry("loaderVersion", "0.1.0-l")
                .containsEntry("kernel", "6.18.0").containsEntry("appliedVersion", 3L)
                .containsEntry("desiredVersion", 4L);
        assertThat((List<Map<String, Object>>) n.get("items")).singleElement()
                .satisfies(i -> assertThat(i).containsEntry("kind", "stream").containsEntry("ok", true));
        assertThat((List<Map<String, Object>>) n.get("consumers")).singleElement()
                .satisfies(c -> assertThat(c).containsEntry("edgeReplica", "media/cams")
                        .containsEntry("consumer", "viewer").containsEntry("pod", "pod-1")
                        .containsEntry("deliveredPackets", 10L).containsEntry("droppedDifferential", 2L)
                        .containsEntry("bitrateBps", 1_900_000L).containsEntry("budgetBps", 2_000_000L));
        assertThat((List<Map<String, Object>>) n.get("replicas")).singleElement()
                .satisfies(r -> assertThat(r).containsEntry("appliedSeq", 7L).containsEntry("lagMillis", 20L)
                        .containsEntry("confirmed", true));
        assertThat((List<Map<String, Object>>) n.get("origins")).singleElement()
                .satisfies(o -> assertThat(o).containsEntry("lastSeq", 8L));
    }

    @Test
    void theRegistryListsConnectedNodesInOrder() {
        AgentRegistry registry = new AgentRegistry();
        StreamObserver<ControllerMessage> out = new DiscardingStream();
        registry.connected("edge-b", HELLO, out);
        registry.connected("edge-a", HELLO, out);
        assertThat(registry.nodeStates()).extracting(NodeStates.Node::name).containsExactly("edge-a", "edge-b");
        registry.disconnected("edge-b", out);
        assertThat(registry.nodeStates()).extracting(NodeStates.Node::name).containsExactly("edge-a");
    }
}
