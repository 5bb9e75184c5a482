// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.agent.FakeOperator;
import io.edgerep.agent.control.NodeReconciler;
import io.edgerep.agent.control.OperatorLink;
import io.edgerep.agent.control.PodFacts;
import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.pods.RouteResolver;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.ListTracesRequest;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.PodRef;
import io.edgerep.proto.v1.ReplicaTarget;
import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.proto.v1.Teardown;
import io.edgerep.proto.v1.TeardownResult;
import io.edgerep.wire.ProtoTime;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;

/**
 * The operator's side of control.proto, in process, drives a real origin agent (operator link, reconciler, state
 * replication, event pump) wired to the real loader: the agent bootstraps its certificate, receives a NodeConfig
 * naming an origin pod whose process runs in a cgroup of its own, sets the trace in the loader, and replicates what
 * that process writes to a replica agent over mTLS until the replica's directory is identical.
 */
class OperatorDrivenReplicationIT {
    private static final Logger LOG = Logger.getLogger(OperatorDrivenReplicationIT.class);
    static final String CID = "containerd://" + "ab".repeat(32);

    @TempDir
    Path tmp;

    @Test
    void aNodeConfigFromTheOperatorMakesTheAgentTraceAndReplicate() throws Exception {
        RealLoaderFixture.assumeRealLoader();
        TestCa ca = new TestCa("edgerep-ca");
        try (RealLoaderFixture f = new RealLoaderFixture(tmp);
                FakeOperator operator = new FakeOperator(ca, ca.node("edgerep-operator")).start(0)) {
            f.startLoader();
            Path stop = tmp.resolve("stop");
            // the origin pod's container: writes until told, then stays up (its /proc root is the origin's root)
            Process app = f.startApp("web", """
                    exec 3>>app.log
                    i=0
                    while [ ! -e STOP ]; do
                      i=$((i + 1))
                      echo "request $i" >&3
                      echo "item $i" > item.tmp && mv item.tmp item-$((i % 20)).json
                      sleep 0.02
                    done
                    while true; do sleep 1; done
                    """.replace("STOP", stop.toString()));
            long started = System.currentTimeMillis() + 60_000;
            while (!(java.nio.file.Files.exists(f.originData.resolve("app.log"))
                    && java.nio.file.Files.readString(f.originData.resolve("app.log")).contains("request 1\n"))) {
                assertThat(System.currentTimeMillis()).as("the app writes before any trace").isLessThan(started);
                Thread.sleep(10);
            }

            // the replica's agent on node-b, serving the replica pod's directory
            ReplicationService replicaSvc = new ReplicationService();
            Server replicaServer = ReplicationRig.serveReplication(replicaSvc, ca.node("node-b"), 0);
            ManagedChannel unused = NettyChannelBuilder.forTarget("127.0.0.1:1").usePlaintext().build();
            StateReplicationManager replicaNode = new StateReplicationManager(replicaSvc, new StateEventPump(unused),
                    tmp.resolve("b-state"), () -> null, 1 << 20, 1 << 20);
            replicaNode.replica(StateReplicaConfig.newBuilder().setKey("shop/web").setOriginNode("node-a")
                    .setPod(PodRef.newBuilder().setNamespace("shop").setName("web-1").setNode("node-b"))
                    .addPaths(f.prefix).build(), f.replicaRoot);

            // the origin's agent on node-a: everything real but the pod lookup, which knows the app's cgroup
            operator.token("node-a", "token-a");
            Optional<CgroupResolver.Container> web = Optional.of(new CgroupResolver.Container(CID, f.cg,
                    f.cgroupId(), List.of((int) app.pid())));
            PodFacts pods = new PodFacts() {
                @Override
                public Optional<RouteResolver.Egress> egress(String ip) {
                    return Optional.empty();
                }

                @Override
                public Optional<CgroupResolver.Container> container(String containerId) throws IOException {
                    return containerId.equals(CID) ? web : Optional.empty();
                }
            };
            StateEventPump pump = new StateEventPump(f.loaderChannel());
            OperatorLink[] link = {null};
            StateReplicationManager originNode = new StateReplicationManager(new ReplicationService(), pump,
                    tmp.resolve("a-state"), () -> link[0] == null ? null : link[0].tls(), 16 << 20, 256 << 20);
            NodeReconciler reconciler = new NodeReconciler(f.loaderChannel(), pods, originNode, Path.of("/proc"));
            pump.onConnect(reconciler::reapply);
            pump.start();
            link[0] = new OperatorLink(new OperatorLink.Options(operator.target(), "edgerep-operator", "node-a",
                    () -> "token-a", List.of(ca.cert), 50, 1000, 300), new OperatorLink.Handler() {
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
                            return Hello.newBuilder().setAgentVersion("test");
                        }

                        @Override
                        public Counters counters() {
                            return Counters.newBuilder().setReadAt(ProtoTime.now())
                                    .addAllReplicas(replicaNode.replicaProgress()).build();
                        }
                    }).start();
            try {
                long sent = System.currentTimeMillis();
                operator.config(NodeConfig.newBuilder().setNodeName("node-a").setVersion(1)
                        .addStateOrigins(StateOriginConfig.newBuilder().setKey("shop/web").setContainer("web")
                                .setPod(PodRef.newBuilder().setNamespace("shop").setName("web-0").setNode("node-a")
                                        .putAllContainerIds(Map.of("web", CID)))
                                .addPaths(f.prefix)
                                .addReplicas(ReplicaTarget.newBuilder()
                                        .setPod(PodRef.newBuilder().setNamespace("shop").setName("web-1")
                                                .setNode("node-b"))
                                        .setAgentEndpoint("127.0.0.1:" + replicaServer.getPort())))
                        .build());
                long end = System.currentTimeMillis() + 60_000;
                while (link[0].appliedVersion() != 1 && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                assertThat(link[0].appliedVersion()).isEqualTo(1);
                NodeStatus status = link[0].lastStatus();
                assertThat(status.getItemsList()).extracting(ItemResult::getKey, ItemResult::getOk)
                        .contains(org.assertj.core.groups.Tuple.tuple("shop/web", true));
                assertThat(f.loader().listTraces(ListTracesRequest.getDefaultInstance()).getTracesList())
                        .singleElement().satisfies(t -> {
                            assertThat(t.getCgroupIdsList()).containsExactly(f.cgroupId());
                            assertThat(t.getPrefixesList()).containsExactly(f.prefix);
                        });
                long applied = System.currentTimeMillis();
                end = System.currentTimeMillis() + 60_000;
                while (pump.events() < 50 && System.currentTimeMillis() < end) {
                    Thread.sleep(10); // the app goes on writing, now traced
                }
                assertThat(pump.events()).as("writes captured once traced").isGreaterThanOrEqualTo(50);
                java.nio.file.Files.writeString(stop, "");
                long writesEnd = System.currentTimeMillis();
                long converged = f.awaitIdentical(writesEnd + 60_000);
                StateApplier replica = replicaSvc.replicas().values().iterator().next().applier();
                LOG.infof("operator-driven: config applied (trace set) %d ms after it was sent; converged %d ms after "
                        + "the writes ended; %d events from the loader, replica at seq %d", applied - sent,
                        converged - writesEnd, pump.events(), replica.appliedSeq());
                assertThat(pump.events()).as("captured by the loader").isPositive();
                end = System.currentTimeMillis() + 60_000;
                while (!replica.confirmed() && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                assertThat(replica.confirmed()).isTrue();
                assertThat(replica.refusedOps()).isZero();
            } finally {
                link[0].close();
                originNode.close();
                pump.close();
                replicaNode.close();
                replicaServer.shutdownNow();
                unused.shutdownNow();
                app.destroyForcibly();
            }
        }
    }
}
