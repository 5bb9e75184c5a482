// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.Trees.DEADLINE_MS;
import static io.edgerep.agent.state.Trees.awaitIdentical;
import static io.edgerep.agent.state.Trees.tree;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** When the origin confirms a replica's content, and what a replica reports before it is confirmed. */
class ConfirmationTest extends ReplicationRig {
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
                // a verification may happen to read the mapped file between two of its changes and see it match
                // (the writer is slow on a loaded machine); from here the mapping also changes before the replica
                // takes each batch, so before the origin reads again: resync until a verification saw it change
                // unseen, and the replica must be confirmed after that too
                java.util.concurrent.atomic.AtomicLong remaps = new java.util.concurrent.atomic.AtomicLong();
                watcher.before(b -> {
                    try {
                        Files.writeString(tmp.resolve("o/data/shm"), "remapped " + remaps.incrementAndGet());
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                java.util.concurrent.atomic.AtomicInteger confirms = new java.util.concurrent.atomic.AtomicInteger();
                watcher.after(b -> {
                    if (b.hasConfirm()) {
                        confirms.incrementAndGet();
                    }
                });
                long end = System.currentTimeMillis() + DEADLINE_MS;
                while (w.link().unseenChanges().isEmpty() && System.currentTimeMillis() < end) {
                    int before = confirms.get();
                    w.link().requestFullResync();
                    while (confirms.get() == before && System.currentTimeMillis() < end) {
                        Thread.sleep(20);
                    }
                }
                assertThat(w.link().unseenChanges()).containsExactly("/data/shm");
                int seen = confirms.get();
                w.link().requestFullResync();
                while (confirms.get() == seen && System.currentTimeMillis() < end) {
                    Thread.sleep(20);
                }
                assertThat(confirms.get()).as("confirmed again with the unseen change known").isGreaterThan(seen);
                awaitConfirmed(applier);
                assertThat(writer.isAlive()).as("confirmed while the origin kept writing").isTrue();
            } finally {
                writing.set(false);
                writer.join();
            }
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
                if (applier.appliedSeq() >= 1 && !atOp1.isDone()) {
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
}
