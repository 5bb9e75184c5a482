package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import com.google.protobuf.ByteString;

import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.FileBlocks;
import io.edgerep.proto.v1.FileChecksums;
import io.edgerep.proto.v1.FileMeta;
import io.edgerep.proto.v1.ReplicatedOp;

/**
 * Plans a resync from the origin's files and the replica's block checksums: directories first (parents before
 * children), then for each file only the blocks whose checksum differs (all of them for a file the replica lacks),
 * followed by its exact size and mode, then removal of what the replica has and the origin does not (children before
 * parents), then the symbolic links that differ (their contents, verbatim). Emits unsequenced ops to a sink, in chunks of at most {@link #MAX_BLOCKS_PER_OP} blocks.
 */
public final class ResyncPlanner {
    /** Blocks per FileBlocks op (1 MiB with the default block size). */
    static final int MAX_BLOCKS_PER_OP = 16;

    /** What a plan sent: paths (files, directories, links) it sent something for, blocks, bytes, removals. */
    public record Result(long files, long blocks, long bytes, long removed) {
    }

    private ResyncPlanner() {
    }

    /** As {@link #plan(ConfinedRoot, ChecksumsResponse, Collection, int, Consumer, SnapshotTimes)}, times unrecorded. */
    public static Result plan(ConfinedRoot origin, ChecksumsResponse replica, Collection<String> scope, int blockSize,
            Consumer<ReplicatedOp> sink) throws IOException {
        return plan(origin, replica, scope, blockSize, sink, null);
    }

    /**
     * @param origin the origin container root (read side)
     * @param replica checksums the replica reported
     * @param scope container paths to consider; null = the whole replicated tree
     * @param times records when each path was read (may be null)
     */
    public static Result plan(ConfinedRoot origin, ChecksumsResponse replica, Collection<String> scope, int blockSize,
            Consumer<ReplicatedOp> sink, SnapshotTimes times) throws IOException {
        SnapshotTimes t = times != null ? times : new SnapshotTimes(scope == null);
        Map<String, FileChecksums> theirs = new HashMap<>();
        for (FileChecksums f : replica.getFilesList()) {
            theirs.put(f.getPath(), f);
        }
        TreeMap<String, Path> ours = new TreeMap<>();
        if (scope == null) {
            long walkStart = SnapshotTimes.now();
            for (Path p : origin.walk()) {
                ours.put(origin.containerPath(p), p);
            }
            t.walked(walkStart, SnapshotTimes.now());
        } else {
            for (String cp : scope) {
                long checked = SnapshotTimes.now();
                t.read(cp, checked, checked); // absent unless read below
                try {
                    Path p = origin.resolve(cp, false);
                    BasicFileAttributes a = PosixFiles.lstat(p);
                    if (a != null && (a.isDirectory() || a.isRegularFile() || a.isSymbolicLink())) {
                        ours.put(cp, p);
                    }
                } catch (PathRefusedException | NoSuchFileException e) {
                    // not ours to send, or gone
                }
            }
        }
        long files = 0;
        long blocks = 0;
        long bytes = 0;
        long removed = 0;
        // directories, parents first (TreeMap order puts "/a" before "/a/b")
        List<Map.Entry<String, Path>> regular = new ArrayList<>();
        Map<String, String> links = new TreeMap<>();
        for (Map.Entry<String, Path> e : ours.entrySet()) {
            BasicFileAttributes a = PosixFiles.lstat(e.getValue());
            if (a == null) {
                continue;
            }
            if (a.isSymbolicLink()) {
                try {
                    links.put(e.getKey(), Files.readSymbolicLink(e.getValue()).toString());
                } catch (NoSuchFileException | NotLinkException gone) {
                    // replaced meanwhile: its op is on its way
                }
                continue;
            }
            if (!a.isDirectory()) {
                regular.add(e);
                continue;
            }
            int mode = PosixFiles.mode(e.getValue());
            FileChecksums th = theirs.get(e.getKey());
            if (th == null || !th.getIsDir() || th.getMode() != mode) {
                sink.accept(meta(FileMeta.newBuilder().setPath(e.getKey()).setIsDir(true).setMode(mode)));
                files++; // a path the plan sent something for, as a file or link is
            }
        }
        for (Map.Entry<String, Path> e : regular) {
            long[] sent = sendFile(e.getKey(), e.getValue(), theirs.get(e.getKey()), blockSize, sink, t);
            if (sent != null) {
                files++;
                blocks += sent[0];
                bytes += sent[1];
            }
        }
        // removals, children first
        List<String> gone = new ArrayList<>();
        for (String p : theirs.keySet()) {
            if (!ours.containsKey(p) && (scope == null || scope.contains(p))) {
                gone.add(p);
            }
        }
        gone.sort(Comparator.reverseOrder());
        for (String p : gone) {
            sink.accept(meta(FileMeta.newBuilder().setPath(p).setAbsent(true)));
            removed++;
        }
        // links last: a directory the replica has in a link's place was emptied above, not through the link
        for (Map.Entry<String, String> l : links.entrySet()) {
            FileChecksums th = theirs.get(l.getKey());
            if (th == null || !th.getLinkTarget().equals(l.getValue())) {
                sink.accept(meta(FileMeta.newBuilder().setPath(l.getKey()).setLinkTarget(l.getValue())));
                files++;
            }
        }
        return new Result(files, blocks, bytes, removed);
    }

    /** Sends the differing blocks of one file and its meta; returns {blocks, bytes} or null when identical. */
    private static long[] sendFile(String cp, Path p, FileChecksums theirs, int blockSize, Consumer<ReplicatedOp> sink,
            SnapshotTimes times) throws IOException {
        long blocks = 0;
        long bytes = 0;
        int mode;
        long size;
        FileBlocks.Builder chunk = FileBlocks.newBuilder().setPath(cp).setBlockSize(blockSize);
        if (theirs != null && !theirs.getLinkTarget().isEmpty()) {
            sink.accept(meta(FileMeta.newBuilder().setPath(cp).setAbsent(true))); // never write through its link
            theirs = null;
        }
        boolean differs = theirs == null || theirs.getIsDir();
        long opened = SnapshotTimes.now();
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            mode = PosixFiles.mode(p);
            ByteBuffer buf = ByteBuffer.allocate(blockSize);
            long index = 0;
            long pos = 0;
            while (true) {
                buf.clear();
                int n = BlockSums.readFully(ch, buf, pos);
                if (n <= 0) {
                    break;
                }
                ByteString sum = BlockSums.of(buf.array(), 0, n);
                boolean same = theirs != null && !theirs.getIsDir() && index < theirs.getBlockSumsCount()
                        && theirs.getBlockSums((int) index).equals(sum)
                        && (n == blockSize || theirs.getSize() == pos + n);
                if (!same) {
                    chunk.putBlocks(index, ByteString.copyFrom(buf.array(), 0, n));
                    blocks++;
                    bytes += n;
                    differs = true;
                    if (chunk.getBlocksCount() >= MAX_BLOCKS_PER_OP) {
                        sink.accept(ReplicatedOp.newBuilder().setBlocks(chunk).build());
                        chunk = FileBlocks.newBuilder().setPath(cp).setBlockSize(blockSize);
                    }
                }
                pos += n;
                index++;
                if (n < blockSize) {
                    break;
                }
            }
            size = pos;
            times.read(cp, opened, SnapshotTimes.now());
        } catch (NoSuchFileException e) {
            times.read(cp, opened, SnapshotTimes.now());
            sink.accept(meta(FileMeta.newBuilder().setPath(cp).setAbsent(true)));
            return new long[]{0, 0};
        }
        if (chunk.getBlocksCount() > 0) {
            sink.accept(ReplicatedOp.newBuilder().setBlocks(chunk).build());
        }
        if (theirs != null && (theirs.getSize() != size || theirs.getMode() != mode)) {
            differs = true;
        }
        if (!differs) {
            return null;
        }
        sink.accept(meta(FileMeta.newBuilder().setPath(cp).setSize(size).setMode(mode)));
        return new long[]{blocks, bytes};
    }

    private static ReplicatedOp meta(FileMeta.Builder m) {
        return ReplicatedOp.newBuilder().setMeta(m).build();
    }
}
