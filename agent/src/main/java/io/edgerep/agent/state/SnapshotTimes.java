// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * When a resync read each path of the origin, on the clock of the loader's event timestamps (CLOCK_MONOTONIC, which is
 * also {@link System#nanoTime()} on Linux). A resync reads files while the application goes on writing, so its
 * content is newer than its base sequence number: captured ops sequenced after the base may already be in it, and
 * replaying those on top is not idempotent (an append lands twice, a rename moves newer content). An op is recorded at
 * its syscall's exit, after its effect is visible: one that exited before the resync began to read every path it
 * touches is already in the content, and the replica must skip it; one that exited after they were all read must be
 * applied; anything between is unknown, applied, and left for verification.
 */
final class SnapshotTimes {
    /** Where an op stands relative to the content a resync sent. */
    enum Verdict {
        /** Its effect is in the resync content: skip it. */
        INCLUDED,
        /** It happened after the content was read: apply it. */
        AFTER,
        /** Cannot tell: apply it and verify its paths. */
        UNKNOWN
    }

    private final boolean wholeTree;
    private final Map<String, long[]> read = new HashMap<>();
    private long walkStart = Long.MAX_VALUE;
    private long walkEnd = Long.MIN_VALUE;
    private long end = Long.MIN_VALUE;

    /** @param wholeTree the plan walked every replicated path, so a path it did not read was absent */
    SnapshotTimes(boolean wholeTree) {
        this.wholeTree = wholeTree;
    }

    static long now() {
        return System.nanoTime();
    }

    void walked(long start, long finish) {
        walkStart = Math.min(walkStart, start);
        walkEnd = Math.max(walkEnd, finish);
        end = Math.max(end, finish);
    }

    /** The path was read (or found absent, or listed) between start and finish. */
    void read(String path, long start, long finish) {
        read.merge(path, new long[]{start, finish}, (a, b) -> new long[]{Math.min(a[0], b[0]), Math.max(a[1], b[1])});
        end = Math.max(end, finish);
    }

    /** When the last read ended; ops captured later than this are all {@link Verdict#AFTER}. */
    long end() {
        return end;
    }

    /** Whether this plan read (or, walking the whole tree, saw the absence of) every one of paths. */
    boolean covers(Collection<String> paths) {
        if (wholeTree && walkStart <= walkEnd) {
            return true;
        }
        for (String p : paths) {
            if (!read.containsKey(p)) {
                return false;
            }
        }
        return true;
    }

    Verdict classify(long timestampNs, Collection<String> paths) {
        if (timestampNs <= 0 || paths.isEmpty()) {
            return Verdict.UNKNOWN;
        }
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (String p : paths) {
            long[] t = read.get(p);
            if (t == null) {
                if (!wholeTree || walkStart > walkEnd) {
                    return Verdict.UNKNOWN; // not part of this plan
                }
                t = new long[]{walkStart, walkEnd};
            }
            first = Math.min(first, t[0]);
            last = Math.max(last, t[1]);
        }
        if (timestampNs < first) {
            return Verdict.INCLUDED;
        }
        return timestampNs > last ? Verdict.AFTER : Verdict.UNKNOWN;
    }
}
