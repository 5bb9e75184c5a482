package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import com.google.protobuf.ByteString;

import io.edgerep.proto.v1.FileDirty;
import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;

/**
 * Origin side of one replication key: turns the loader's captured events into sequenced ops in an {@link OpLog} and
 * fans them out to one {@link ReplicaLink} per replica. Dirty ranges (bytes the kernel could not copy) are read from
 * the origin's file here; loader loss or a gap in the loader's sequence resyncs every replica.
 */
public final class OriginReplication implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OriginReplication.class);
    /** Largest dirty range read into a single write op; larger ones resync the file. */
    static final long MAX_DIRTY_READ = 8L << 20;

    private final String key;
    private final ConfinedRoot origin;
    private final OpLog log;
    private final Map<String, ReplicaLink> links = new ConcurrentHashMap<>();
    private long lastLoaderSeq;
    private final AtomicLong lostRecords = new AtomicLong();
    private final AtomicLong refusedEvents = new AtomicLong();
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
            capturing = true;
            LOG.infof("origin %s: capture on", key);
            for (ReplicaLink l : links.values()) {
                l.requestFullResync();
            }
        }
    }

    /**
     * Whether capture is on is no longer known (the loader's event stream broke, the loader may have restarted
     * without its traces): no replica resyncs or counts as in sync until {@link #captureOn()}.
     */
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

    /** Adds a link; it resyncs only while this origin's capture is on. */
    public void addLink(ReplicaLink link) {
        link.captureGate(this::capturing);
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
    public synchronized void accept(List<StateEvent> events, long lost) {
        boolean resyncAll = lost > 0;
        for (StateEvent ev : events) {
            if (ev.getSeq() != 0) {
                if (lastLoaderSeq != 0 && ev.getSeq() != lastLoaderSeq + 1) {
                    LOG.warnf("origin %s: loader sequence gap %d -> %d", key, lastLoaderSeq, ev.getSeq());
                    resyncAll = true;
                }
                lastLoaderSeq = ev.getSeq();
            }
            if (!ReplicaLink.pathsOf(ev).stream().allMatch(origin::isReplicated)) {
                refusedEvents.incrementAndGet(); // the loader filters by prefix; never ship what it let through wrongly
                continue;
            }
            StateEvent e = ev.hasDirty() ? resolveDirty(ev) : ev;
            if (e == null) {
                continue;
            }
            log.append(ReplicatedOp.newBuilder().setCapturedUnixMs(System.currentTimeMillis()).setEvent(e));
        }
        if (resyncAll) {
            LOG.infof("origin %s: resync of every replica (%d records lost)", key, lost);
            lostRecords.addAndGet(Math.max(lost, 1));
            for (ReplicaLink l : links.values()) {
                l.requestFullResync();
            }
        }
        trim();
    }

    /** Reads the dirty range from the origin's file; too large or unreadable ranges resync the file instead. */
    private StateEvent resolveDirty(StateEvent ev) {
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
                    return ev.toBuilder().setWrite(FileWrite.newBuilder().setPath(d.getPath()).setOffset(off)
                            .setData(ByteString.copyFrom(buf.array(), 0, n))).build();
                }
            }
        } catch (IOException e) {
            LOG.debugf("origin %s: dirty %s unreadable: %s", key, d.getPath(), e.getMessage());
        }
        for (ReplicaLink l : links.values()) {
            l.requestResync(List.of(d.getPath()));
        }
        return null;
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
