package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.agent.DirDiffCapture;
import io.edgerep.agent.FakeLoader;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.agent.tls.NodeIdentity;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;

/**
 * Origin directory written by real programs (sqlite3 in rollback-journal and WAL modes, git, atomic rename-over saves,
 * log appends), captured into loader events, shipped over mTLS to a replica agent that is killed and restarted
 * mid-stream: the replica must end byte-identical within 5 s, with SQLite integrity and git fsck passing on it.
 */
class ReplicationEndToEndTest {
    private static final Logger LOG = Logger.getLogger(ReplicationEndToEndTest.class);
    static final String KEY = "shop/web";
    static final String POD = "web-edge-0";
    /**
     * How long a test waits for a condition the system guarantees: long enough for a loaded machine, never a measure
     * of speed (targets are asserted where a test states one).
     */
    static final long DEADLINE_MS = 60_000;

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

    @Test
    void realProgramsReplicateByteIdenticalThroughAReplicaRestart() throws Exception {
        startReplica(0);
        try (FakeLoader loader = new FakeLoader()) {
            ManagedChannel loaderCh = LoaderChannels.open(loader.target());
            ManagedChannel ch = channelTo(nodeA, "node-b");
            OpLog log = new OpLog(tmp.resolve("state/spill"), 4 << 20, 256 << 20);
            OriginReplication origin = new OriginReplication(KEY, new ConfinedRoot(tmp.resolve("o"), List.of("/data")),
                    log);
            ReplicaLink link = new ReplicaLink(KEY, POD, log, origin.origin(), ch, ReplicaLink.Options.defaults())
                    .start();
            origin.addLink(link);
            StateEventPump pump = new StateEventPump(loaderCh).start();
            pump.route(7, origin);
            origin.captureOn();
            DirDiffCapture capture = new DirDiffCapture(tmp.resolve("o"), "/data", 7, loader::push);
            Thread poller = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    capture.poll();
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            poller.start();
            try {
                Path gate = tmp.resolve("o/gate");
                Process work = new ProcessBuilder("bash", "-c", workload(gate))
                        .directory(tmp.resolve("o/data").toFile()).redirectErrorStream(true)
                        .redirectOutput(tmp.resolve("workload.log").toFile()).start();
                // the replica synced and applied a part of the workload, which waits half-way at its gate
                StateApplier first = service.replicas().values().iterator().next().applier();
                long end = System.currentTimeMillis() + 120_000;
                while (!(link.counters().resyncs() >= 1 && first.appliedSeq() >= 50)
                        && System.currentTimeMillis() < end) {
                    Thread.sleep(10);
                }
                assertThat(first.appliedSeq()).as("ops applied before the kill").isGreaterThanOrEqualTo(50);
                long resyncedBefore = link.counters().resyncedBytes();
                replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS); // replica agent killed mid-stream
                startReplica(port); // and restarted with nothing in memory
                Files.writeString(gate, "");
                long restartedAt = System.currentTimeMillis();
                assertThat(work.waitFor(120, TimeUnit.SECONDS)).isTrue();
                assertThat(work.exitValue()).as(Files.readString(tmp.resolve("workload.log"))).isZero();
                long workloadEnd = System.currentTimeMillis();
                poller.interrupt();
                poller.join();
                capture.poll(); // the last captures

                long converged = awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), workloadEnd + 5000);
                LOG.infof("converged %d ms after the workload ended (%d ms after the restart); resynced %d bytes in %d "
                        + "resyncs; %d ops sent", converged - workloadEnd, converged - restartedAt,
                        link.counters().resyncedBytes(),
                        link.counters().resyncs(), link.counters().sentOps());
                assertThat(converged - workloadEnd).isLessThanOrEqualTo(5000);
                assertThat(link.counters().resyncs()).as("initial sync and the one after the restart")
                        .isGreaterThanOrEqualTo(2);
                assertThat(link.counters().resyncedBytes()).isGreaterThan(resyncedBefore);
                var applier = service.replicas().values().iterator().next().applier();
                assertThat(applier.refusedOps()).isZero();

                assertThat(sh(tmp.resolve("r/data"),
                        "sqlite3 journal.db 'PRAGMA integrity_check; SELECT count(*) FROM t;'"))
                        .startsWith("ok\n").isEqualTo(sh(tmp.resolve("o/data"),
                                "sqlite3 journal.db 'PRAGMA integrity_check; SELECT count(*) FROM t;'"));
                assertThat(sh(tmp.resolve("r/data"),
                        "sqlite3 wal.db 'PRAGMA integrity_check; SELECT count(*), sum(length(v)) FROM t;'"))
                        .startsWith("ok\n").isEqualTo(sh(tmp.resolve("o/data"),
                                "sqlite3 wal.db 'PRAGMA integrity_check; SELECT count(*), sum(length(v)) FROM t;'"));
                assertThat(
                        sh(tmp.resolve("r/data/repo"), "git fsck --strict 2>&1 && git log --format=%s | wc -l").trim())
                        .endsWith("6");
                assertThat(Files.readString(tmp.resolve("r/data/cfg"))).isEqualTo("config 40\n");
                assertThat(Files.readAllLines(tmp.resolve("r/data/app.log"))).hasSize(400).endsWith("line 400");
            } finally {
                poller.interrupt();
                pump.close();
                origin.close();
                ch.shutdownNow();
                loaderCh.shutdownNow();
            }
        }
    }

    @Test
    void kernelLossAndDirtyRangesAreRepairedFromTheOriginFiles() throws Exception {
        try (Wired w = wire(ReplicaLink.Options.defaults(), true)) {
            OriginReplication origin = w.origin();
            ReplicaLink link = w.link();
            awaitInSync(link);
            Runnable captured = capturingInto(origin);
            Files.writeString(tmp.resolve("o/data/a"), "first version of a\n".repeat(1000));
            captured.run();
            awaitInSync(link);
            long resyncs = link.counters().resyncs();
            // the kernel lost records: the file changed but no event arrives, only the loss count
            Files.writeString(tmp.resolve("o/data/a"), "second version, its events were lost\n".repeat(700));
            Files.writeString(tmp.resolve("o/data/b"), "created while records were lost");
            origin.accept(List.of(), 3);
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            assertThat(link.counters().resyncs()).isEqualTo(resyncs + 1);
            assertThat(origin.lostRecords()).isEqualTo(3);
            // a dirty range (bytes the kernel could not copy) is read from the origin's file
            byte[] big = new byte[300_000];
            new java.util.Random(3).nextBytes(big);
            Files.write(tmp.resolve("o/data/mapped"), big);
            origin.accept(List.of(io.edgerep.proto.v1.StateEvent.newBuilder().setReplicationId(7)
                    .setDirty(io.edgerep.proto.v1.FileDirty.newBuilder().setPath("/data/mapped").setReason("mmap"))
                    .build()), 0);
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            assertThat(link.counters().resyncs()).isEqualTo(resyncs + 1);
        }
    }

    /** A replica agent restarted with its files intact resumes where it was; with its files changed, it resyncs. */
    @Test
    void aRestartedReplicaResumesFromItsCheckpointUnlessItsFilesChanged() throws Exception {
        try (Wired w = wire(ReplicaLink.Options.defaults(), true)) {
            OriginReplication origin = w.origin();
            ReplicaLink link = w.link();
            Runnable captured = capturingInto(origin);
            Files.writeString(tmp.resolve("o/data/a"), "version 1\n".repeat(5000));
            Files.writeString(tmp.resolve("o/data/log"), "line 1\n");
            captured.run();
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            awaitInSync(link);
            StateApplier before = service.replicas().values().iterator().next().applier();
            awaitConfirmed(before);
            before.checkpointIfIdle(0); // the agent's tick, once the replica is idle
            long resyncs = link.counters().resyncs();
            long resyncedBytes = link.counters().resyncedBytes();

            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS); // the replica agent restarts
            startReplica(port);
            StateApplier resumed = service.replicas().values().iterator().next().applier();
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.appliedSeq()).isEqualTo(before.appliedSeq());
            Files.writeString(tmp.resolve("o/data/log"), "line 2\n", java.nio.file.StandardOpenOption.APPEND);
            captured.run();
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            awaitInSync(link);
            assertThat(link.counters().resyncs()).as("resumed, not resynced").isEqualTo(resyncs);
            assertThat(link.counters().resyncedBytes()).isEqualTo(resyncedBytes);
            assertThat(resumed.ack().getConfirmed()).isTrue();
            assertThat(resumed.reportedSeq()).isEqualTo(origin.log().lastSeq());

            resumed.checkpointIfIdle(0);
            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            Files.writeString(tmp.resolve("r/data/a"), "changed while the agent was down"); // not the saved tree
            startReplica(port);
            assertThat(service.replicas().values().iterator().next().applier().resumed()).isFalse();
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            awaitInSync(link);
            assertThat(link.counters().resyncs()).as("fell back to a resync").isEqualTo(resyncs + 1);
            assertThat(link.counters().resyncedBytes()).isGreaterThan(resyncedBytes);
        }
    }

    /** A checkpoint saved before the origin confirmed the last resync is brought up to date by the confirmation. */
    @Test
    void aConfirmationAfterTheCheckpointIsSavedWithIt() throws Exception {
        confirmationsToSpoil.set(Integer.MAX_VALUE); // no confirmation reaches the replica until let through
        try (Wired w = wire(quietFor(100), true)) {
            OriginReplication origin = w.origin();
            StateApplier before = writtenAndApplied(origin);
            assertThat(before.confirmed()).isFalse();
            before.checkpointIfIdle(0);
            confirmationsToSpoil.set(0);
            awaitConfirmed(before);
            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            startReplica(port);
            StateApplier resumed = service.replicas().values().iterator().next().applier();
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.confirmed()).isTrue();
            assertThat(resumed.reportedSeq()).isEqualTo(origin.log().lastSeq()).isPositive();
        }
    }

    /**
     * A replica resumed from a checkpoint saved before the origin confirmed it, whose confirmation was lost with its
     * agent: it says so in its first ack, and the origin verifies the whole tree instead of trusting it.
     */
    @Test
    void aReplicaResumedUnconfirmedIsVerifiedByAnOriginThatDidNotKnow() throws Exception {
        try (Wired w = wire(quietFor(60_000), true)) {
            OriginReplication origin = w.origin();
            StateApplier before = writtenAndApplied(origin);
            before.checkpointIfIdle(0);
            // the replica's agent stops, and the origin's link to it is replaced: the new one knows nothing pending
            w.link().close();
            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            startReplica(port);
            StateApplier resumed = service.replicas().values().iterator().next().applier();
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.ack().getConfirmed()).isFalse();
            assertThat(resumed.reportedSeq()).isZero();
            ReplicaLink link = new ReplicaLink(KEY, POD, origin.log(), origin.origin(), w.ch(), quietFor(100)).start();
            origin.addLink(link);
            awaitConfirmed(resumed);
            assertThat(resumed.reportedSeq()).isEqualTo(origin.log().lastSeq()).isPositive();
            assertThat(link.counters().resyncs()).as("verified, not resynced").isZero();
            assertThat(link.counters().verifyRepairs()).isZero();
        }
    }

    /**
     * A resync asked for while an earlier one's content is still on its way to the replica is planned against the
     * replica's tree with that content in: planned against the tree before it, a file the earlier resync brings and the
     * origin removed since would stay on the replica, confirmed as the origin's.
     */
    @Test
    void aResyncAskedWhileAnEarlierOneIsInFlightIsPlannedAfterIt() throws Exception {
        Files.writeString(tmp.resolve("o/data/gone"), "removed while the first resync is on its way\n");
        pushDelayMs = 300;
        try (Wired w = wire(quietFor(100), true)) {
            long end = System.currentTimeMillis() + DEADLINE_MS;
            while (w.link().counters().resyncs() == 0 && System.currentTimeMillis() < end) {
                Thread.sleep(1);
            }
            assertThat(w.link().counters().resyncs()).as("first resync sent").isEqualTo(1);
            Files.delete(tmp.resolve("o/data/gone"));
            w.link().requestFullResync(); // e.g. records lost in the kernel
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            StateApplier applier = service.replicas().values().iterator().next().applier();
            awaitConfirmed(applier);
            assertThat(tree(tmp.resolve("r/data"))).isEqualTo(tree(tmp.resolve("o/data")));
            assertThat(w.link().counters().resyncs()).isEqualTo(2);
        }
    }

    /** A replica still unconfirmed after the origin's confirmation (it never took it) is verified all over again. */
    @Test
    void aConfirmationTheReplicaDidNotTakeIsFollowedByAWholeVerification() throws Exception {
        confirmationsToSpoil.set(1);
        try (Wired w = wire(quietFor(100), true)) {
            StateApplier applier = writtenAndApplied(w.origin());
            awaitConfirmed(applier);
            assertThat(confirmationsToSpoil.get()).as("the first confirmation was spoilt").isZero();
            awaitInSync(w.link());
            assertThat(applier.reportedSeq()).isEqualTo(w.origin().log().lastSeq()).isPositive();
        }
    }

    /**
     * An op that applied on the origin but fails on the replica (here a rename whose source the replica never got)
     * leaves their files different: the replica's ack says it failed one, and the origin verifies the whole tree.
     */
    @Test
    void anOpTheReplicaFailedToApplyMakesTheOriginVerifyItAll() throws Exception {
        try (Wired w = wire(quietFor(100), true)) {
            OriginReplication origin = w.origin();
            StateApplier applier = writtenAndApplied(origin);
            awaitConfirmed(applier);
            Files.writeString(tmp.resolve("o/data/b"), "renamed into place\n"); // its create and write were lost
            origin.accept(List.of(event(7, 0).setRename(io.edgerep.proto.v1.FileRename.newBuilder()
                    .setFrom("/data/b.tmp").setTo("/data/b")).build()), 0);
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            assertThat(applier.ack().getFailedOps()).isEqualTo(1);
            awaitConfirmed(applier);
            awaitInSync(w.link());
        }
    }

    /** The origin reports a replica in sync only once the replica took its confirmation, not when it sent it. */
    @Test
    void inSyncOnlyOnceTheReplicaTookTheConfirmation() throws Exception {
        pushDelayMs = 200;
        try (Wired w = wire(quietFor(100), true)) {
            StateApplier applier = writtenAndApplied(w.origin());
            long end = System.currentTimeMillis() + DEADLINE_MS;
            while (!w.link().inSync() && System.currentTimeMillis() < end) {
                Thread.sleep(1);
            }
            assertThat(w.link().inSync()).isTrue();
            assertThat(applier.confirmed()).as("confirmed on the replica when the origin says in sync").isTrue();
            assertThat(applier.reportedSeq()).isEqualTo(w.origin().log().lastSeq()).isPositive();
        }
    }

    /**
     * An origin that writes without pause (never quiet for the link's quiet period) and changes a file where capture
     * does not see (as SQLite changes its -shm through a shared mapping) still has its replica confirmed after a
     * resync: the verification holds the stream instead of waiting for quiet forever, and a file that differs again
     * with no op on it since its last repair is copied but not awaited.
     */
    @Test
    void aBusyOriginWithUnseenChangesStillGetsItsReplicaConfirmed() throws Exception {
        try (Wired w = wire(quietFor(100), true)) {
            OriginReplication origin = w.origin();
            StateApplier applier = writtenAndApplied(origin);
            awaitConfirmed(applier);
            java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
            java.util.concurrent.atomic.AtomicBoolean touchShm = new java.util.concurrent.atomic.AtomicBoolean();
            Thread writer = new Thread(() -> {
                long seq = 1000;
                long off = 0;
                try {
                    while (writing.get()) {
                        byte[] line = ("entry " + seq + "\n").getBytes(StandardCharsets.UTF_8);
                        Files.write(tmp.resolve("o/data/log"), line, java.nio.file.StandardOpenOption.CREATE,
                                java.nio.file.StandardOpenOption.APPEND);
                        origin.accept(List.of(event(7, seq++).setWrite(io.edgerep.proto.v1.FileWrite.newBuilder()
                                .setPath("/data/log").setOffset(off)
                                .setData(com.google.protobuf.ByteString.copyFrom(line))).build()), 0);
                        off += line.length;
                        Files.writeString(tmp.resolve("o/data/shm"), "index " + seq); // no event: a mapping
                        if (touchShm.getAndSet(false)) { // once, as SQLite sizes its -shm with a call
                            origin.accept(List.of(event(7, seq++).setTruncate(io.edgerep.proto.v1.FileTruncate
                                    .newBuilder().setPath("/data/shm").setLength(Files.size(tmp.resolve("o/data/shm"))))
                                    .build()), 0);
                        }
                        Thread.sleep(20);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            writer.start();
            try {
                long writes = origin.log().lastSeq();
                assertThat(origin.log().awaitAfter(writes + 10, 60_000)).as("the writer is writing").isTrue();
                // the replica as the resync's first batch left it
                java.util.concurrent.CompletableFuture<Boolean> confirmedAtResync = new java.util.concurrent.CompletableFuture<>();
                watcher.after(b -> {
                    if (b.hasResyncBegin()) {
                        confirmedAtResync.complete(applier.confirmed());
                    }
                });
                w.link().requestFullResync(); // e.g. records lost in the kernel
                assertThat(confirmedAtResync.get(DEADLINE_MS, TimeUnit.MILLISECONDS)).as("unconfirmed by the resync")
                        .isFalse();
                touchShm.set(true);
                awaitConfirmed(applier);
                assertThat(writer.isAlive()).as("confirmed while the origin kept writing").isTrue();
            } finally {
                writing.set(false);
                writer.join();
            }
            assertThat(w.link().unseenChanges()).containsExactly("/data/shm");
        }
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

    /** Ops captured before a resync read the files, delivered after it: already in its content. */
    @Test
    void opsTheResyncContentAlreadyHoldsAreNotReplayedOnTopOfIt() throws Exception {
        try (Wired w = wire(quietFor(3_600_000), false)) {
            OriginReplication origin = w.origin();
            ReplicaLink link = w.link();
            Path data = tmp.resolve("o/data");
            Files.writeString(data.resolve("app.log"), "old\n".repeat(100));
            List<io.edgerep.proto.v1.StateEvent> late = new java.util.ArrayList<>();
            // the application appends and saves by rename-over; the loader's events are still on their way
            Files.writeString(data.resolve("app.log"), "late\n", java.nio.file.StandardOpenOption.APPEND);
            late.add(event(7, 1).setWrite(io.edgerep.proto.v1.FileWrite.newBuilder().setPath("/data/app.log")
                    .setAppend(true).setData(com.google.protobuf.ByteString.copyFromUtf8("late\n"))).build());
            Files.writeString(data.resolve("cfg.tmp"), "config 2\n");
            late.add(event(7, 2).setCreate(io.edgerep.proto.v1.FileCreate.newBuilder().setPath("/data/cfg.tmp")
                    .setTruncate(true).setMode(0644)).build());
            late.add(event(7, 3).setWrite(io.edgerep.proto.v1.FileWrite.newBuilder().setPath("/data/cfg.tmp")
                    .setData(com.google.protobuf.ByteString.copyFromUtf8("config 2\n"))).build());
            Files.move(data.resolve("cfg.tmp"), data.resolve("cfg"));
            late.add(event(7, 4).setRename(io.edgerep.proto.v1.FileRename.newBuilder().setFrom("/data/cfg.tmp")
                    .setTo("/data/cfg")).build());
            Files.writeString(data.resolve("cfg.tmp"), "config 3, half wri");
            late.add(event(7, 5).setCreate(io.edgerep.proto.v1.FileCreate.newBuilder().setPath("/data/cfg.tmp")
                    .setTruncate(true).setMode(0644)).build());
            late.add(event(7, 6).setWrite(io.edgerep.proto.v1.FileWrite.newBuilder().setPath("/data/cfg.tmp")
                    .setData(com.google.protobuf.ByteString.copyFromUtf8("config 3, half wri"))).build());
            origin.captureOn();
            long end = System.currentTimeMillis() + DEADLINE_MS;
            while (link.counters().resyncs() == 0 && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            assertThat(link.counters().resyncs()).isEqualTo(1);
            origin.accept(late, 0); // delivered after the resync read the files
            // and what happens after the resync is replayed as usual
            Files.writeString(data.resolve("app.log"), "after\n", java.nio.file.StandardOpenOption.APPEND);
            origin.accept(List.of(event(7, 7).setWrite(io.edgerep.proto.v1.FileWrite.newBuilder()
                    .setPath("/data/app.log").setAppend(true)
                    .setData(com.google.protobuf.ByteString.copyFromUtf8("after\n"))).build()), 0);
            awaitIdentical(data, tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            assertThat(link.counters().skippedOps()).isEqualTo(6);
            assertThat(link.counters().verifyRepairs()).isZero();
            StateApplier applier = service.replicas().values().iterator().next().applier();
            assertThat(applier.failedOps()).isZero();
            assertThat(applier.appliedSeq()).isEqualTo(7);
        }
    }

    /** Ops a resync cannot place (no timestamp) may leave the replica different: it must not report caught up. */
    @Test
    void aReplicaReportsProgressOnlyUpToWhatTheOriginConfirmed() throws Exception {
        try (Wired w = wire(quietFor(1500), false)) {
            OriginReplication origin = w.origin();
            ReplicaLink link = w.link();
            Path data = tmp.resolve("o/data");
            Files.writeString(data.resolve("app.log"), "old\nlate\n");
            origin.captureOn();
            long end = System.currentTimeMillis() + DEADLINE_MS;
            while (link.counters().resyncs() == 0 && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            StateApplier applier = service.replicas().values().iterator().next().applier();
            // the replica as the batch with op 1 left it, before anything the origin sends after it
            java.util.concurrent.CompletableFuture<String> atOp1 = new java.util.concurrent.CompletableFuture<>();
            watcher.after(b -> {
                if (applier.appliedSeq() == 1 && !atOp1.isDone()) {
                    try {
                        atOp1.complete(Files.readString(tmp.resolve("r/data/app.log")) + "|verified "
                                + applier.confirmed() + "|reported " + applier.reportedSeq() + "|lag "
                                + (applier.reportedLagMs() > 0) + "|in sync " + link.inSync());
                    } catch (IOException e) {
                        atOp1.completeExceptionally(e);
                    }
                }
            });
            origin.accept(List.of(untimed(1).setWrite(io.edgerep.proto.v1.FileWrite.newBuilder()
                    .setPath("/data/app.log").setAppend(true)
                    .setData(com.google.protobuf.ByteString.copyFromUtf8("late\n"))).build()), 0);
            assertThat(atOp1.get(60, TimeUnit.SECONDS))
                    .isEqualTo("old\nlate\nlate\n|verified false|reported 0|lag true|in sync false");
            // once the origin is quiet it verifies, repairs, and confirms
            awaitIdentical(data, tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            end = System.currentTimeMillis() + DEADLINE_MS;
            while (!applier.confirmed() && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            assertThat(applier.confirmed()).isTrue();
            assertThat(applier.reportedSeq()).isEqualTo(origin.log().lastSeq());
            awaitInSync(link);
        }
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

    @Test
    void onlyTheConfiguredOriginNodeMayPushAndUntrustedCertificatesAreRefused() throws Exception {
        startReplica(0);
        // node C holds a valid certificate from the same CA, but is not the origin of this key
        NodeTls nodeC = ca.node("node-c");
        ManagedChannel asC = channelTo(nodeC, "node-b");
        try {
            assertThatThrownBy(() -> ReplicationGrpc.newBlockingStub(asC).checksums(
                    ChecksumsRequest.newBuilder().setKey(KEY).setReplicaPod(POD).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
            assertThat(service.refusedPeers()).isEqualTo(1);
        } finally {
            asC.shutdownNow();
        }
        // a certificate for node-a, but from another CA: the handshake fails
        NodeTls forged = new TestCa("evil-ca").node("node-a");
        ManagedChannel asForged = NettyChannelBuilder.forAddress("127.0.0.1", port)
                .sslContext(io.grpc.netty.GrpcSslContexts.forClient().keyManager(forged.key(), forged.cert())
                        .trustManager(ca.cert).build())
                .overrideAuthority("node-b").build();
        try {
            assertThatThrownBy(() -> ReplicationGrpc.newBlockingStub(asForged).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .checksums(ChecksumsRequest.newBuilder().setKey(KEY).setReplicaPod(POD).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        } finally {
            asForged.shutdownNow();
        }
        // the origin itself is let in
        ManagedChannel asA = channelTo(nodeA, "node-b");
        try {
            assertThat(ReplicationGrpc.newBlockingStub(asA).checksums(
                    ChecksumsRequest.newBuilder().setKey(KEY).setReplicaPod(POD).build()).getFilesList()).isEmpty();
        } finally {
            asA.shutdownNow();
        }
    }

    /** An origin of an older protocol (a batch of no known kind) is refused with a reason, and nothing applied. */
    @Test
    void aPushOfAnOlderProtocolIsRefused() throws Exception {
        startReplica(0);
        ManagedChannel asA = channelTo(nodeA, "node-b");
        try {
            java.util.concurrent.CompletableFuture<Throwable> refused = new java.util.concurrent.CompletableFuture<>();
            var out = ReplicationGrpc.newStub(asA).push(new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(io.edgerep.proto.v1.Ack a) {
                    refused.complete(null);
                }

                @Override
                public void onError(Throwable t) {
                    refused.complete(t);
                }

                @Override
                public void onCompleted() {
                    refused.complete(null);
                }
            });
            out.onNext(io.edgerep.proto.v1.StateBatch.newBuilder().setKey(KEY).setReplicaPod(POD).setEpoch(1).build());
            Throwable t = refused.get(DEADLINE_MS, TimeUnit.MILLISECONDS);
            assertThat(t).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(e.getStatus().getDescription()).contains("older protocol");
            });
            assertThat(service.replicas().values().iterator().next().applier().ack().getEpoch()).isZero();
        } finally {
            asA.shutdownNow();
        }
    }

    /**
     * The workload with its first loop held after 20 rounds until the file gate exists (a path outside the replicated
     * directory), so that a test can act while it is surely mid-way.
     */
    static String workload(Path gate) {
        return WORKLOAD.replace("GATE", gate.toString());
    }

    /** Real programs writing the origin's directory; {@link #workload} gives it a gate ("GATE" here). */
    private static final String WORKLOAD = """
            set -e
            sqlite3 journal.db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
            sqlite3 wal.db 'PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
            git init -q repo
            for i in $(seq 1 40); do
              if [ $i = 21 ]; then while [ ! -e GATE ]; do sleep 0.01; done; fi
              sqlite3 journal.db "INSERT INTO t(v) SELECT hex(randomblob(300)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20) SELECT x FROM c); DELETE FROM t WHERE id % 7 = $i % 7 AND id < $i * 5;"
              printf 'config %s\\n' $i > cfg.tmp && mv cfg.tmp cfg
              for j in $(seq 1 10); do echo "line $(( (i-1)*10 + j ))" >> app.log; done
              if [ $((i % 8)) = 0 ]; then
                (cd repo && echo "rev $i" > "f$i" && seq 1 $((i*50)) > big && git add -A && git -c user.name=t -c user.email=t@e commit -qm "c$i")
              fi
              sleep 0.03
            done &
            ( echo '.timeout 5000'; for i in $(seq 1 120); do
                echo "INSERT INTO t(v) VALUES (hex(randomblob(1000))); UPDATE t SET v = hex(randomblob(500)) WHERE id = $i / 2 + 1;"
                sleep 0.025
              done ) | sqlite3 wal.db
            wait
            (cd repo && git -c user.name=t -c user.email=t@e commit -q --allow-empty -m final && git gc -q)
            """;

    static String sh(Path dir, String cmd) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }

    /** Waits until both trees hold the same files, directories, modes and bytes; returns when (or fails at the deadline). */
    static long awaitIdentical(Path a, Path b, long deadline) throws Exception {
        Map<String, String> ta = tree(a);
        Map<String, String> tb = Map.of();
        while (System.currentTimeMillis() < deadline) {
            try {
                tb = tree(b);
            } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
                Thread.sleep(20); // the replica is changing under the walk
                continue;
            }
            if (ta.equals(tb)) {
                return System.currentTimeMillis();
            }
            Thread.sleep(20);
        }
        assertThat(tb).as("replica tree").isEqualTo(ta);
        return System.currentTimeMillis();
    }

    static Map<String, String> tree(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        if (!Files.exists(root)) {
            return out;
        }
        try (var s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                String mode = Integer.toOctalString(OpExecutor.mode(p));
                if (Files.isDirectory(p)) {
                    out.put(rel + "/", "dir " + mode);
                } else if (Files.isRegularFile(p)) {
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    out.put(rel, mode + " " + HexFormat.of().formatHex(md.digest(Files.readAllBytes(p))));
                }
            }
        }
        return out;
    }
}
