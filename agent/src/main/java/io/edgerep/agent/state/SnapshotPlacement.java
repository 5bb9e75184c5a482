// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.BooleanSupplier;

import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;

/**
 * Places captured ops against the content recent resyncs and repairs read (see {@link SnapshotTimes}): an op whose
 * effect that content already holds becomes a placeholder (an event without an op: the seq advances, nothing is
 * replayed), one it cannot place is applied and its paths verified. Each read is kept, newest first, until the ops
 * come from after it.
 */
final class SnapshotPlacement {
    /** Ops captured this long after a read ended are certainly after it (timestamps of several CPUs). */
    static final long SNAPSHOT_SLACK_NS = 1_000_000_000L;

    /** The ops to send, and the paths of those that could not be placed (to verify). */
    record Placed(List<ReplicatedOp> ops, List<String> unknownPaths, int skipped) {
    }

    private final Deque<SnapshotTimes> snapshots = new ArrayDeque<>();
    private final BooleanSupplier clockTrusted;

    /** @param clockTrusted whether captured ops carry timestamps on our clock */
    SnapshotPlacement(BooleanSupplier clockTrusted) {
        this.clockTrusted = clockTrusted;
    }

    /** A newer read of some paths. */
    void add(SnapshotTimes times) {
        snapshots.addFirst(times);
    }

    /** A read of everything: the older ones have nothing more to say. */
    void replaceAll(SnapshotTimes times) {
        snapshots.clear();
        snapshots.addFirst(times);
    }

    Placed place(List<ReplicatedOp> ops) {
        if (snapshots.isEmpty()) {
            return new Placed(ops, List.of(), 0);
        }
        if (!clockTrusted.getAsBoolean()) {
            snapshots.clear();
            return new Placed(ops, List.of(), 0);
        }
        List<ReplicatedOp> out = new ArrayList<>(ops.size());
        List<String> unknown = new ArrayList<>();
        int skipped = 0;
        long oldest = Long.MAX_VALUE; // earliest timestamp in this batch
        for (ReplicatedOp op : ops) {
            if (!op.hasEvent()) {
                out.add(op);
                continue;
            }
            StateEvent ev = op.getEvent();
            oldest = Math.min(oldest, ev.getTimestampNs() <= 0 ? Long.MIN_VALUE : ev.getTimestampNs());
            List<String> paths = StateEvents.pathsOf(ev);
            switch (verdict(ev.getTimestampNs(), paths)) {
                case INCLUDED -> {
                    skipped++;
                    out.add(op.toBuilder().setEvent(StateEvent.newBuilder().setReplicationId(ev.getReplicationId())
                            .setSeq(ev.getSeq()).setTimestampNs(ev.getTimestampNs())).build());
                }
                case UNKNOWN -> {
                    unknown.addAll(paths);
                    out.add(op);
                }
                default -> out.add(op);
            }
        }
        long first = oldest;
        // a read that ended before everything from here on was captured has nothing more to say
        snapshots.removeIf(s -> first != Long.MIN_VALUE && first != Long.MAX_VALUE
                && first > s.end() + SNAPSHOT_SLACK_NS);
        return new Placed(out, unknown, skipped);
    }

    /** The newest read of these paths decides; none: the op came after them all. */
    private SnapshotTimes.Verdict verdict(long timestampNs, List<String> paths) {
        for (SnapshotTimes s : snapshots) {
            if (s.covers(paths)) {
                return s.classify(timestampNs, paths);
            }
        }
        return SnapshotTimes.Verdict.AFTER;
    }
}
