package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica joins an origin whose application was writing before replication started (the initial whole-tree resync):
 * the origin directory already holds files and SQLite databases, its processes hold descriptors opened before the
 * trace existed, and they keep writing through them while the resync runs. The replica must end byte-identical, and
 * must not claim to be in sync before it is.
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
            f.startReplica();
            // the application runs before any EdgeReplica exists: its descriptors predate the trace
            OriginWorkload work = new OriginWorkload(f);
            work.start();
            Thread.sleep(800);
            long joined = System.currentTimeMillis();
            f.startOrigin();
            // the writes go on through the trace's start, the initial resync and after it
            long end = System.currentTimeMillis() + 60_000;
            while (f.link.resyncs() == 0 && System.currentTimeMillis() < end) {
                Thread.sleep(20);
            }
            assertThat(f.link.resyncs()).as("initial resync done").isEqualTo(1);
            Thread.sleep(2500);
            assertThat(f.applier.verified()).as("no confirmation while the writes go on").isFalse();
            long writesEnd = work.stop();
            long converged = f.awaitIdentical(writesEnd + 5000);
            LOG.infof(
                    "pre-existing state: joined %d ms before the writes ended, converged %d ms after them; %d events, "
                            + "%d ops sent, %d of them already in the resync content, %d verification repairs, "
                            + "%d resyncs, %d bytes resynced",
                    writesEnd - joined, converged - writesEnd, f.pump.events(), f.link.sentOps(),
                    f.link.skippedOps(), f.link.verifyRepairs(), f.link.resyncs(), f.link.resyncedBytes());
            assertThat(converged - writesEnd).isLessThanOrEqualTo(5000);
            assertThat(f.link.resyncedBytes()).as("the existing files came by the initial resync")
                    .isGreaterThan(1 << 20);
            work.assertDatabasesMatch();
            assertThat(f.pump.events()).as("writes captured after the trace started").isGreaterThan(100);
            assertThat(f.applier.refusedOps()).isZero();
            f.awaitInSync(5000);
            assertThat(f.applier.appliedSeq()).isEqualTo(f.origin.log().lastSeq());
            assertThat(f.applier.verified()).as("the origin confirmed the replica's content").isTrue();
            assertThat(f.applier.reportedSeq()).isEqualTo(f.origin.log().lastSeq());
        }
    }

}
