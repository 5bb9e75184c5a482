// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When a verification runs; what it does is covered with a replica in Trees. */
class VerifierTest {
    static final long QUIET = 200;

    @TempDir
    Path tmp;
    OpLog log;
    TouchedPaths touched;
    Verifier v;

    @BeforeEach
    void setUp() {
        log = new OpLog(tmp.resolve("spill"), 1 << 20, 1 << 20);
        ReplicaLink.Options d = ReplicaLink.Options.defaults();
        ReplicaLink.Options opt = new ReplicaLink.Options(d.maxBatchOps(), d.maxBatchBytes(), d.windowOps(),
                d.blockSize(), QUIET, d.maxTouched());
        touched = new TouchedPaths(opt.maxTouched());
        SnapshotPlacement placement = new SnapshotPlacement(() -> true);
        ConfinedRoot origin = new ConfinedRoot(tmp, List.of("/data"));
        LinkCounters counters = new LinkCounters();
        v = new Verifier("ns/er", "r-0", log, opt, counters, touched, placement,
                new ResyncSender("ns/er", "r-0", origin, opt, counters));
    }

    @AfterEach
    void tearDown() {
        log.close();
    }

    @Test
    void nothingIsDueUntilAVerificationIsOwed() {
        assertThat(v.pending()).isFalse();
        assertThat(v.due(0, 1_000_000)).isFalse();
        v.request();
        assertThat(v.pending()).isTrue();
        assertThat(v.due(0, 1_000_000)).as("the origin has been quiet for long").isTrue();
    }

    @Test
    void aBusyOriginIsVerifiedAfterWaitingSomeQuietPeriodsForAPause() {
        v.request();
        long t = 10_000;
        assertThat(v.due(t, t)).as("an op was just sent").isFalse();
        assertThat(v.due(t + Verifier.BUSY_QUIETS * QUIET - 1, t + Verifier.BUSY_QUIETS * QUIET - 1)).isFalse();
        long later = t + Verifier.BUSY_QUIETS * QUIET;
        assertThat(v.due(later - 1, later)).as("still busy, but waited long enough").isTrue();
    }

    @Test
    void opsSentWhileAVerificationIsOwedAreCompared() {
        v.noteOps(List.of(SnapshotPlacementTest.write(1, "/data/a", 5)));
        assertThat(touched.take()).as("nothing owed: nothing noted").isEmpty();
        v.requestWhole();
        assertThat(touched.take()).isNull();
        v.request();
        v.noteOps(List.of(SnapshotPlacementTest.write(2, "/data/b", 5)));
        assertThat(touched.take()).containsExactly("/data/b");
    }

    @Test
    void aResyncOwesAVerificationAfresh() {
        v.resetForResync();
        assertThat(v.pending()).isTrue();
        assertThat(v.due(0, 1_000_000)).isTrue();
    }
}
