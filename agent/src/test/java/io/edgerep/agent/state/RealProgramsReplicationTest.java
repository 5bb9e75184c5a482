// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.Trees.DEADLINE_MS;
import static io.edgerep.agent.state.Trees.awaitIdentical;
import static io.edgerep.agent.state.Trees.sh;
import static io.edgerep.agent.state.Trees.workload;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;

import io.edgerep.agent.DirDiffCapture;
import io.edgerep.agent.FakeLoader;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.loader.StateEventPump;
import io.grpc.ManagedChannel;

/**
 * Origin directories written by real programs (sqlite3 in rollback-journal and WAL modes, git, atomic rename-over
 * saves, log appends), captured into events and shipped over mTLS to a replica agent that is killed and restarted
 * mid-stream: the replica ends byte-identical within 5 s, SQLite integrity and git fsck passing on it; kernel loss,
 * dirty ranges and ops a resync already holds are handled.
 */
class RealProgramsReplicationTest extends ReplicationRig {
    private static final Logger LOG = Logger.getLogger(RealProgramsReplicationTest.class);

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
                    .setDirty(io.edgerep.proto.v1.FileDirty.newBuilder().setPath("/data/mapped")
                            .setReason(io.edgerep.proto.v1.DirtyReason.DIRTY_REASON_MMAP))
                    .build()), 0);
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            assertThat(link.counters().resyncs()).isEqualTo(resyncs + 1);
        }
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
            assertThat(applier.appliedSeq()).as("7 ops and the attributes after them")
                    .isEqualTo(origin.log().lastSeq());
        }
    }
}
