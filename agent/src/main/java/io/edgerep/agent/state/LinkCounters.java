// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.concurrent.atomic.AtomicLong;

/** What one replica link has done since it started, for metrics, logs and tests. */
public final class LinkCounters {
    final AtomicLong resyncedBytes = new AtomicLong();
    final AtomicLong resyncs = new AtomicLong();
    final AtomicLong sentOps = new AtomicLong();
    final AtomicLong sessions = new AtomicLong();
    final AtomicLong skippedOps = new AtomicLong();
    final AtomicLong verifyRepairs = new AtomicLong();
    final AtomicLong driftedPaths = new AtomicLong();
    final AtomicLong treeComparisons = new AtomicLong();

    /** Bytes of file content sent by resyncs and repairs. */
    public long resyncedBytes() {
        return resyncedBytes.get();
    }

    /** Whole-tree resyncs sent. */
    public long resyncs() {
        return resyncs.get();
    }

    /** Sequenced ops sent. */
    public long sentOps() {
        return sentOps.get();
    }

    /** Push streams opened. */
    public long sessions() {
        return sessions.get();
    }

    /** Ops sent as placeholders because a resync's content already held them. */
    public long skippedOps() {
        return skippedOps.get();
    }

    /** Periodic whole-tree comparisons run. */
    public long treeComparisons() {
        return treeComparisons.get();
    }

    /** Paths the periodic whole-tree comparison found different where no captured op explained it. */
    public long driftedPaths() {
        return driftedPaths.get();
    }

    /** Verifications that found the replica different and repaired it (repairs not accounted for). */
    public long verifyRepairs() {
        return verifyRepairs.get();
    }
}
