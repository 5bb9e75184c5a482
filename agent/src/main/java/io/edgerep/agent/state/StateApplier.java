// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateBatch;
import io.edgerep.wire.ProtoTime;

/**
 * Replica side of one replication key and replica pod: applies sequenced ops strictly in order into a
 * {@link ConfinedRoot}, detects gaps and epoch changes (then waits for the origin's resync), applies resync blocks and
 * metas, honours sync barriers, and answers with the highest applied sequence number.
 *
 * <p>
 * Not thread-safe: one push stream at a time (the service serialises).
 */
public final class StateApplier {
    private static final Logger LOG = Logger.getLogger(StateApplier.class);

    private final String key;
    private final String pod;
    private final ConfinedRoot root;
    private final OpExecutor exec;

    private long epoch; // 0 = never synced since start
    private long appliedSeq;
    private boolean needsResync = true;
    /** Highest seq at which the origin confirmed this replica's content as its own; what progress reports. */
    private long confirmedSeq;
    /** Since when (ms) content is unconfirmed (after a resync began); 0 = confirmed. */
    private long unconfirmedSinceMs = System.currentTimeMillis();
    private long lastCapturedMs;
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong resyncs = new AtomicLong();
    private final AtomicLong appliedOps = new AtomicLong();
    private volatile long lagMs;
    private final ReplicaCheckpoint checkpoint;
    private boolean checkpointOnDisk;
    private boolean resumed;
    private long lastChangeMs;
    private volatile java.util.function.LongConsumer onApplied = s -> {
    };

    public StateApplier(String key, String pod, ConfinedRoot root) {
        this(key, pod, root, null);
    }

    /**
     * @param checkpoint where the replica's position is saved while idle (see {@link #checkpointIfIdle}); a valid
     *        one is resumed from here, so the origin need not resync; null = the position lives in memory only
     */
    public StateApplier(String key, String pod, ConfinedRoot root, Path checkpoint) {
        this.key = key;
        this.pod = pod;
        this.root = root;
        this.exec = new OpExecutor(root);
        this.checkpoint = checkpoint == null ? null : new ReplicaCheckpoint(checkpoint);
        if (this.checkpoint != null) {
            this.checkpoint.load(root).ifPresent(pos -> {
                epoch = pos.epoch();
                appliedSeq = pos.appliedSeq();
                needsResync = false;
                if (pos.confirmed()) {
                    confirmedSeq = appliedSeq;
                    unconfirmedSinceMs = 0;
                }
                checkpointOnDisk = true;
                resumed = true;
                LOG.infof("replica %s/%s: resumed at seq %d of epoch %d from its checkpoint", key, pod, appliedSeq,
                        epoch);
            });
        }
    }

    /** Whether this replica started from a saved position instead of needing a resync. */
    public boolean resumed() {
        return resumed;
    }

    /**
     * Saves the replica's position if no batch changed its files for idleMs and none is saved yet (a checkpoint on
     * disk is deleted before the next change, so it always describes the tree as it is).
     */
    public synchronized void checkpointIfIdle(long idleMs) {
        if (checkpoint == null || checkpointOnDisk || epoch == 0 || needsResync
                || System.currentTimeMillis() - lastChangeMs < idleMs) {
            return;
        }
        try {
            checkpoint.save(new ReplicaCheckpoint.Position(epoch, appliedSeq, unconfirmedSinceMs == 0), root);
            checkpointOnDisk = true;
        } catch (IOException e) {
            LOG.warnf("replica %s/%s: checkpoint not saved: %s", key, pod, e.getMessage());
        }
    }

    /** Forgets the saved position (the replica is no longer configured here). */
    public synchronized void dropCheckpoint() {
        if (checkpoint != null) {
            try {
                checkpoint.delete();
            } catch (IOException e) {
                LOG.warnf("replica %s/%s: checkpoint not removed: %s", key, pod, e.getMessage());
            }
            checkpointOnDisk = false;
        }
    }

    /** Before the tree changes: a saved position would no longer describe it. */
    private void invalidateCheckpoint() {
        lastChangeMs = System.currentTimeMillis();
        if (checkpointOnDisk) {
            try {
                checkpoint.delete();
                checkpointOnDisk = false;
            } catch (IOException e) {
                // left in place: its tree fingerprint no longer matches once the tree changes
                LOG.warnf("replica %s/%s: checkpoint not removed: %s", key, pod, e.getMessage());
            }
        }
    }

    /** Called after every batch with the applied sequence number (for latency measurements). */
    public void onApplied(java.util.function.LongConsumer listener) {
        this.onApplied = listener;
    }

    public ConfinedRoot root() {
        return root;
    }

    /**
     * Applies a batch and returns the ack to send.
     *
     * @throws IllegalArgumentException for a batch of no known kind (a peer of an older protocol)
     */
    public synchronized Ack apply(StateBatch batch) {
        StateBatch.KindCase kind = batch.getKindCase();
        if (kind == StateBatch.KindCase.KIND_NOT_SET) {
            throw new IllegalArgumentException("a push batch of no known kind: the origin speaks an older protocol");
        }
        boolean changes = kind == StateBatch.KindCase.RESYNC_BEGIN
                || kind == StateBatch.KindCase.OP_BATCH && batch.getOpBatch().getOpsCount() > 0;
        if (changes) {
            invalidateCheckpoint();
        }
        if (batch.getEpoch() != epoch || kind == StateBatch.KindCase.RESYNC_BEGIN) {
            // another origin incarnation's numbers mean nothing here; a resync rewrites content under us
            if (batch.getEpoch() != epoch) {
                confirmedSeq = 0;
            }
            unconfirmed();
        }
        if (kind == StateBatch.KindCase.RESYNC_BEGIN) {
            epoch = batch.getEpoch();
            appliedSeq = batch.getResyncBegin().getBaseSeq();
            needsResync = false;
            confirmedSeq = Math.min(confirmedSeq, appliedSeq);
        } else if (batch.getEpoch() != epoch) {
            needsResync = true; // a new origin incarnation or a replica that restarted
        }
        switch (kind) {
            case OP_BATCH -> applyOps(batch.getOpBatch().getOpsList());
            case RESYNC_END -> {
                if (!needsResync) {
                    resyncs.incrementAndGet();
                }
            }
            case CONFIRM -> confirm(batch);
            default -> {
            }
        }
        if (unconfirmedSinceMs == 0) {
            confirmedSeq = appliedSeq; // confirmed content plus ops applied in order stays the origin's
        }
        lagMs = lastCapturedMs == 0 ? 0 : Math.max(0, System.currentTimeMillis() - lastCapturedMs);
        onApplied.accept(appliedSeq);
        return ack();
    }

    private void unconfirmed() {
        if (unconfirmedSinceMs == 0) {
            unconfirmedSinceMs = System.currentTimeMillis();
        }
    }

    private void applyOps(List<ReplicatedOp> ops) {
        try {
            for (ReplicatedOp op : ops) {
                if (op.getSeq() == 0) {
                    unconfirmed(); // resync content or a repair: confirmed again only by the origin's word
                    applyOne(op);
                    continue;
                }
                if (needsResync || op.getSeq() <= appliedSeq) {
                    continue; // waiting for a resync, or a duplicate after a reconnect
                }
                if (op.getSeq() != appliedSeq + 1) {
                    LOG.warnf("replica %s/%s: gap, expected seq %d got %d", key, pod, appliedSeq + 1, op.getSeq());
                    needsResync = true;
                    continue;
                }
                applyOne(op);
                appliedSeq = op.getSeq();
                lastCapturedMs = ProtoTime.epochMillis(op.getCapturedAt());
            }
        } finally {
            try {
                exec.endBatch();
            } catch (IOException e) {
                failed.incrementAndGet();
                LOG.warnf("replica %s/%s: close failed: %s", key, pod, e.getMessage());
            }
        }
    }

    /** The origin's word that this replica's content, with every op up to the seq it names, matched its own. */
    private void confirm(StateBatch batch) {
        if (needsResync || batch.getConfirm().getSeq() != appliedSeq || batch.getEpoch() != epoch) {
            return; // about a position this replica no longer holds
        }
        confirmedSeq = appliedSeq;
        unconfirmedSinceMs = 0;
        if (checkpointOnDisk) {
            checkpointOnDisk = false; // the saved position says unconfirmed; the tree is unchanged
            checkpointIfIdle(0);
        }
    }

    public synchronized Ack ack() {
        return Ack.newBuilder().setKey(key).setReplicaPod(pod).setEpoch(epoch).setAppliedSeq(appliedSeq)
                .setNeedsResync(needsResync).setRefusedOps(refused.get()).setResyncs(resyncs.get())
                .setFailedOps(failed.get()).setConfirmed(unconfirmedSinceMs == 0).build();
    }

    private void applyOne(ReplicatedOp op) {
        try {
            switch (op.getKindCase()) {
                case EVENT -> exec.apply(op.getEvent());
                case BLOCKS -> exec.blocks(op.getBlocks());
                case META -> exec.meta(op.getMeta());
                case ATTRS -> exec.attrs(op.getAttrs());
                default -> throw new IOException("empty op");
            }
            appliedOps.incrementAndGet();
        } catch (PathRefusedException e) {
            refused.incrementAndGet();
            LOG.warnf("replica %s/%s: refused op seq %d: %s", key, pod, op.getSeq(), e.getMessage());
        } catch (IOException | RuntimeException e) {
            failed.incrementAndGet();
            LOG.warnf("replica %s/%s: op seq %d failed: %s", key, pod, op.getSeq(), e.toString());
        }
    }

    /** What the replica holds at the given container paths (every replicated path when empty), as TreeSums reads it. */
    public synchronized ChecksumsResponse checksums(List<String> paths, int blockSize, boolean metadataOnly)
            throws IOException {
        TreeSums.Read r = TreeSums.read(root, paths, blockSize, metadataOnly);
        refused.addAndGet(r.refused());
        return r.sums();
    }

    /** Block sums and facts of the given container paths (see {@link #checksums(List, int, boolean)}). */
    public ChecksumsResponse checksums(List<String> paths, int blockSize) throws IOException {
        return checksums(paths, blockSize, false);
    }

    public String key() {
        return key;
    }

    public String pod() {
        return pod;
    }

    public synchronized long appliedSeq() {
        return appliedSeq;
    }

    public long refusedOps() {
        return refused.get();
    }

    public long failedOps() {
        return failed.get();
    }

    public long resyncs() {
        return resyncs.get();
    }

    public long appliedOps() {
        return appliedOps.get();
    }

    public long lagMs() {
        return lagMs;
    }

    /**
     * The applied seq to report as progress: until the origin confirmed the content after a resync, only the seq last
     * confirmed, so that a replica whose files may still differ never shows as caught up.
     */
    public synchronized long reportedSeq() {
        return confirmedSeq;
    }

    /** Lag to report: while unconfirmed, how long it has been so; else the lag of the last applied op. */
    public synchronized long reportedLagMs() {
        return unconfirmedSinceMs == 0 ? lagMs : Math.max(1, System.currentTimeMillis() - unconfirmedSinceMs);
    }

    /** Whether the origin confirmed the content since the last resync or repair began. */
    public synchronized boolean confirmed() {
        return unconfirmedSinceMs == 0;
    }
}
