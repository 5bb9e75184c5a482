// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.ExtensionRegistryLite;

import io.edgerep.proto.v1.ReplicatedOp;

/**
 * The origin's sequence space for one replication key: assigns gap-free sequence numbers within an epoch (a new epoch
 * per incarnation), and holds every op not yet acknowledged by all replicas in a bounded buffer: in memory up to a
 * limit, then spilled in segments to files under a state directory, then (past the disk limit) the oldest segments are
 * dropped and replicas still needing them must resync.
 */
public final class OpLog implements AutoCloseable {
    /** Thrown when ops asked for are no longer held. */
    public static final class GoneException extends Exception {
        private static final long serialVersionUID = 1L;

        GoneException(long asked, long first) {
            super("seq " + asked + " no longer buffered (first held " + first + ")");
        }
    }

    private record Segment(Path file, long firstSeq, long lastSeq, long bytes) {
    }

    private final long epoch;
    private final Path spillDir;
    private final long memLimit;
    private final long diskLimit;

    private long lastSeq;
    private long firstHeld = 1; // lowest seq still readable
    /** Ops held in memory, seqs consecutive from {@code mem.get(memHead)}: read by index, not by scanning. */
    private final ArrayList<ReplicatedOp> mem = new ArrayList<>();
    private int memHead;
    private long memBytes;
    private final List<Segment> segments = new ArrayList<>();
    private long diskBytes;
    private Segment cachedSegment;
    private List<ReplicatedOp> cachedOps;
    private long spilledSegments;
    private long droppedOps;

    /**
     * @param spillDir directory for spilled segments (created; emptied of earlier incarnations' segments)
     */
    public OpLog(Path spillDir, long memLimitBytes, long diskLimitBytes) {
        // epochs only need to differ between incarnations: time in ms, shifted, with random low bits
        this.epoch = (System.currentTimeMillis() << 8) | ThreadLocalRandom.current().nextInt(256);
        this.spillDir = spillDir;
        this.memLimit = memLimitBytes;
        this.diskLimit = diskLimitBytes;
        try {
            Files.createDirectories(spillDir);
            try (var s = Files.list(spillDir)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    if (p.getFileName().toString().endsWith(".seg")) {
                        Files.delete(p);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public long epoch() {
        return epoch;
    }

    public synchronized long lastSeq() {
        return lastSeq;
    }

    public synchronized long firstHeld() {
        return firstHeld;
    }

    /** Assigns the next sequence number to op and buffers it; returns the seq. */
    public synchronized long append(ReplicatedOp.Builder op) {
        ReplicatedOp o = op.setSeq(++lastSeq).build();
        mem.add(o);
        memBytes += o.getSerializedSize();
        if (memBytes > memLimit) {
            spill();
        }
        notifyAll();
        return o.getSeq();
    }

    /** Waits up to timeoutMs for an op after afterSeq; returns whether one exists. */
    public synchronized boolean awaitAfter(long afterSeq, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (lastSeq <= afterSeq) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    /**
     * Visits every op sequenced after seq, as far as the log holds now, in batches of at most maxOps and about
     * maxBytes, until visit returns false; false when it stopped early.
     */
    public boolean scanAfter(long seq, int maxOps, long maxBytes, java.util.function.Predicate<ReplicatedOp> visit)
            throws GoneException {
        long from = seq + 1;
        long last = lastSeq();
        while (from <= last) {
            List<ReplicatedOp> ops = read(from, maxOps, maxBytes);
            if (ops.isEmpty()) {
                break;
            }
            for (ReplicatedOp op : ops) {
                if (!visit.test(op)) {
                    return false;
                }
            }
            from = ops.get(ops.size() - 1).getSeq() + 1;
        }
        return true;
    }

    /** Ops from fromSeq on, at most maxOps and about maxBytes (at least one op when any exists). */
    public synchronized List<ReplicatedOp> read(long fromSeq, int maxOps, long maxBytes) throws GoneException {
        if (fromSeq < firstHeld) {
            throw new GoneException(fromSeq, firstHeld);
        }
        List<ReplicatedOp> out = new ArrayList<>(Math.min(maxOps, 1024));
        long bytes = 0;
        long next = fromSeq;
        for (Segment s : segments) {
            if (s.lastSeq < next) {
                continue;
            }
            List<ReplicatedOp> ops = segmentOps(s);
            for (int i = (int) Math.max(0, next - s.firstSeq); i < ops.size(); i++) { // a segment's seqs are consecutive
                ReplicatedOp o = ops.get(i);
                if (out.size() >= maxOps || (bytes >= maxBytes && !out.isEmpty())) {
                    return out;
                }
                out.add(o);
                bytes += o.getSerializedSize();
                next = o.getSeq() + 1;
            }
        }
        if (memHead < mem.size()) {
            for (int i = memHead + (int) Math.max(0, next - mem.get(memHead).getSeq()); i < mem.size(); i++) {
                ReplicatedOp o = mem.get(i);
                if (out.size() >= maxOps || (bytes >= maxBytes && !out.isEmpty())) {
                    break;
                }
                out.add(o);
                bytes += o.getSerializedSize();
            }
        }
        return out;
    }

    private ReplicatedOp pollFirstInMem() {
        ReplicatedOp o = mem.get(memHead);
        mem.set(memHead++, null);
        if (memHead >= 4096 && memHead >= mem.size() / 2) {
            mem.subList(0, memHead).clear();
            memHead = 0;
        }
        return o;
    }

    /** Drops everything up to and including ackedSeq (the lowest ack over all replicas). */
    public synchronized void trim(long ackedSeq) {
        while (memHead < mem.size() && mem.get(memHead).getSeq() <= ackedSeq && segments.isEmpty()) {
            memBytes -= pollFirstInMem().getSerializedSize();
        }
        Iterator<Segment> it = segments.iterator();
        while (it.hasNext()) {
            Segment s = it.next();
            if (s.lastSeq > ackedSeq) {
                break;
            }
            deleteSegment(s);
            it.remove();
        }
        if (segments.isEmpty()) {
            while (memHead < mem.size() && mem.get(memHead).getSeq() <= ackedSeq) {
                memBytes -= pollFirstInMem().getSerializedSize();
            }
        }
        firstHeld = Math.max(firstHeld, Math.min(ackedSeq + 1, lastSeq + 1));
    }

    private void spill() {
        int k = 0; // the oldest k ops in memory go to disk
        long bytes = 0;
        while (memHead + k < mem.size() && memBytes - bytes > memLimit / 2) {
            bytes += mem.get(memHead + k++).getSerializedSize();
        }
        if (k == 0) {
            return;
        }
        long first = mem.get(memHead).getSeq();
        long last = first + k - 1;
        Path f = spillDir.resolve(String.format("%020d-%020d.seg", first, last));
        boolean written = false;
        try (OutputStream os = Files.newOutputStream(f)) {
            CodedOutputStream out = CodedOutputStream.newInstance(os, 1 << 16); // one encoder for the segment
            for (int i = memHead; i < memHead + k; i++) {
                ReplicatedOp o = mem.get(i);
                out.writeUInt32NoTag(o.getSerializedSize());
                o.writeTo(out);
            }
            out.flush();
            written = true;
        } catch (IOException e) {
            // cannot spill: these ops are dropped below; replicas that need them will resync
            try {
                Files.deleteIfExists(f);
            } catch (IOException gone) {
                // removed at the next start
            }
        }
        for (int i = 0; i < k; i++) {
            pollFirstInMem();
        }
        memBytes -= bytes;
        if (!written) {
            droppedOps += k;
            firstHeld = Math.max(firstHeld, last + 1);
            return;
        }
        segments.add(new Segment(f, first, last, bytes));
        diskBytes += bytes;
        spilledSegments++;
        while (diskBytes > diskLimit && !segments.isEmpty()) {
            Segment s = segments.remove(0);
            deleteSegment(s);
            droppedOps += s.lastSeq - s.firstSeq + 1;
            firstHeld = Math.max(firstHeld, s.lastSeq + 1);
        }
    }

    private List<ReplicatedOp> segmentOps(Segment s) {
        if (cachedSegment == s) {
            return cachedOps;
        }
        List<ReplicatedOp> ops = new ArrayList<>();
        try {
            // one decoder over the whole segment: a delimited parse per op allocates a decoder and buffer per op
            CodedInputStream in = CodedInputStream.newInstance(Files.readAllBytes(s.file));
            ExtensionRegistryLite none = ExtensionRegistryLite.getEmptyRegistry();
            while (!in.isAtEnd()) {
                int limit = in.pushLimit(in.readRawVarint32());
                ops.add(ReplicatedOp.parser().parseFrom(in, none));
                in.popLimit(limit);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        cachedSegment = s;
        cachedOps = ops;
        return ops;
    }

    private void deleteSegment(Segment s) {
        diskBytes -= s.bytes;
        if (cachedSegment == s) {
            cachedSegment = null;
            cachedOps = null;
        }
        try {
            Files.deleteIfExists(s.file);
        } catch (IOException e) {
            // left behind; removed at the next start
        }
    }

    public synchronized long memBytes() {
        return memBytes;
    }

    public synchronized long diskBytes() {
        return diskBytes;
    }

    public synchronized int segmentCount() {
        return segments.size();
    }

    public synchronized long spilledSegments() {
        return spilledSegments;
    }

    public synchronized long droppedOps() {
        return droppedOps;
    }

    @Override
    public synchronized void close() {
        for (Segment s : segments) {
            deleteSegment(s);
        }
        segments.clear();
        mem.clear();
        memHead = 0;
        memBytes = 0;
    }
}
