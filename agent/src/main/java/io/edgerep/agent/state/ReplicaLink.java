// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.jboss.logging.Logger;

import io.edgerep.agent.retry.Backoff;
import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.OpBatch;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.grpc.Channel;

/**
 * Origin side of one replica: the loop that pushes the origin's {@link OpLog} over {@code Replication.Push}. Each
 * session ({@link PushSession}) opens with a hello; the replica's first ack says whether it can resume, or needs a
 * whole-tree resync (it is new, restarted, or behind what the log still holds). Then, in order of precedence: a
 * resync the replica or the origin asked for ({@link ResyncSender}), a resync of some paths, a verification that is
 * due ({@link Verifier}), and otherwise the next batch of ops, placed against the content recent resyncs read
 * ({@link SnapshotPlacement}), with at most a window of ops unacknowledged.
 */
public final class ReplicaLink implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ReplicaLink.class);

    /**
     * Tunables.
     *
     * @param verifyIntervalMs how often the whole tree is compared (see {@link AntiEntropy}); 0: never
     */
    public record Options(int maxBatchOps, long maxBatchBytes, long windowOps, int blockSize, long quietMs,
            int maxTouched, long verifyIntervalMs) {
        /** The default verification interval, as the resource's spec has it. */
        public static final long DEFAULT_VERIFY_INTERVAL_MS = 300_000;

        public Options(int maxBatchOps, long maxBatchBytes, long windowOps, int blockSize, long quietMs,
                int maxTouched) {
            this(maxBatchOps, maxBatchBytes, windowOps, blockSize, quietMs, maxTouched, DEFAULT_VERIFY_INTERVAL_MS);
        }

        public static Options defaults() {
            return new Options(512, 1 << 20, 8192, BlockSums.DEFAULT_BLOCK_SIZE, 200, 10_000);
        }

        /** These options with another verification interval. */
        public Options verifyingEvery(long ms) {
            return new Options(maxBatchOps, maxBatchBytes, windowOps, blockSize, quietMs, maxTouched, ms);
        }
    }

    private final ReplicaId id;
    private final OpLog log;
    private final Options opt;
    private final ReplicationGrpc.ReplicationStub async;
    private final ReplicationGrpc.ReplicationBlockingStub blocking;
    private final Thread thread;
    private volatile boolean running = true;
    /** Whether the origin's writes are being captured: a resync snapshot taken before would miss what follows. */
    private volatile BooleanSupplier capturing = () -> false;
    /** Whether captured ops carry timestamps on our clock (see {@link SnapshotTimes}). */
    private volatile BooleanSupplier clockTrusted = () -> false;

    private final LinkCounters counters = new LinkCounters();
    private final AtomicLong acked = new AtomicLong();
    private final TouchedPaths touched;
    private final SnapshotPlacement placement;
    private final ResyncSender sender;
    private final Verifier verifier;
    private final AntiEntropy antiEntropy;
    /** The last comparison of the whole tree found drift not yet repaired and confirmed. */
    private volatile boolean drifting;
    private volatile long verifyIntervalMs;
    private volatile String lastDrift = "";
    private volatile PushSession session;
    /** The replica reached a known state in this link's lifetime. */
    private volatile boolean synced;

    private volatile boolean fullResyncRequested;
    private final Set<String> partialRequested = new HashSet<>();

    public ReplicaLink(String key, String pod, OpLog log, ConfinedRoot origin, Channel channel, Options opt) {
        this.id = new ReplicaId(key, pod);
        this.log = log;
        this.opt = opt;
        this.async = ReplicationGrpc.newStub(channel);
        this.blocking = ReplicationGrpc.newBlockingStub(channel);
        this.touched = new TouchedPaths(opt.maxTouched());
        this.placement = new SnapshotPlacement(() -> clockTrusted.getAsBoolean());
        this.sender = new ResyncSender(key, pod, origin, opt, counters);
        this.verifier = new Verifier(key, pod, log, opt, counters, touched, placement, sender);
        this.verifier.onConfirmed(() -> drifting = false);
        this.verifier.onDrift(this::drifted);
        this.verifyIntervalMs = opt.verifyIntervalMs();
        this.antiEntropy = new AntiEntropy(origin, log, opt, () -> verifyIntervalMs);
        this.thread = new Thread(this::run, "replica-link-" + id);
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
        synchronized (partialRequested) {
            partialRequested.addAll(paths);
        }
    }

    private void run() {
        Backoff backoff = new Backoff(50, 2000);
        while (running) {
            try {
                session();
                backoff.reset();
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (running) {
                    LOG.infof("replica link %s: %s; retrying", id, e.toString());
                }
            }
            if (!running) {
                return;
            }
            try {
                Thread.sleep(backoff.next());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void session() throws Exception {
        counters.sessions.incrementAndGet();
        try (PushSession s = new PushSession(id.key(), id.pod(), log.epoch(), async, blocking, acked)) {
            session = s;
            long cursor = open(s, s.hello(10_000));
            long lastOpMs = System.currentTimeMillis();
            while (running) {
                s.checkStream();
                if (s.replicaWantsResync() || fullResyncRequested) {
                    LOG.infof("replica %s: resync asked by the %s", id,
                            s.replicaWantsResync() ? "replica (gap or new epoch)" : "origin (loss)");
                    cursor = fullResync(s);
                    continue;
                }
                Set<String> partial = takePartial();
                if (!partial.isEmpty()) {
                    partialResync(s, partial);
                    continue;
                }
                if (!verifier.pending() && antiEntropy.due(System.currentTimeMillis())) {
                    s.awaitAllAcked(); // the replica stands at cursor - 1 while both trees are read
                    if (acked.get() >= cursor - 1) {
                        compareWholeTree(s, cursor - 1);
                        continue;
                    }
                }
                if (verifier.due(lastOpMs, System.currentTimeMillis())) {
                    s.awaitAllAcked(); // nothing more is sent meanwhile: the replica stands at cursor - 1
                    if (acked.get() >= cursor - 1) {
                        verifier.verify(s, cursor - 1);
                        continue;
                    }
                }
                long sent;
                try {
                    sent = sendOps(s, cursor);
                } catch (OpLog.GoneException e) {
                    LOG.infof("replica %s fell behind the buffer: %s", id, e.getMessage());
                    cursor = fullResync(s);
                    continue;
                }
                if (sent > cursor) {
                    cursor = sent;
                    lastOpMs = System.currentTimeMillis();
                }
            }
        }
    }

    /** Where the session starts: resumed after the replica's position, or after a whole-tree resync. */
    private long open(PushSession s, Ack first) throws Exception {
        if (first.getEpoch() == log.epoch() && !first.getNeedsResync()
                && first.getAppliedSeq() + 1 >= log.firstHeld()) {
            s.resumed();
            if (!first.getConfirmed() && !verifier.pending()) {
                // resumed from a checkpoint saved before this origin confirmed its last resync: compare it all
                verifier.requestWhole();
            }
            synced = true;
            return first.getAppliedSeq() + 1;
        }
        LOG.infof("replica %s: session %d starts with a resync (replica epoch %d, applied %d, needs resync %s)", id,
                counters.sessions(), first.getEpoch(), first.getAppliedSeq(), first.getNeedsResync());
        return fullResync(s);
    }

    /**
     * Sends the next ops from cursor on (waiting a little for some when there are none); returns the cursor after
     * them (unchanged when none were sent).
     *
     * @throws OpLog.GoneException the log no longer holds the op at cursor
     */
    private long sendOps(PushSession s, long cursor) throws Exception {
        s.awaitWindow(cursor, opt.windowOps(), () -> running);
        List<ReplicatedOp> ops = log.read(cursor, opt.maxBatchOps(), opt.maxBatchBytes());
        if (ops.isEmpty()) {
            String doubt = s.takeDoubt(verifier.pending());
            if (doubt != null) {
                LOG.infof("replica %s: %s; verifying all", id, doubt);
                verifier.requestWhole();
            }
            log.awaitAfter(cursor - 1, 20);
            return cursor;
        }
        SnapshotPlacement.Placed placed = placement.place(ops);
        counters.skippedOps.addAndGet(placed.skipped());
        if (!placed.unknownPaths().isEmpty()) {
            verifier.request();
            touched.add(placed.unknownPaths());
        }
        verifier.noteOps(placed.ops());
        s.send(s.batch().setOpBatch(OpBatch.newBuilder().addAllOps(placed.ops())));
        counters.sentOps.addAndGet(placed.ops().size());
        return placed.ops().get(placed.ops().size() - 1).getSeq() + 1;
    }

    private long fullResync(PushSession s) throws Exception {
        while (!capturing.getAsBoolean()) {
            if (!running) {
                throw new InterruptedException();
            }
            s.checkStream();
            Thread.sleep(20); // a snapshot now would miss the writes made before capture starts
        }
        long base = log.lastSeq();
        fullResyncRequested = false;
        synchronized (partialRequested) {
            partialRequested.clear();
        }
        verifier.resetForResync();
        touched.clear();
        SnapshotTimes times = new SnapshotTimes(true);
        placement.replaceAll(times); // this one reads everything anew
        ResyncPlanner.Result r = sender.whole(s, base, times).result();
        counters.resyncs.incrementAndGet();
        synced = true;
        LOG.infof("replica %s: full resync at seq %d: %d paths, %d blocks, %d bytes, %d removed", id, base,
                r.files(), r.blocks(), r.bytes(), r.removed());
        return base + 1;
    }

    private void partialResync(PushSession s, Set<String> paths) throws Exception {
        verifier.request();
        SnapshotTimes times = new SnapshotTimes(false);
        placement.add(times);
        ResyncPlanner.Result r = sender.paths(s, paths, times).result();
        touched.add(paths);
        LOG.debugf("replica %s: partial resync of %d paths: %d bytes", id, paths.size(), r.bytes());
    }

    /** The periodic comparison: what differs is verified; what no op explains is drift, reported first. */
    /** Paths that differ from the origin where no captured op explains it: counted and reported, then repaired. */
    private void drifted(java.util.Set<String> paths) {
        counters.driftedPaths.addAndGet(paths.size());
        lastDrift = AntiEntropy.sample(paths);
        drifting = true;
        LOG.warnf("replica %s: %d paths differ from the origin where no captured op explains it: %s; repairing", id,
                paths.size(), lastDrift);
    }

    private void compareWholeTree(PushSession s, long applied) throws Exception {
        AntiEntropy.Found f = antiEntropy.compare(s, applied, id.key(), id.pod());
        counters.treeComparisons.incrementAndGet();
        if (!f.drifted().isEmpty()) {
            drifted(f.drifted());
        }
        if (!f.differing().isEmpty()) {
            verifier.requestPaths(f.differing());
        }
    }

    private Set<String> takePartial() {
        synchronized (partialRequested) {
            if (partialRequested.isEmpty()) {
                return Set.of();
            }
            Set<String> s = new HashSet<>(partialRequested);
            partialRequested.clear();
            return s;
        }
    }

    /** Highest seq the replica acknowledged in this epoch (what the log may trim to). */
    public long ackedSeq() {
        return acked.get();
    }

    /**
     * Whether the replica acked everything the log holds, no verification is owed and the replica took the origin's
     * confirmation of its content (its last ack says confirmed): what the InSync condition reports.
     */
    public boolean inSync() {
        PushSession s = session;
        return synced && capturing.getAsBoolean() && acked.get() >= log.lastSeq() && !verifier.pending()
                && !fullResyncRequested && s != null && s.replicaConfirmed();
    }

    public Ack lastAck() {
        PushSession s = session;
        return s == null ? null : s.lastAck();
    }

    public ReplicaId id() {
        return id;
    }

    public String key() {
        return id.key();
    }

    public String pod() {
        return id.pod();
    }

    public LinkCounters counters() {
        return counters;
    }

    /** How often the whole tree is compared from now on (0: never). */
    public void verifyEvery(long ms) {
        this.verifyIntervalMs = ms;
    }

    /** Whether the last whole-tree comparison found drift that is not repaired and confirmed yet. */
    public boolean drifting() {
        return drifting;
    }

    /** A few of the paths the last comparison that found drift named. */
    public String lastDrift() {
        return lastDrift;
    }

    /** Paths found changing where capture does not see (copied at each verification, never awaited). */
    public Set<String> unseenChanges() {
        return verifier.unseenChanges();
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
