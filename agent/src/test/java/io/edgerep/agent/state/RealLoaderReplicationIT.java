// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the real loader (root, bcc): a process in a cgroup of its own writes with sqlite3, git, rename-over saves and
 * log appends; the loader captures the syscalls, the agent sequences and pushes them over mTLS, and the replica
 * directory becomes byte-identical, its SQLite databases passing integrity_check.
 */
class RealLoaderReplicationIT {
    private static final Logger LOG = Logger.getLogger(RealLoaderReplicationIT.class);

    @TempDir
    Path tmp;

    @Test
    void capturedByTheKernelAppliedOnTheReplica() throws Exception {
        RealLoaderFixture.assumeRealLoader();
        try (RealLoaderFixture f = new RealLoaderFixture(tmp)) {
            f.startLoader();
            f.startReplica();
            f.startOrigin();
            f.awaitInSync(30_000);

            Process work = f.startApp("workload", Trees.workload(Path.of("/")));
            f.awaitApp("workload", work, 180);
            long workloadEnd = System.currentTimeMillis();
            long converged = f.awaitIdentical(workloadEnd + 5000);
            LOG.infof("real loader: converged %d ms after the workload; %d events, %d ops sent, %d resyncs, %d bytes "
                    + "resynced, %d lost records", converged - workloadEnd, f.pump.events(),
                    f.link.counters().sentOps(),
                    f.link.counters().resyncs(), f.link.counters().resyncedBytes(), f.origin.lostRecords());
            assertThat(converged - workloadEnd).isLessThanOrEqualTo(5000);
            assertThat(f.pump.events()).as("events really came from the kernel").isGreaterThan(100);
            assertThat(f.applier.refusedOps()).isZero();
            assertThat(f.sqlite(f.replicaData, "journal.db", "PRAGMA integrity_check;")).isEqualTo("ok\n");
            assertThat(f.sqlite(f.replicaData, "wal.db", "PRAGMA integrity_check;")).isEqualTo("ok\n");
        }
    }
}
