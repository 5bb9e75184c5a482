// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.proto.v1.ReplicatedOp;

/**
 * A replica joins an origin whose application was writing before replication started (the initial whole-tree resync):
 * the origin directory already holds files and SQLite databases, its processes hold descriptors opened before the
 * trace existed, and they keep writing through them while the resync runs. The replica must end byte-identical, and
 * its first confirmation — given while the application writes or after, as the verification manages — must be one
 * the replica's content bears out.
 */
class PreexistingStateReplicationIT {
    private static final Logger LOG = Logger.getLogger(PreexistingStateReplicationIT.class);

    @TempDir
    Path tmp;

    @Test
    void replicaJoiningAWritingOriginEndsIdentical() throws Exception {
        RealLoaderFixture.assumeRealLoader();
        try (RealLoaderFixture f = new RealLoaderFixture(tmp)) {
            OriginWorkload.prepopulate(f.originData);
            f.startLoader();
            ConfirmationProbe probe = new ConfirmationProbe(() -> f.applier);
            f.startReplica(probe);
            // the application runs before any EdgeReplica exists: its descriptors predate the trace
            OriginWorkload work = new OriginWorkload(f);
            work.start();
            work.awaitWriting();
            Check check = new Check(f, work);
            java.util.concurrent.CompletableFuture<ConfirmationProbe.Result> confirmation = probe
                    .arm(check::atConfirmation);
            long joined = System.currentTimeMillis();
            f.startOrigin();
            long end = System.currentTimeMillis() + 120_000;
            while (f.link.counters().resyncs() == 0 && System.currentTimeMillis() < end) {
                Thread.sleep(20);
            }
            assertThat(f.link.counters().resyncs()).as("initial resync done").isEqualTo(1);
            // the writes go on after the resync, for a number of ops (not a time): the origin may confirm the
            // replica meanwhile (verifying under load) or only once they end; either way the confirmation is checked
            long afterResync = f.origin.log().lastSeq();
            while (!confirmation.isDone() && f.origin.log().lastSeq() < afterResync + 1000) {
                assertThat(work.running()).as("writers alive").isTrue();
                assertThat(System.currentTimeMillis()).as("1000 ops captured after the resync").isLessThan(end);
                f.origin.log().awaitAfter(f.origin.log().lastSeq(), 100);
            }
            long writesEnd = work.stop();
            ConfirmationProbe.Result r = probe.await(120_000);
            LOG.infof("first confirmation at seq %d, %s; %d ops captured up to the check; not compared: %s",
                    r.confirmedSeq(), check.writing ? "while the writers ran" : "after the writes ended",
                    check.lastSeq, check.notCompared);
            assertThat(r.differences()).as("replica at confirmed seq %d, on every path no later op touched",
                    r.confirmedSeq()).isEmpty();
            long converged = f.awaitIdentical(writesEnd + 5000);
            LOG.infof(
                    "pre-existing state: joined %d ms before the writes ended, converged %d ms after them; %d events, "
                            + "%d ops sent, %d of them already in the resync content, %d verification repairs, "
                            + "%d resyncs, %d bytes resynced",
                    writesEnd - joined, converged - writesEnd, f.pump.events(), f.link.counters().sentOps(),
                    f.link.counters().skippedOps(), f.link.counters().verifyRepairs(), f.link.counters().resyncs(),
                    f.link.counters().resyncedBytes());
            assertThat(f.link.counters().resyncedBytes()).as("the existing files came by the initial resync")
                    .isGreaterThan(1 << 20);
            work.assertDatabasesMatch();
            assertThat(f.pump.events()).as("writes captured after the trace started").isGreaterThan(100);
            assertThat(f.applier.refusedOps()).isZero();
            f.awaitInSync(30_000);
            assertThat(f.applier.appliedSeq()).isEqualTo(f.origin.log().lastSeq());
            assertThat(f.applier.confirmed()).as("the origin confirmed the replica's content").isTrue();
            assertThat(f.applier.reportedSeq()).isEqualTo(f.origin.log().lastSeq());
        }
    }

    /**
     * What the replica holds when it takes a confirmation, against the origin at that sequence. The check freezes the
     * origin's application, drains capture, and compares every path that no op after the confirmed one touched: those
     * paths hold on the origin what they held at the confirmed sequence, so the replica must hold it too. Paths the
     * application maps shared and writable change where no capture sees them (SQLite's -shm) and are left out.
     */
    private static final class Check {
        private final RealLoaderFixture f;
        private final OriginWorkload work;
        private final FrozenOrigin frozen;
        volatile boolean writing;
        volatile long lastSeq;
        volatile Set<String> notCompared = Set.of();

        Check(RealLoaderFixture f, OriginWorkload work) {
            this.f = f;
            this.work = work;
            this.frozen = new FrozenOrigin(f);
        }

        String atConfirmation(long confirmedSeq) {
            try {
                writing = work.running();
                frozen.freeze();
                lastSeq = frozen.drainCapture();
                Set<String> touched = new HashSet<>();
                for (ReplicatedOp op : frozen.opsBetween(confirmedSeq + 1, lastSeq)) {
                    if (op.hasEvent()) {
                        for (String p : StateEvents.pathsOf(op.getEvent())) {
                            // the path, and its directory, whose entries and times the op may have changed
                            touched.add(relative(f, p));
                            touched.add(relative(f, ResyncPlanner.parent(p)));
                        }
                    }
                }
                Set<String> skip = new TreeSet<>(touched);
                skip.addAll(frozen.sharedWritableMappings());
                notCompared = skip;
                String diff = differences(Trees.tree(f.originData),
                        Trees.tree(f.replicaData), skip);
                frozen.thaw();
                return diff;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A container path as the tree comparison names it: relative to the origin's directory, "." for itself. */
    static String relative(RealLoaderFixture f, String containerPath) {
        return containerPath.equals(f.prefix)
                ? "."
                : containerPath.startsWith(f.prefix + "/")
                        ? containerPath.substring(f.prefix.length() + 1)
                        : containerPath;
    }

    /** Every path of either tree outside skip whose entries differ. */
    static String differences(Map<String, String> origin, Map<String, String> replica, Set<String> skip) {
        Set<String> keys = new TreeSet<>(origin.keySet());
        keys.addAll(replica.keySet());
        StringBuilder out = new StringBuilder();
        for (String k : keys) {
            if (!skip.contains(k) && !Objects.equals(origin.get(k), replica.get(k))) {
                out.append(k).append(": origin ").append(origin.get(k)).append(", replica ").append(replica.get(k))
                        .append('\n');
            }
        }
        return out.toString();
    }
}
