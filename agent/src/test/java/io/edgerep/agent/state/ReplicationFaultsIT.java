// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults while the origin application writes, with the real loader (root, bcc): the replica agent, the loader and the
 * origin agent each crash and come back. Every time the replica converges byte-identical within 5 s of the recovery,
 * with nothing lost, and the bytes the recovery resynced are reported.
 */
class ReplicationFaultsIT {
    private static final Logger LOG = Logger.getLogger(ReplicationFaultsIT.class);
    /** How long a fault lasts while the application goes on writing. */
    static final long OUTAGE_MS = 1500;

    @TempDir
    Path tmp;

    /** A crash and its recovery; returns when the recovered system is whole again. */
    interface Fault {
        long inject(RealLoaderFixture f) throws Exception;
    }

    @Test
    void replicaAgentKilledMidStreamAndRestarted() throws Exception {
        run("replica agent restart", f -> {
            f.stopReplica();
            Thread.sleep(OUTAGE_MS);
            f.startReplica();
            return System.currentTimeMillis();
        });
    }

    @Test
    void loaderKilledWhileTheOriginWritesAndRestarted() throws Exception {
        run("loader restart", f -> {
            f.killLoader();
            Thread.sleep(OUTAGE_MS);
            long restarted = System.currentTimeMillis();
            f.startLoader();
            // back once the agent has set the trace in the new loader (its first trace compiles the program)
            long end = System.currentTimeMillis() + 60_000;
            while (!f.origin.capturing() && System.currentTimeMillis() < end) {
                Thread.sleep(20);
            }
            assertThat(f.origin.capturing()).as("capture on again").isTrue();
            long recovered = System.currentTimeMillis();
            LOG.infof("loader restart: capture on again %d ms after the loader was restarted", recovered - restarted);
            return recovered;
        });
    }

    @Test
    void originAgentRestarted() throws Exception {
        run("origin agent restart", f -> {
            f.stopOrigin();
            Thread.sleep(OUTAGE_MS);
            f.startOrigin();
            return System.currentTimeMillis();
        });
    }

    private void run(String name, Fault fault) throws Exception {
        RealLoaderFixture.assumeRealLoader();
        try (RealLoaderFixture f = new RealLoaderFixture(tmp)) {
            OriginWorkload.prepopulate(f.originData);
            f.startLoader();
            f.startReplica();
            f.startOrigin();
            f.awaitInSync(60_000);
            OriginWorkload work = new OriginWorkload(f);
            work.start();
            work.awaitWriting();
            awaitOps(f, 200); // the fault strikes while the application writes
            long bytesBefore = f.resyncedBytes();
            long recovered = fault.inject(f);
            awaitOps(f, 200); // and the application goes on writing after the recovery
            long writesEnd = work.stop();
            // converged within 5 s once the recovery is over and the writes ended
            long converged = f.awaitIdentical(writesEnd + 5000);
            long resynced = f.resyncedBytes() - bytesBefore;
            LOG.infof("%s: converged %d ms after the recovery (%d ms after the writes ended); the recovery resynced %d "
                    + "bytes; %d ops sent, %d already in resync content, %d verification repairs", name,
                    converged - recovered, converged - writesEnd, resynced, f.link.counters().sentOps(),
                    f.link.counters().skippedOps(),
                    f.link.counters().verifyRepairs());
            assertThat(converged - writesEnd).isLessThanOrEqualTo(5000);
            assertThat(resynced).as("bytes the recovery resynced").isPositive();
            work.assertDatabasesMatch();
            assertThat(f.applier.refusedOps()).isZero();
            f.awaitInSync(60_000);
            assertThat(f.applier.confirmed()).isTrue();
            assertThat(f.applier.reportedSeq()).isEqualTo(f.origin.log().lastSeq());
        }
    }

    /** Waits until the origin's log holds n more ops than now (captured writes, not time, pace the test). */
    private static void awaitOps(RealLoaderFixture f, long n) throws InterruptedException {
        long target = f.origin.log().lastSeq() + n;
        assertThat(f.origin.log().awaitAfter(target - 1, 120_000)).as(n + " ops captured").isTrue();
    }
}
