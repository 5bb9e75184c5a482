// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.jboss.logging.Logger;

import io.edgerep.proto.v1.ReplicatedOp;

/**
 * Verification of one replica after a resync, a repair or a doubt: compares the paths touched since, repairs what
 * differs and keeps verifying until they match, then confirms the replica at the seq it stands at. It verifies once
 * the origin has been quiet for a while or, under steady writes, after {@link #BUSY_QUIETS} quiet periods of waiting;
 * meanwhile the link sends nothing else, so the replica stands at the last op sent.
 *
 * <p>
 * A repair does not hold back the confirmation when it is accounted for: ops sequenced after the replica's position
 * changed the path before it was read (the repair holds their effect, and the replica skips them), or the path
 * differed again although no op touched it since the last repair: it changes where capture cannot see, through a
 * shared writable mapping (SQLite's -shm), and is copied at each verification but no longer awaited.
 */
final class Verifier {
    private static final Logger LOG = Logger.getLogger(Verifier.class);

    /** Longest wait between verifications of a replica whose files keep differing after repairs. */
    static final long MAX_BACKOFF_MS = 5_000;
    /** Quiet periods a verification waits for a quiet origin before it holds the stream and verifies anyway. */
    static final int BUSY_QUIETS = 5;
    /** Busy verifications in a row that could not tell what ops did to what they repaired before waiting for quiet. */
    static final int BUSY_GIVE_UP = 3;

    private final String key;
    private final String pod;
    private final OpLog log;
    private final ReplicaLink.Options opt;
    private final LinkCounters counters;
    private final TouchedPaths touched;
    private final SnapshotPlacement placement;
    private final ResyncSender sender;

    private volatile boolean pending;
    private java.util.function.Consumer<Set<String>> onDrift = paths -> {
    };
    private Runnable onConfirmed = () -> {
    };
    /** When the link began waiting for a quiet origin to verify (0: not waiting). */
    private long waitFromMs;
    /** Whether the verification running now did not wait for a quiet origin. */
    private boolean busy;
    /** Busy verifications in a row that could not tell what ops did to the paths they repaired. */
    private int busyRoundsUnknown;
    /** Verifications in a row that had to repair, and when the next may run. */
    private int repairRounds;
    private long nextMs;
    /** Paths the last verification repaired (null: unknown), and paths ops touched since. */
    private Set<String> repairedLast;
    private final Set<String> touchedByOps = new HashSet<>();
    /** Paths found changing where capture does not see. */
    private final Set<String> unseenChanges = ConcurrentHashMap.newKeySet();

    Verifier(String key, String pod, OpLog log, ReplicaLink.Options opt, LinkCounters counters, TouchedPaths touched,
            SnapshotPlacement placement, ResyncSender sender) {
        this.key = key;
        this.pod = pod;
        this.log = log;
        this.opt = opt;
        this.counters = counters;
        this.touched = touched;
        this.placement = placement;
        this.sender = sender;
    }

    /** Whether a verification is owed. */
    boolean pending() {
        return pending;
    }

    /** Verify the paths touched so far. */
    void request() {
        pending = true;
    }

    /** Verify these paths (and those touched so far). */
    void requestPaths(java.util.Collection<String> paths) {
        touched.add(paths);
        pending = true;
    }

    /** Runs each time the replica is confirmed. */
    /** Called with the paths a verification at a quiet origin repaired that no op explains: drift. */
    void onDrift(java.util.function.Consumer<Set<String>> hook) {
        this.onDrift = hook;
    }

    void onConfirmed(Runnable hook) {
        this.onConfirmed = hook;
    }

    /** Verify the whole tree. */
    void requestWhole() {
        pending = true;
        touched.everything();
    }

    /** A whole-tree resync begins: it is verified afresh. */
    void resetForResync() {
        pending = true;
        repairRounds = 0;
        nextMs = 0;
        repairedLast = null;
        busyRoundsUnknown = 0;
        touchedByOps.clear();
    }

    /** Ops about to be sent while a verification is owed: their paths are compared, and seen as changed by ops. */
    void noteOps(List<ReplicatedOp> ops) {
        if (!pending) {
            return;
        }
        for (ReplicatedOp op : ops) {
            if (!op.hasEvent()) {
                continue;
            }
            List<String> paths = StateEvents.pathsOf(op.getEvent());
            touched.add(paths);
            if (repairedLast != null) {
                touchedByOps.addAll(paths);
                if (touchedByOps.size() > opt.maxTouched()) {
                    repairedLast = null; // too much to tell what changed unseen this round
                    touchedByOps.clear();
                }
            }
        }
    }

    /** Whether the owed verification may run now, the last op having been sent at lastOpMs. */
    boolean due(long lastOpMs, long now) {
        if (!pending) {
            waitFromMs = 0;
            return false;
        }
        if (now < nextMs) {
            return false;
        }
        if (waitFromMs == 0) {
            waitFromMs = now;
        }
        busy = now - lastOpMs < opt.quietMs();
        return !busy || (now - waitFromMs >= BUSY_QUIETS * opt.quietMs() && busyRoundsUnknown < BUSY_GIVE_UP);
    }

    /** Compares what was touched with the replica standing at seq applied; repairs, or confirms it there. */
    void verify(PushSession s, long applied) throws Exception {
        waitFromMs = 0;
        Set<String> scope = touched.take();
        if (scope != null && scope.isEmpty()) {
            confirmed(s, applied, false);
            return;
        }
        SnapshotTimes times = new SnapshotTimes(scope == null);
        if (scope == null) {
            placement.replaceAll(times);
        } else {
            placement.add(times);
        }
        ResyncSender.Sent sent = sender.compare(s, scope, times, applied);
        if (sent.confirmed()) {
            confirmed(s, applied, true);
        } else if (accountedFor(sent.paths(), times, applied)) {
            confirmed(s, applied, false);
        } else {
            counters.verifyRepairs.incrementAndGet();
            repairRounds++;
            nextMs = System.currentTimeMillis() + Math.min(MAX_BACKOFF_MS, 10L << Math.min(repairRounds, 10));
            LOG.infof("replica %s/%s: verification repaired %d paths (%d bytes): %s", key, pod,
                    sent.result().files(), sent.result().bytes(), sent.firstPaths());
            if (!busy && sent.paths() != null) { // no op in flight: what differed, differed behind capture's back
                Set<String> drifted = new java.util.TreeSet<>(sent.paths());
                drifted.removeAll(unseenChanges);
                if (!drifted.isEmpty()) {
                    onDrift.accept(drifted);
                }
            }
            if (scope != null) {
                touched.add(scope);
            } else {
                touched.everything();
            }
        }
    }

    private void confirmed(PushSession s, long applied, boolean confirmSent) throws Exception {
        pending = false;
        repairRounds = 0;
        repairedLast = null;
        busyRoundsUnknown = 0;
        if (!confirmSent) {
            s.sendConfirm(applied);
        }
        onConfirmed.run();
    }

    /** Whether every repair is accounted for (see the class comment); anything else is a real repair. */
    private boolean accountedFor(Set<String> repaired, SnapshotTimes times, long applied) throws Exception {
        Set<String> explained = repaired == null ? null : changedBeforeRead(repaired, times, applied);
        boolean accounted = explained != null;
        if (busy) {
            busyRoundsUnknown = explained == null ? busyRoundsUnknown + 1 : 0;
        }
        if (repaired != null) {
            for (String p : repaired) {
                if (explained != null && explained.contains(p)) {
                    continue;
                }
                if (repairedLast != null && repairedLast.contains(p) && !touchedByOps.contains(p)
                        && unseenChanges.add(p)) {
                    LOG.infof("replica %s/%s: %s changes without a captured call (a shared mapping?); copied at each "
                            + "verification, not awaited", key, pod, p);
                }
                accounted &= unseenChanges.contains(p);
            }
        }
        repairedLast = repaired == null ? null : new HashSet<>(repaired);
        touchedByOps.clear();
        return accounted;
    }

    /**
     * Of paths, those an op sequenced after {@code applied} changed before the plan read them (so the replica at
     * {@code applied} could not have matched); null when one may have changed while it was read, or an op on one also
     * touched a path the plan did not read (the replica will replay it as it stands).
     */
    private Set<String> changedBeforeRead(Set<String> paths, SnapshotTimes times, long applied) throws Exception {
        Set<String> out = new HashSet<>();
        boolean known;
        try {
            known = log.scanAfter(applied, opt.maxBatchOps(), opt.maxBatchBytes(), op -> {
                if (!op.hasEvent()) {
                    return true;
                }
                List<String> touches = StateEvents.pathsOf(op.getEvent());
                if (Collections.disjoint(touches, paths)) {
                    return true;
                }
                if (!times.covers(touches)) {
                    return false; // e.g. a rename to a path this plan did not read: replayed as it stands, it may fail
                }
                switch (times.classify(op.getEvent().getTimestampNs(), touches)) {
                    case INCLUDED -> touches.stream().filter(paths::contains).forEach(out::add);
                    case UNKNOWN -> {
                        return false;
                    }
                    default -> {
                    }
                }
                return true;
            });
        } catch (OpLog.GoneException e) {
            return null;
        }
        return known ? out : null;
    }

    /** Paths found changing where capture does not see (copied at each verification, never awaited). */
    Set<String> unseenChanges() {
        return Set.copyOf(unseenChanges);
    }
}
