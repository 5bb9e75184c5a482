// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import com.google.protobuf.ByteString;

import io.edgerep.agent.loader.CaptureSink;
import io.edgerep.proto.v1.DirtyReason;
import io.edgerep.proto.v1.FileAttrs;
import io.edgerep.proto.v1.FileDirty;
import io.edgerep.proto.v1.FileTruncate;
import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;
import io.edgerep.wire.ProtoTime;

/**
 * Origin side of one replication key: turns the loader's captured events into sequenced ops in an {@link OpLog} and
 * fans them out to one {@link ReplicaLink} per replica. Dirty ranges (bytes the kernel could not copy) are read from
 * the origin's file here; loader loss or a gap in the loader's sequence resyncs every replica.
 */
public final class OriginReplication implements CaptureSink, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OriginReplication.class);
    /** Largest dirty range read into a single write op; larger ones resync the file. */
    static final long MAX_DIRTY_READ = 8L << 20;

    private final String key;
    private final ConfinedRoot origin;
    private final OpLog log;
    private final Map<String, ReplicaLink> links = new ConcurrentHashMap<>();
    private long lastLoaderSeq;
    /** Paths whose attributes could not be read after the last batch: a rename in the next one may say where. */
    private Set<String> unreadAttrs = new LinkedHashSet<>();
    private static final int MAX_UNREAD_ATTRS = 10_000;
    private final AtomicLong lostRecords = new AtomicLong();
    private final AtomicLong refusedEvents = new AtomicLong();
    /** Events are never delivered this long after their syscall; older timestamps are on another clock. */
    static final long MAX_EVENT_AGE_NS = 60_000_000_000L;
    /** Timestamps this far in our future are on another clock. */
    static final long CLOCK_SKEW_NS = 1_000_000_000L;
    private volatile boolean clockTrusted = true;
    /** Whether the loader is known to trace the origin now; off until {@link #captureOn()}. */
    private volatile boolean capturing;

    public OriginReplication(String key, ConfinedRoot origin, OpLog log) {
        this.key = key;
        this.origin = origin;
        this.log = log;
    }

    public OpLog log() {
        return log;
    }

    public ConfinedRoot origin() {
        return origin;
    }

    /**
     * The loader traces the origin (its trace was set or found in place): links may take their resync snapshot now.
     * Turning capture on again after it was off resyncs every replica, since writes went uncaptured meanwhile.
     */
    public void captureOn() {
        if (!capturing) {
            LOG.infof("origin %s: capture on", key);
            for (ReplicaLink l : links.values()) {
                l.requestFullResync(); // before the gate opens, so that a waiting link resyncs once
            }
            capturing = true;
        }
    }

    /**
     * Whether capture is on is no longer known (the loader's event stream broke, the loader may have restarted
     * without its traces): no replica resyncs or counts as in sync until {@link #captureOn()}.
     */
    @Override
    public void captureLost() {
        if (capturing) {
            LOG.infof("origin %s: capture lost", key);
        }
        capturing = false;
        lostRecords.incrementAndGet();
        for (ReplicaLink l : links.values()) {
            l.requestFullResync();
        }
    }

    public boolean capturing() {
        return capturing;
    }

    /**
     * Whether the loader's event timestamps are on this process's {@link System#nanoTime()} clock (both
     * CLOCK_MONOTONIC on one host), which resyncs rely on to place ops against the content they read. Off for good once
     * an event's timestamp lies in our future or far in our past.
     */
    public boolean clockTrusted() {
        return clockTrusted;
    }

    private void checkClock(StateEvent ev) {
        long ts = ev.getTimestampNs();
        if (ts == 0 || !clockTrusted) {
            return;
        }
        long age = System.nanoTime() - ts;
        if (age < -CLOCK_SKEW_NS || age > MAX_EVENT_AGE_NS) {
            clockTrusted = false;
            LOG.warnf("origin %s: an event's timestamp is %d ms from now: loader and agent clocks differ; resyncs "
                    + "can no longer place captured ops against the content they read (verification repairs)", key,
                    age / 1_000_000);
        }
    }

    /** Adds a link; it resyncs only while this origin's capture is on. */
    public void addLink(ReplicaLink link) {
        link.bind(this);
        ReplicaLink old = links.put(link.pod(), link);
        if (old != null) {
            old.close();
        }
    }

    public void removeLink(String pod) {
        ReplicaLink old = links.remove(pod);
        if (old != null) {
            old.close();
        }
        trim();
    }

    public Map<String, ReplicaLink> links() {
        return links;
    }

    /** Feeds captured events (in the loader's order) and the loader's loss count for this key. */
    @Override
    public synchronized void accept(List<StateEvent> events, long lost) {
        boolean resyncAll = lost > 0;
        Set<String> changed = new LinkedHashSet<>();
        for (StateEvent ev : events) {
            if (ev.getSeq() != 0) {
                if (lastLoaderSeq != 0 && ev.getSeq() != lastLoaderSeq + 1) {
                    LOG.warnf("origin %s: loader sequence gap %d -> %d", key, lastLoaderSeq, ev.getSeq());
                    resyncAll = true;
                }
                lastLoaderSeq = ev.getSeq();
            }
            if (!StateEvents.pathsOf(ev).stream().allMatch(origin::isReplicated)) {
                refusedEvents.incrementAndGet(); // the loader filters by prefix; never ship what it let through wrongly
                continue;
            }
            checkClock(ev);
            if (ev.hasAttrsChanged()) {
                changed.add(ev.getAttrsChanged().getPath()); // its FileAttrs below say what the call left
                continue;
            }
            StateEvent in = fromOutsideThroughLink(ev);
            List<StateEvent> out = in.hasDirty()
                    ? resolveDirty(in)
                    : List.of(in.hasCreate() || in.hasMkdir() ? withOriginMode(in) : in);
            for (StateEvent e : out) {
                log.append(ReplicatedOp.newBuilder().setCapturedAt(ProtoTime.now()).setEvent(e));
                if (e.hasRename()) { // what was changed under the old name is read under the new one
                    changed = renamed(changed, e.getRename().getFrom(), e.getRename().getTo());
                    unreadAttrs = renamed(unreadAttrs, e.getRename().getFrom(), e.getRename().getTo());
                }
                for (String p : StateEvents.pathsOf(e)) {
                    changed.add(p);
                    changed.add(ResyncPlanner.parent(p)); // any op may make an entry on the replica (a write, too)
                }
            }
        }
        Set<String> toRead = new LinkedHashSet<>(changed);
        toRead.addAll(unreadAttrs);
        appendAttrs(toRead);
        if (resyncAll) {
            LOG.infof("origin %s: resync of every replica (%d records lost)", key, lost);
            lostRecords.addAndGet(Math.max(lost, 1));
            for (ReplicaLink l : links.values()) {
                l.requestFullResync();
            }
        }
        trim();
    }

    /**
     * After the ops of a batch, the attributes each path they changed has on the origin now (owner, mode, times: what
     * a write, a chmod, a chown or a utimes left), and those of their directories, whose entries they may have
     * changed: the replica's files carry the origin's times, not those of their apply.
     */
    private void appendAttrs(Set<String> paths) {
        Set<String> retry = unreadAttrs;
        unreadAttrs = new LinkedHashSet<>();
        for (String cp : paths) {
            if (!origin.isReplicated(cp)) {
                continue; // the parent of a replicated prefix
            }
            try {
                FileAttrs.Builder a = PosixFiles.attrsOf(origin.resolve(cp, false), cp);
                if (a != null) {
                    log.append(ReplicatedOp.newBuilder().setCapturedAt(ProtoTime.now()).setAttrs(a));
                }
            } catch (IOException e) {
                // gone, or renamed already by a call whose event is still on its way: tried once more after it
                if (!retry.contains(cp) && unreadAttrs.size() < MAX_UNREAD_ATTRS) {
                    unreadAttrs.add(cp);
                }
            }
        }
    }

    /** paths with from (and whatever lies under it) named as after a rename to to. */
    static Set<String> renamed(Set<String> paths, String from, String to) {
        Set<String> out = new LinkedHashSet<>();
        for (String p : paths) {
            out.add(p.equals(from) || p.startsWith(from + "/") ? to + p.substring(from.length()) : p);
        }
        return out;
    }

    /**
     * A create or mkdir carries the mode passed to the call, before the process's umask: the real mode is taken from
     * the origin when the path is still there (a later chmod comes as its own op), so the replica does not differ by
     * it.
     */
    private StateEvent withOriginMode(StateEvent ev) {
        try {
            if (ev.hasMkdir()) {
                int mode = PosixFiles.mode(origin.resolve(ev.getMkdir().getPath(), false));
                return ev.toBuilder().setMkdir(ev.getMkdir().toBuilder().setMode(mode)).build();
            }
            int mode = PosixFiles.mode(origin.resolve(ev.getCreate().getPath(), true));
            return ev.toBuilder().setCreate(ev.getCreate().toBuilder().setMode(mode)).build();
        } catch (IOException e) {
            return ev; // gone already: the mode no longer matters
        }
    }

    /**
     * A rename or link whose source lies outside the replicated paths through a symbolic link (the loader checks paths
     * lexically): its content came in from outside, so the replicas get it as a whole-file dirty range, as the loader
     * sends a lexical rename into the paths.
     */
    private StateEvent fromOutsideThroughLink(StateEvent ev) {
        String from;
        String to;
        if (ev.hasRename()) {
            from = ev.getRename().getFrom();
            to = ev.getRename().getTo();
        } else if (ev.hasLink()) {
            from = ev.getLink().getFrom();
            to = ev.getLink().getTo();
        } else {
            return ev;
        }
        try {
            origin.resolve(from, false);
            return ev;
        } catch (PathRefusedException e) {
            return ev.toBuilder().setDirty(FileDirty.newBuilder().setPath(to)
                    .setReason(ev.hasRename() ? DirtyReason.DIRTY_REASON_RENAME_IN : DirtyReason.DIRTY_REASON_LINK_IN))
                    .build();
        } catch (IOException e) {
            return ev; // gone or not a directory on the way: the replica resolves it the same way
        }
    }

    /**
     * Reads the dirty range from the origin's file; too large or unreadable ranges resync the file instead. A whole
     * file (length 0) also gets its exact length, since the replica may hold a longer one.
     */
    private List<StateEvent> resolveDirty(StateEvent ev) {
        FileDirty d = ev.getDirty();
        try {
            Path p = origin.resolve(d.getPath(), true);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                long size = ch.size();
                long off = d.getLength() == 0 ? 0 : d.getOffset();
                long len = d.getLength() == 0 ? size : Math.min(d.getLength(), Math.max(0, size - off));
                if (len <= MAX_DIRTY_READ) {
                    ByteBuffer buf = ByteBuffer.allocate((int) len);
                    int n = BlockSums.readFully(ch, buf, off);
                    StateEvent write = ev.toBuilder().setWrite(FileWrite.newBuilder().setPath(d.getPath())
                            .setOffset(off).setData(ByteString.copyFrom(buf.array(), 0, n))).build();
                    if (d.getLength() != 0) {
                        return List.of(write);
                    }
                    return List.of(write, ev.toBuilder().setTruncate(
                            FileTruncate.newBuilder().setPath(d.getPath()).setLength(n)).build());
                }
            }
        } catch (IOException e) {
            LOG.debugf("origin %s: dirty %s unreadable: %s", key, d.getPath(), e.getMessage());
        }
        for (ReplicaLink l : links.values()) {
            l.requestResync(List.of(d.getPath()));
        }
        return List.of();
    }

    /** Drops ops every replica acknowledged. */
    public void trim() {
        long min = Long.MAX_VALUE;
        for (ReplicaLink l : links.values()) {
            min = Math.min(min, l.ackedSeq());
        }
        if (min != Long.MAX_VALUE && min > 0) {
            log.trim(min);
        }
    }

    public boolean allInSync() {
        for (ReplicaLink l : links.values()) {
            if (!l.inSync()) {
                return false;
            }
        }
        return true;
    }

    public long lostRecords() {
        return lostRecords.get();
    }

    public long refusedEvents() {
        return refusedEvents.get();
    }

    public String key() {
        return key;
    }

    @Override
    public void close() {
        for (ReplicaLink l : links.values()) {
            l.close();
        }
        links.clear();
        log.close();
    }
}
