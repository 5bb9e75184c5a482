package io.edgerep.agent.state;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.jboss.logging.Logger;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.edgerep.proto.v1.StateBatch;
import io.edgerep.proto.v1.StateEvent;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;

/**
 * Origin side of one replica: pushes the origin's {@link OpLog} over {@code Replication.Push} in batches, keeps at
 * most a window of unacknowledged ops in flight, and resyncs when the replica is new or restarted (epoch mismatch),
 * reports a gap, or fell behind what the log still holds. After a resync it verifies, once the replica caught up and
 * the origin is quiet (or, under steady writes, after {@link #BUSY_VERIFY_QUIETS} quiet periods of waiting), the files
 * touched meanwhile, and repairs them until they match. While it verifies nothing else is sent: the replica stands at
 * the last op sent, so a file no op touched since compares exactly.
 */
public final class ReplicaLink implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ReplicaLink.class);

    /** Tunables. */
    public record Options(int maxBatchOps, long maxBatchBytes, long windowOps, int blockSize, long quietMs,
            int maxTouched) {
        public static Options defaults() {
            return new Options(512, 1 << 20, 8192, BlockSums.DEFAULT_BLOCK_SIZE, 200, 10_000);
        }
    }

    private final String key;
    private final String pod;
    private final OpLog log;
    private final ConfinedRoot origin;
    private final ReplicationGrpc.ReplicationStub async;
    private final ReplicationGrpc.ReplicationBlockingStub blocking;
    private final Options opt;
    private final Thread thread;
    private volatile boolean running = true;
    /** Whether the origin's writes are being captured: a resync snapshot taken before would miss what follows. */
    private volatile BooleanSupplier capturing = () -> false;
    /** Whether captured ops carry timestamps on our clock (see {@link SnapshotTimes}). */
    private volatile BooleanSupplier clockTrusted = () -> false;
    /**
     * When recent resyncs (and repairs) read the origin's paths, newest first, each kept until the ops come from after
     * it (link thread only).
     */
    private final java.util.Deque<SnapshotTimes> snapshots = new java.util.ArrayDeque<>();

    // state shared with the ack observer
    private final Object lock = new Object();
    private long acked; // highest applied seq acked in our epoch
    private long acksReceived;
    private long batchesSent;
    private long resyncBatchIndex = -1; // acks before this batch index may still say needs_resync
    private boolean replicaWantsResync;
    private Throwable streamError;
    private boolean streamDone;
    private Ack lastAck;
    /** Index of the last confirmation sent in this session (-1: none). */
    private long confirmIndex = -1;
    /** An ack of the last confirmation or after it still said unconfirmed: the replica disagrees. */
    private boolean replicaDisagrees;
    /** The replica's count of ops it failed to apply, as its acks of this session said (-1: no ack yet). */
    private long replicaFailedOps = -1;
    /** That count grew: an op the origin applied did not apply on the replica, so their files may differ. */
    private boolean replicaFailed;

    private volatile boolean fullResyncRequested;
    private final Set<String> partialRequested = new HashSet<>();
    private volatile boolean verifyPending;
    private volatile boolean synced; // the replica reached a known state in this link's lifetime
    private final Set<String> touched = new HashSet<>();
    /** Paths the last plan sent something for (the first few, for the log). */
    private final Set<String> lastPlanPaths = new java.util.TreeSet<>();
    /** Every path the last plan sent something for (null: more than maxTouched). */
    private Set<String> planPaths = new HashSet<>();
    /** Paths the last verification repaired (null: unknown), and paths ops touched since. */
    private Set<String> repairedLast;
    private final Set<String> touchedByOps = new HashSet<>();
    /**
     * Paths that differed again at a verification although no op touched them since the one before repaired them: they
     * change where capture does not see (a shared writable mapping, like SQLite's -shm). Each verification still copies
     * them, but they never hold back a confirmation.
     */
    private final Set<String> unseenChanges = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** When the link began waiting for a quiet origin to verify (0: not waiting). */
    private long verifyWaitFromMs;
    /** Whether the verification running now did not wait for a quiet origin. */
    private boolean verifyingBusy;
    /**
     * Busy verifications in a row that could not tell what ops did to the paths they repaired (ops without a usable
     * timestamp): past {@link #BUSY_VERIFY_GIVE_UP}, verifications wait for a quiet origin again.
     */
    private int busyRoundsUnknown;
    private boolean touchedOverflow;

    private final AtomicLong resyncedBytes = new AtomicLong();
    private final AtomicLong resyncs = new AtomicLong();
    private final AtomicLong sentOps = new AtomicLong();
    private final AtomicLong sessions = new AtomicLong();
    private final AtomicLong skippedOps = new AtomicLong();
    private final AtomicLong verifyRepairs = new AtomicLong();
    /** Verifications in a row that had to repair, and when the next may run: a replica that keeps differing backs off. */
    private int repairRounds;
    private long nextVerifyMs;
    /** Ops captured this long after a resync's last read are certainly after it (timestamps of several CPUs). */
    static final long SNAPSHOT_SLACK_NS = 1_000_000_000L;
    /** Longest wait between verifications of a replica whose files keep differing after repairs. */
    static final long MAX_VERIFY_BACKOFF_MS = 5_000;
    /** Quiet periods a verification waits for a quiet origin before it holds the stream and verifies anyway. */
    static final int BUSY_VERIFY_QUIETS = 5;
    static final int BUSY_VERIFY_GIVE_UP = 3;

    public ReplicaLink(String key, String pod, OpLog log, ConfinedRoot origin, Channel channel, Options opt) {
        this.key = key;
        this.pod = pod;
        this.log = log;
        this.origin = origin;
        this.async = ReplicationGrpc.newStub(channel);
        this.blocking = ReplicationGrpc.newBlockingStub(channel);
        this.opt = opt;
        this.thread = new Thread(this::run, "replica-link-" + key + "-" + pod);
        this.thread.setDaemon(true);
    }

    public ReplicaLink start() {
        thread.start();
        return this;
    }

    /**
     * Binds the link to its origin: until the origin says capture is on, the link neither resyncs nor reports itself
     * in sync (it does neither before it is bound).
     */
    void bind(OriginReplication o) {
        this.capturing = o::capturing;
        this.clockTrusted = o::clockTrusted;
    }

    /** Resync every file (e.g. after records were lost in the kernel without a path). */
    public void requestFullResync() {
        fullResyncRequested = true;
    }

    /** Resync these files (e.g. a dirty range that could not be read). */
    public void requestResync(Collection<String> paths) {
        synchronized (lock) {
            partialRequested.addAll(paths);
        }
    }

    private void run() {
        long backoff = 50;
        while (running) {
            try {
                session();
                backoff = 50;
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (running) {
                    LOG.infof("replica link %s/%s: %s; retrying", key, pod, e.toString());
                }
            }
            if (!running) {
                return;
            }
            try {
                Thread.sleep(backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, 2000);
        }
    }

    private void session() throws Exception {
        sessions.incrementAndGet();
        synchronized (lock) {
            acksReceived = 0;
            batchesSent = 0;
            resyncBatchIndex = -1;
            replicaWantsResync = false;
            streamError = null;
            streamDone = false;
            lastAck = null;
            confirmIndex = -1;
            replicaDisagrees = false;
            replicaFailedOps = -1;
            replicaFailed = false;
        }
        StreamObserver<StateBatch> out = async.push(new StreamObserver<>() {
            @Override
            public void onNext(Ack a) {
                synchronized (lock) {
                    long index = acksReceived++;
                    lastAck = a;
                    if (a.getEpoch() == log.epoch()) {
                        acked = Math.max(acked, a.getAppliedSeq());
                    }
                    if (a.getNeedsResync() && index >= resyncBatchIndex) {
                        replicaWantsResync = true;
                    }
                    if (confirmIndex >= 0 && index >= confirmIndex) {
                        replicaDisagrees = a.getUnconfirmed();
                    }
                    if (replicaFailedOps >= 0 && a.getFailedOps() > replicaFailedOps) {
                        replicaFailed = true;
                    }
                    replicaFailedOps = a.getFailedOps();
                    lock.notifyAll();
                }
            }

            @Override
            public void onError(Throwable t) {
                synchronized (lock) {
                    streamError = t;
                    lock.notifyAll();
                }
            }

            @Override
            public void onCompleted() {
                synchronized (lock) {
                    streamDone = true;
                    lock.notifyAll();
                }
            }
        });
        try {
            send(out, batch()); // hello: the replica answers with where it stands
            Ack first = awaitAck(1, 10_000);
            long cursor;
            if (first.getEpoch() == log.epoch() && !first.getNeedsResync()
                    && first.getAppliedSeq() + 1 >= log.firstHeld()) {
                cursor = first.getAppliedSeq() + 1;
                synchronized (lock) {
                    replicaWantsResync = false;
                }
                if (first.getUnconfirmed() && !verifyPending) {
                    // resumed from a checkpoint saved before this origin confirmed its last resync: compare it all
                    verifyPending = true;
                    touchedOverflow = true;
                }
                synced = true;
            } else {
                LOG.infof(
                        "replica %s/%s: session %d starts with a resync (replica epoch %d, applied %d, needs resync %s)",
                        key, pod, sessions.get(), first.getEpoch(), first.getAppliedSeq(), first.getNeedsResync());
                cursor = fullResync(out);
            }
            long lastOpMs = System.currentTimeMillis();
            while (running) {
                checkStream();
                boolean wantFull;
                synchronized (lock) {
                    wantFull = replicaWantsResync || fullResyncRequested;
                    if (wantFull) {
                        LOG.infof("replica %s/%s: resync asked by the %s", key, pod,
                                replicaWantsResync ? "replica (gap or new epoch)" : "origin (loss)");
                    }
                }
                if (wantFull) {
                    cursor = fullResync(out);
                    continue;
                }
                Set<String> partial = takePartial();
                if (!partial.isEmpty()) {
                    partialResync(out, partial);
                    continue;
                }
                if (verifyDue(lastOpMs)) {
                    awaitAllAcked(); // nothing more is sent meanwhile: the replica stands at cursor - 1
                    if (ackedNow() >= cursor - 1) {
                        verify(out, cursor - 1);
                        continue;
                    }
                }
                awaitWindow(cursor);
                List<ReplicatedOp> ops;
                try {
                    ops = log.read(cursor, opt.maxBatchOps(), opt.maxBatchBytes());
                } catch (OpLog.GoneException e) {
                    LOG.infof("replica %s/%s fell behind the buffer: %s", key, pod, e.getMessage());
                    cursor = fullResync(out);
                    continue;
                }
                if (ops.isEmpty()) {
                    String doubt = takeDoubt();
                    if (doubt != null) {
                        LOG.infof("replica %s/%s: %s; verifying all", key, pod, doubt);
                        verifyPending = true;
                        touchedOverflow = true;
                    }
                    log.awaitAfter(cursor - 1, 20);
                    continue;
                }
                lastOpMs = System.currentTimeMillis();
                ops = againstSnapshot(ops);
                if (verifyPending) {
                    noteTouched(ops);
                }
                send(out, batch().addAllOps(ops));
                sentOps.addAndGet(ops.size());
                cursor = ops.get(ops.size() - 1).getSeq() + 1;
            }
        } finally {
            try {
                out.onCompleted();
            } catch (RuntimeException e) {
                // stream already broken
            }
        }
    }

    private long fullResync(StreamObserver<StateBatch> out) throws Exception {
        while (!capturing.getAsBoolean()) {
            if (!running) {
                throw new InterruptedException();
            }
            checkStream();
            Thread.sleep(20); // a snapshot now would miss the writes made before capture starts
        }
        long base = log.lastSeq();
        fullResyncRequested = false;
        synchronized (lock) {
            partialRequested.clear();
        }
        ChecksumsResponse sums = checksums(ChecksumsRequest.newBuilder()
                .setKey(key).setReplicaPod(pod).setBlockSize(opt.blockSize()).build());
        synchronized (lock) {
            resyncBatchIndex = batchesSent;
            replicaWantsResync = false;
        }
        verifyPending = true;
        repairRounds = 0;
        nextVerifyMs = 0;
        repairedLast = null;
        busyRoundsUnknown = 0;
        touchedByOps.clear();
        touched.clear();
        touchedOverflow = false;
        SnapshotTimes times = new SnapshotTimes(true);
        snapshots.clear(); // this one reads everything anew
        snapshots.addFirst(times);
        ResyncPlanner.Result r = sendPlan(out, sums, null, batch().setResyncStart(true).setBaseSeq(base), times, -1);
        synchronized (lock) {
            acked = Math.max(acked, 0);
        }
        resyncs.incrementAndGet();
        synced = true;
        LOG.infof("replica %s/%s: full resync at seq %d: %d files, %d blocks, %d bytes, %d removed", key, pod, base,
                r.files(), r.blocks(), r.bytes(), r.removed());
        return base + 1;
    }

    private void partialResync(StreamObserver<StateBatch> out, Set<String> paths) throws Exception {
        ChecksumsResponse sums = checksums(ChecksumsRequest.newBuilder()
                .setKey(key).setReplicaPod(pod).setBlockSize(opt.blockSize()).addAllPaths(paths).build());
        verifyPending = true;
        SnapshotTimes times = new SnapshotTimes(false);
        snapshots.addFirst(times);
        ResyncPlanner.Result r = sendPlan(out, sums, paths, batch(), times, -1);
        noteTouchedPaths(paths);
        LOG.debugf("replica %s/%s: partial resync of %d paths: %d bytes", key, pod, paths.size(), r.bytes());
    }

    /**
     * Whether a pending verification may run now: the origin is quiet, or it has been busy for
     * {@link #BUSY_VERIFY_QUIETS} quiet periods (steady writes must not put confirmation off forever).
     */
    private boolean verifyDue(long lastOpMs) {
        if (!verifyPending) {
            verifyWaitFromMs = 0;
            return false;
        }
        long now = System.currentTimeMillis();
        if (now < nextVerifyMs) {
            return false;
        }
        if (verifyWaitFromMs == 0) {
            verifyWaitFromMs = now;
        }
        verifyingBusy = now - lastOpMs < opt.quietMs();
        return !verifyingBusy || (now - verifyWaitFromMs >= BUSY_VERIFY_QUIETS * opt.quietMs()
                && busyRoundsUnknown < BUSY_VERIFY_GIVE_UP);
    }

    /**
     * Compares the files touched since the last resync; repairs and keeps verifying until they match. When they do,
     * the replica is told that its content at seq {@code applied} is the origin's (see {@link #confirm}).
     */
    private void verify(StreamObserver<StateBatch> out, long applied) throws Exception {
        verifyWaitFromMs = 0;
        Set<String> scope = touchedOverflow ? null : new HashSet<>(touched);
        touched.clear();
        touchedOverflow = false;
        ChecksumsRequest.Builder req = ChecksumsRequest.newBuilder().setKey(key).setReplicaPod(pod)
                .setBlockSize(opt.blockSize());
        if (scope != null) {
            if (scope.isEmpty()) {
                verified(out, applied, false);
                return;
            }
            req.addAllPaths(scope);
        }
        ChecksumsResponse sums = checksums(req.build());
        SnapshotTimes times = new SnapshotTimes(scope == null);
        if (scope == null) {
            snapshots.clear();
        }
        snapshots.addFirst(times);
        ResyncPlanner.Result r = sendPlan(out, sums, scope, batch(), times, applied);
        if (r.files() == 0 && r.removed() == 0) {
            verified(out, applied, true);
        } else if (repairsAccountedFor(times, applied)) {
            verified(out, applied, false);
        } else {
            verifyRepairs.incrementAndGet();
            repairRounds++;
            nextVerifyMs = System.currentTimeMillis()
                    + Math.min(MAX_VERIFY_BACKOFF_MS, 10L << Math.min(repairRounds, 10));
            LOG.infof("replica %s/%s: verification repaired %d files (%d bytes): %s", key, pod, r.files(), r.bytes(),
                    lastPlanPaths);
            if (scope != null) {
                noteTouchedPaths(scope);
            } else {
                touchedOverflow = true;
            }
        }
    }

    /** The verification found the replica's content the origin's: sends the confirmation unless the plan did. */
    private void verified(StreamObserver<StateBatch> out, long applied, boolean confirmSent) throws Exception {
        verifyPending = false;
        repairRounds = 0;
        repairedLast = null;
        busyRoundsUnknown = 0;
        if (!confirmSent) {
            send(out, confirm(applied));
        }
    }

    /**
     * Whether every repair the last verification sent is accounted for, so that the replica's content is the origin's
     * once it applied them: either ops sequenced after {@code applied} changed the path before it was read (their
     * effect is in the repair, and the replica skips them), or the path changes unseen (see {@link #unseenChanges}).
     * Anything else, or an op that may have changed a path while it was read, is a real repair: verify again.
     */
    private boolean repairsAccountedFor(SnapshotTimes times, long applied) throws Exception {
        Set<String> repaired = planPaths;
        Set<String> explained = repaired == null ? null : changedBeforeRead(repaired, times, applied);
        boolean accounted = explained != null;
        if (verifyingBusy) {
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
        long seq = applied + 1;
        long last = log.lastSeq();
        while (seq <= last) {
            List<ReplicatedOp> ops;
            try {
                ops = log.read(seq, opt.maxBatchOps(), opt.maxBatchBytes());
            } catch (OpLog.GoneException e) {
                return null;
            }
            if (ops.isEmpty()) {
                break;
            }
            for (ReplicatedOp op : ops) {
                if (!op.hasEvent()) {
                    continue;
                }
                List<String> touches = pathsOf(op.getEvent());
                if (java.util.Collections.disjoint(touches, paths)) {
                    continue;
                }
                if (!times.covers(touches)) {
                    return null; // e.g. a rename to a path this plan did not read: replayed as it stands, it may fail
                }
                switch (times.classify(op.getEvent().getTimestampNs(), touches)) {
                    case INCLUDED -> touches.stream().filter(paths::contains).forEach(out::add);
                    case UNKNOWN -> {
                        return null;
                    }
                    default -> {
                    }
                }
            }
            seq = ops.get(ops.size() - 1).getSeq() + 1;
        }
        return out;
    }

    /**
     * The batch that tells the replica its content, with every op up to applied, matched the origin's: the end of a
     * resync ({@code resync_complete}) that starts none and carries no op, with {@code base_seq} = applied + 1 (never
     * 0, which every other batch without {@code resync_start} carries).
     */
    private StateBatch.Builder confirm(long applied) {
        synchronized (lock) {
            confirmIndex = batchesSent; // the next batch sent; acks before it may still say unconfirmed
            replicaDisagrees = false;
        }
        return batch().setResyncComplete(true).setBaseSeq(applied + 1);
    }

    /**
     * Ops whose effect the last resync's content already holds become placeholders (an event without an op: the seq
     * advances, nothing is replayed); ops it cannot place are applied and their paths verified.
     */
    private List<ReplicatedOp> againstSnapshot(List<ReplicatedOp> ops) {
        if (snapshots.isEmpty()) {
            return ops;
        }
        if (!clockTrusted.getAsBoolean()) {
            snapshots.clear();
            return ops;
        }
        List<ReplicatedOp> out = new ArrayList<>(ops.size());
        long oldest = Long.MAX_VALUE; // earliest timestamp in this batch
        for (ReplicatedOp op : ops) {
            if (!op.hasEvent()) {
                out.add(op);
                continue;
            }
            StateEvent ev = op.getEvent();
            oldest = Math.min(oldest, ev.getTimestampNs() <= 0 ? Long.MIN_VALUE : ev.getTimestampNs());
            List<String> paths = pathsOf(ev);
            SnapshotTimes.Verdict v = SnapshotTimes.Verdict.AFTER;
            for (SnapshotTimes s : snapshots) {
                if (s.covers(paths)) {
                    v = s.classify(ev.getTimestampNs(), paths); // the newest read of these paths decides
                    break;
                }
            }
            switch (v) {
                case INCLUDED -> {
                    skippedOps.incrementAndGet();
                    out.add(op.toBuilder().setEvent(StateEvent.newBuilder().setReplicationId(ev.getReplicationId())
                            .setSeq(ev.getSeq()).setTimestampNs(ev.getTimestampNs())).build());
                }
                case UNKNOWN -> {
                    verifyPending = true;
                    noteTouchedPaths(paths);
                    out.add(op);
                }
                default -> out.add(op);
            }
        }
        long first = oldest;
        // a snapshot read before everything from here on was captured has nothing more to say
        snapshots.removeIf(s -> first != Long.MIN_VALUE && first != Long.MAX_VALUE
                && first > s.end() + SNAPSHOT_SLACK_NS);
        return out;
    }

    /** @param confirmSeq when the plan finds nothing to send, confirm the replica at this seq (-1: never) */
    private ResyncPlanner.Result sendPlan(StreamObserver<StateBatch> out, ChecksumsResponse sums,
            Collection<String> scope, StateBatch.Builder first, SnapshotTimes times, long confirmSeq)
            throws Exception {
        StateBatch.Builder[] cur = {first};
        long[] bytes = {0};
        lastPlanPaths.clear();
        planPaths = new HashSet<>();
        Exception[] err = {null};
        ResyncPlanner.Result r = ResyncPlanner.plan(origin, sums, scope, opt.blockSize(), op -> {
            if (err[0] != null) {
                return;
            }
            cur[0].addOps(op);
            bytes[0] += op.getSerializedSize();
            String path = op.hasBlocks() ? op.getBlocks().getPath() : op.getMeta().getPath();
            if (lastPlanPaths.size() < 8) {
                lastPlanPaths.add(path);
            }
            if (planPaths != null && planPaths.add(path) && planPaths.size() > opt.maxTouched()) {
                planPaths = null;
            }
            if (bytes[0] >= opt.maxBatchBytes()) {
                try {
                    send(out, cur[0]);
                    cur[0] = batch();
                    bytes[0] = 0;
                } catch (Exception e) {
                    err[0] = e;
                }
            }
        }, times);
        if (err[0] != null) {
            throw err[0];
        }
        boolean clean = r.files() == 0 && r.removed() == 0 && cur[0].getOpsCount() == 0 && !cur[0].getResyncStart();
        send(out, clean && confirmSeq >= 0 ? confirm(confirmSeq) : cur[0].setResyncComplete(true));
        resyncedBytes.addAndGet(r.bytes());
        return r;
    }

    private void noteTouched(List<ReplicatedOp> ops) {
        for (ReplicatedOp op : ops) {
            if (op.hasEvent()) {
                List<String> paths = pathsOf(op.getEvent());
                noteTouchedPaths(paths);
                if (repairedLast != null) {
                    touchedByOps.addAll(paths);
                    if (touchedByOps.size() > opt.maxTouched()) {
                        repairedLast = null; // too much to tell what changed unseen this round
                        touchedByOps.clear();
                    }
                }
            }
        }
    }

    private void noteTouchedPaths(Collection<String> paths) {
        if (touchedOverflow) {
            return;
        }
        touched.addAll(paths);
        if (touched.size() > opt.maxTouched()) {
            touched.clear();
            touchedOverflow = true;
        }
    }

    static List<String> pathsOf(StateEvent ev) {
        List<String> out = new ArrayList<>(2);
        switch (ev.getOpCase()) {
            case WRITE -> out.add(ev.getWrite().getPath());
            case TRUNCATE -> out.add(ev.getTruncate().getPath());
            case RENAME -> {
                out.add(ev.getRename().getFrom());
                out.add(ev.getRename().getTo());
            }
            case UNLINK -> out.add(ev.getUnlink().getPath());
            case MKDIR -> out.add(ev.getMkdir().getPath());
            case RMDIR -> out.add(ev.getRmdir().getPath());
            case CHMOD -> out.add(ev.getChmod().getPath());
            case CREATE -> out.add(ev.getCreate().getPath());
            case SYNC -> out.add(ev.getSync().getPath());
            case DIRTY -> out.add(ev.getDirty().getPath());
            case LINK -> {
                out.add(ev.getLink().getFrom());
                out.add(ev.getLink().getTo());
            }
            case SYMLINK -> out.add(ev.getSymlink().getPath());
            default -> {
            }
        }
        return out;
    }

    private Set<String> takePartial() {
        synchronized (lock) {
            if (partialRequested.isEmpty()) {
                return Set.of();
            }
            Set<String> s = new HashSet<>(partialRequested);
            partialRequested.clear();
            return s;
        }
    }

    private StateBatch.Builder batch() {
        return StateBatch.newBuilder().setKey(key).setReplicaPod(pod).setEpoch(log.epoch());
    }

    private void send(StreamObserver<StateBatch> out, StateBatch.Builder b) throws IOException {
        checkStream();
        out.onNext(b.build());
        synchronized (lock) {
            batchesSent++;
        }
    }

    private void checkStream() throws IOException {
        synchronized (lock) {
            if (streamError != null) {
                throw new IOException("push stream failed: " + streamError.getMessage(), streamError);
            }
            if (streamDone) {
                throw new IOException("push stream closed by the replica");
            }
        }
    }

    /**
     * The replica's checksums, taken once it applied every batch sent before: a resync planned against a tree that
     * batches still in flight will change (an earlier resync's content, say) would miss what they add.
     */
    private ChecksumsResponse checksums(ChecksumsRequest req) throws Exception {
        awaitAllAcked();
        return blocking.withDeadlineAfter(60, TimeUnit.SECONDS).checksums(req);
    }

    /** Waits until the replica acknowledged every batch sent so far. */
    private void awaitAllAcked() throws Exception {
        long sent;
        synchronized (lock) {
            sent = batchesSent;
        }
        awaitAck(sent, 60_000);
    }

    private Ack awaitAck(long n, long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        synchronized (lock) {
            while (acksReceived < n) {
                checkStream();
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    throw new IOException("no ack from the replica");
                }
                lock.wait(left);
            }
            return lastAck;
        }
    }

    /** Blocks while more than the window of ops is unacknowledged. */
    private void awaitWindow(long cursor) throws Exception {
        synchronized (lock) {
            while (running && cursor - 1 - acked > opt.windowOps() && !replicaWantsResync) {
                checkStream();
                lock.wait(100);
            }
        }
    }

    private long ackedNow() {
        synchronized (lock) {
            return acked;
        }
    }

    /** Highest seq the replica acknowledged in this epoch (what the log may trim to). */
    public long ackedSeq() {
        return ackedNow();
    }

    /**
     * Whether the replica acked everything the log holds, no verification is outstanding and the replica took the
     * origin's confirmation of its content (its last ack says confirmed).
     */
    public boolean inSync() {
        return synced && capturing.getAsBoolean() && ackedNow() >= log.lastSeq() && !verifyPending
                && !fullResyncRequested && replicaConfirmed();
    }

    private boolean replicaConfirmed() {
        synchronized (lock) {
            return lastAck != null && !lastAck.getUnconfirmed();
        }
    }

    /** Why the replica's content may differ although no verification is pending (null: no reason); clears it. */
    private String takeDoubt() {
        synchronized (lock) {
            String why = replicaFailed
                    ? "it failed to apply an op"
                    : replicaDisagrees && !verifyPending
                            ? "still unconfirmed after the confirmation" // it never took it (which should not happen)
                            : null;
            replicaFailed = false;
            replicaDisagrees = false;
            return why;
        }
    }

    public Ack lastAck() {
        synchronized (lock) {
            return lastAck;
        }
    }

    public String key() {
        return key;
    }

    public String pod() {
        return pod;
    }

    public long resyncedBytes() {
        return resyncedBytes.get();
    }

    public long resyncs() {
        return resyncs.get();
    }

    public long sentOps() {
        return sentOps.get();
    }

    public long sessions() {
        return sessions.get();
    }

    /** Ops sent as placeholders because a resync's content already held them. */
    public long skippedOps() {
        return skippedOps.get();
    }

    /** Paths found changing where capture does not see (copied at each verification, never awaited). */
    public Set<String> unseenChanges() {
        return Set.copyOf(unseenChanges);
    }

    /** Verifications that found the replica different and repaired it (repairs not accounted for). */
    public long verifyRepairs() {
        return verifyRepairs.get();
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
