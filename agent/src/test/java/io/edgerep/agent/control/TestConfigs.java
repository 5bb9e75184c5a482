// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.pods.RouteResolver;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.Datapath;
import io.edgerep.proto.v1.Inspection;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.PodRef;
import io.edgerep.proto.v1.Policy;
import io.edgerep.proto.v1.PolicyKind;
import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StreamConfig;

/** Configs and pod facts shared by the control tests. */
final class TestConfigs {
    static final String CID = "containerd://" + "ab".repeat(32);

    private TestConfigs() {
    }

    static PodFacts pods() {
        return new PodFacts() {
            @Override
            public Optional<RouteResolver.Egress> egress(String ip) {
                return switch (ip) {
                    case "10.0.0.11" -> Optional.of(new RouteResolver.Egress("veth-det", "02:00:00:00:00:11", ""));
                    case "10.0.0.12" -> Optional.of(new RouteResolver.Egress("veth-cnt", "02:00:00:00:00:12", ""));
                    case "192.168.0.2" -> Optional.of(new RouteResolver.Egress("eth0", "02:00:00:00:01:02", ""));
                    default -> Optional.empty();
                };
            }

            @Override
            public Optional<CgroupResolver.Container> container(String id) {
                return id.equals(CID)
                        ? Optional.of(new CgroupResolver.Container("ab".repeat(32), Path.of("/cg"), 4711,
                                List.of(99)))
                        : Optional.empty();
            }
        };
    }

    static ConsumerConfig consumer(String key, String ip, PolicyKind p) {
        return ConsumerConfig.newBuilder().setKey(key).setPort(6000)
                .setPod(PodRef.newBuilder().setNamespace("video").setName(key).setIp(ip))
                .setPolicy(Policy.newBuilder().setKind(p).setRateBytesPerSec(250_000)).build();
    }

    static NodeConfig config(long version) {
        return NodeConfig.newBuilder().setVersion(version).setNodeName("node-a")
                .addStreams(StreamConfig.newBuilder().setKey("video/cameras").setInterface("eth0").setIpProtocol(17)
                        .setPort(5004)
                        .setInspection(Inspection.INSPECTION_MPEGTS).setDatapath(Datapath.DATAPATH_TC)
                        .addConsumers(consumer("detector/d-0", "10.0.0.11", PolicyKind.POLICY_KIND_NONE))
                        .addConsumers(consumer("counter/c-0", "10.0.0.12", PolicyKind.POLICY_KIND_DIFFERENTIAL_FIRST))
                        .addConsumers(consumer("ghost/g-0", "10.0.0.99", PolicyKind.POLICY_KIND_NONE))
                        .addConsumers(consumer("remote/r-0", "10.1.0.7", PolicyKind.POLICY_KIND_NONE).toBuilder()
                                .setViaNodeIp("192.168.0.2").build()))
                .addStreams(StreamConfig.newBuilder().setKey("video/broken").setInterface("eth9").setIpProtocol(17)
                        .setPort(5006)
                        .setDatapath(Datapath.DATAPATH_TC))
                .addStreams(StreamConfig.newBuilder().setKey("video/fast").setInterface("eth1").setIpProtocol(17)
                        .setPort(5008)
                        .setDatapath(Datapath.DATAPATH_XDP)
                        .addConsumers(consumer("detector/d-0", "10.0.0.11", PolicyKind.POLICY_KIND_NONE)))
                .addStateOrigins(StateOriginConfig.newBuilder().setKey("shop/web").setContainer("web")
                        .setPod(PodRef.newBuilder().setNamespace("shop").setName("web-0")
                                .putAllContainerIds(Map.of("web", CID)))
                        .addPaths("/data"))
                .addStateOrigins(StateOriginConfig.newBuilder().setKey("shop/missing").setContainer("web")
                        .setPod(PodRef.newBuilder().setNamespace("shop").setName("gone-0")
                                .putAllContainerIds(Map.of("web", "containerd://" + "cd".repeat(32))))
                        .addPaths("/data"))
                .build();
    }
}
