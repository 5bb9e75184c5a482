// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.Trees.DEADLINE_MS;
import static io.edgerep.agent.state.Trees.awaitIdentical;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.agent.DirDiffCapture;
import io.edgerep.agent.tls.NodeIdentity;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.TestCa;
import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;

/**
 * A replica agent's replication service behind mTLS on loopback and an origin pushing to it, for the replication
 * tests: the replica can be slowed, have its confirmations spoilt, be watched after each batch, killed and restarted.
 */
abstract class ReplicationRig {
    static final String KEY = "shop/web";

    static final String POD = "web-edge-0";

    @TempDir
    Path tmp;

    TestCa ca;

    NodeTls nodeA; // origin node
    NodeTls nodeB; // replica node
    Server replicaServer;

    ReplicationService service;

    int port;

    /** How long the replica holds each pushed batch before applying it (0: not at all). */
    long pushDelayMs;

    /** Confirmations to turn, on their way to the replica, into resync ends that confirm nothing. */
    final java.util.concurrent.atomic.AtomicInteger confirmationsToSpoil = new java.util.concurrent.atomic.AtomicInteger();

    /** Looks at the replica after each batch it applied. */
    final BatchWatcher watcher = new BatchWatcher();

    @BeforeEach
    void setUp() throws Exception {
        ca = new TestCa("edgerep-test-ca");
        nodeA = ca.node("node-a");
        nodeB = ca.node("node-b");
        Files.createDirectories(tmp.resolve("o/data"));
        Files.createDirectories(tmp.resolve("r"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (replicaServer != null) {
            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Starts (or restarts, with fresh in-memory state like a new process) the replica agent's server. */
    void startReplica(int fixedPort) throws Exception {
        service = new ReplicationService();
        service.put(new ReplicationService.Replica(
                new StateApplier(KEY, POD, new ConfinedRoot(tmp.resolve("r"), List.of("/data")),
                        tmp.resolve("replica-state/position")),
                "node-a"));
        replicaServer = serveReplication(service, nodeB, fixedPort, watcher, slowPush(pushDelayMs),
                spoilConfirmations(confirmationsToSpoil));
        port = replicaServer.getPort();
    }

    /** Turns pushed confirmations into resync ends that confirm nothing while count is positive, counting down. */
    static ServerInterceptor spoilConfirmations(java.util.concurrent.atomic.AtomicInteger count) {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                    ServerCallHandler<Q, A> next) {
                return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
                        next.startCall(call, headers)) {
                    @Override
                    @SuppressWarnings("unchecked")
                    public void onMessage(Q message) {
                        if (message instanceof io.edgerep.proto.v1.StateBatch b && b.hasConfirm()
                                && count.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                            message = (Q) b.toBuilder().setResyncEnd(io.edgerep.proto.v1.ResyncEnd.getDefaultInstance())
                                    .build(); // a resync end that confirms nothing
                        }
                        super.onMessage(message);
                    }
                };
            }
        };
    }

    /** Holds every batch pushed to the replica for delayMs before it is applied; checksum calls are not held. */
    static ServerInterceptor slowPush(long delayMs) {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                    ServerCallHandler<Q, A> next) {
                ServerCall.Listener<Q> l = next.startCall(call, headers);
                if (delayMs == 0 || !call.getMethodDescriptor().getBareMethodName().equals("Push")) {
                    return l;
                }
                return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(l) {
                    @Override
                    public void onMessage(Q message) {
                        try {
                            Thread.sleep(delayMs);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        super.onMessage(message);
                    }
                };
            }
        };
    }

    /** An origin whose link pushes to the replica started by {@link #startReplica}, for ops fed by hand. */
    record Wired(OriginReplication origin, ReplicaLink link, ManagedChannel ch) implements AutoCloseable {
        @Override
        public void close() {
            origin.close();
            ch.shutdownNow();
        }
    }

    /** Starts the replica and an origin pushing to it; capturing: whether the origin's capture is on already. */
    Wired wire(ReplicaLink.Options opt, boolean capturing) throws Exception {
        startReplica(0);
        ManagedChannel ch = channelTo(nodeA, "node-b");
        OriginReplication origin = new OriginReplication(KEY, new ConfinedRoot(tmp.resolve("o"), List.of("/data")),
                new OpLog(tmp.resolve("state/spill"), 1 << 20, 16 << 20));
        ReplicaLink link = new ReplicaLink(KEY, POD, origin.log(), origin.origin(), ch, opt).start();
        origin.addLink(link);
        if (capturing) {
            origin.captureOn();
        }
        return new Wired(origin, link, ch);
    }

    /** The replication service behind mTLS as node, on port (0: any); retried while a killed server's port frees. */
    static Server serveReplication(ReplicationService svc, NodeTls node, int port, ServerInterceptor... more)
            throws Exception {
        ServerInterceptor[] all = java.util.Arrays.copyOf(more, more.length + 1);
        all[more.length] = new NodeIdentity(); // the last runs first
        long end = System.currentTimeMillis() + DEADLINE_MS;
        while (true) {
            try {
                return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                        .sslContext(node.serverContext()).maxInboundMessageSize(64 << 20)
                        .addService(ServerInterceptors.intercept(svc, all)).build().start();
            } catch (IOException e) {
                if (System.currentTimeMillis() > end) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    /** Each run captures what changed in the origin's directory since the last and hands it to origin. */
    Runnable capturingInto(OriginReplication origin) {
        List<io.edgerep.proto.v1.StateEventBatch> batches = new java.util.ArrayList<>();
        DirDiffCapture capture = new DirDiffCapture(tmp.resolve("o"), "/data", 7, batches::add);
        return () -> {
            capture.poll();
            batches.forEach(b -> origin.accept(b.getEventsList(), 0));
            batches.clear();
        };
    }

    ManagedChannel channelTo(NodeTls as, String node) throws Exception {
        return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(as.clientContext()).overrideAuthority(node)
                .maxInboundMessageSize(64 << 20).build();
    }

    /** The origin writes a file, its capture is pushed, and the replica's copy matches: returns the replica. */
    StateApplier writtenAndApplied(OriginReplication origin) throws Exception {
        Files.writeString(tmp.resolve("o/data/a"), "version 1\n".repeat(5000));
        capturingInto(origin).run();
        awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
        return service.replicas().values().iterator().next().applier();
    }

    /** Waits until the origin confirmed the replica's content (its progress is reported from then on). */
    static void awaitConfirmed(StateApplier applier) throws InterruptedException {
        long end = System.currentTimeMillis() + DEADLINE_MS;
        while (!applier.confirmed() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        assertThat(applier.confirmed()).as("origin confirmed the replica").isTrue();
    }

    /** A loader event stamped now on the loader's clock (CLOCK_MONOTONIC, as System.nanoTime). */
    static io.edgerep.proto.v1.StateEvent.Builder event(int repId, long seq) {
        return io.edgerep.proto.v1.StateEvent.newBuilder().setReplicationId(repId).setSeq(seq)
                .setTimestampNs(System.nanoTime());
    }

    /** Link options verifying only after the origin was quiet for ms. */
    static ReplicaLink.Options quietFor(long ms) {
        ReplicaLink.Options d = ReplicaLink.Options.defaults();
        return new ReplicaLink.Options(d.maxBatchOps(), d.maxBatchBytes(), d.windowOps(), d.blockSize(), ms,
                d.maxTouched());
    }

    /** A loader event without a timestamp. */
    static io.edgerep.proto.v1.StateEvent.Builder untimed(long seq) {
        return io.edgerep.proto.v1.StateEvent.newBuilder().setReplicationId(7).setSeq(seq);
    }

    static void awaitInSync(ReplicaLink link) throws InterruptedException {
        long end = System.currentTimeMillis() + DEADLINE_MS;
        while (!link.inSync() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        assertThat(link.inSync()).isTrue();
    }
}
