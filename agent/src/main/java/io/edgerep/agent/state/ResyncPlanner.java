// SPDX-License-Identifier: Apache-2.0
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
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

import com.google.protobuf.ByteString;

import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.FileAttrs;
import io.edgerep.proto.v1.FileAttrsOrBuilder;
import io.edgerep.proto.v1.FileBlocks;
import io.edgerep.proto.v1.FileChecksums;
import io.edgerep.proto.v1.FileMeta;
import io.edgerep.proto.v1.ReplicatedOp;

/**
 * Plans a resync from the origin's files and the replica's facts (see {@link TreeSums}): directories first (parents
 * before children), then for each file only the blocks whose checksum differs (all of them for a file the replica
 * lacks) followed by its exact size and attributes, or the link to its first name for another name of a hard-linked
 * file; then removal of what the replica has and the origin does not (children before parents); then the symbolic
 * links that differ (contents verbatim, attributes); last the attributes of every directory that differs or had
 * entries made or removed. Emits unsequenced ops to a sink, in chunks of at most {@link #MAX_BLOCKS_PER_OP} blocks.
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
        TreeMap<String, Path> ours = ours(origin, scope, t);
        Map<String, String> hardlinks = TreeSums.hardlinkNames(ours);
        Map<String, Set<String>> ourGroups = groups(hardlinks);
        Map<String, String> theirLinks = new HashMap<>();
        theirs.values().stream().filter(f -> !f.getHardlinkOf().isEmpty())
                .forEach(f -> theirLinks.put(f.getPath(), f.getHardlinkOf()));
        Map<String, Set<String>> theirGroups = groups(theirLinks);
        Counts n = new Counts();
        Set<String> dirs = new TreeSet<>();
        Set<String> stamp = new TreeSet<>(); // directories whose attributes go last
        List<Map.Entry<String, Path>> regular = new ArrayList<>();
        Map<String, Path> links = new TreeMap<>();
        // directories, parents first (TreeMap order puts "/a" before "/a/b")
        for (Map.Entry<String, Path> e : ours.entrySet()) {
            BasicFileAttributes a = PosixFiles.lstat(e.getValue());
            if (a == null) {
                continue;
            }
            if (a.isSymbolicLink()) {
                links.put(e.getKey(), e.getValue());
            } else if (!a.isDirectory()) {
                regular.add(e);
            } else {
                dirs.add(e.getKey());
                FileAttrs.Builder at = PosixFiles.attrsOf(e.getValue(), e.getKey());
                FileChecksums th = theirs.get(e.getKey());
                if (at != null && (th == null || !th.getIsDir())) {
                    sink.accept(meta(FileMeta.newBuilder().setPath(e.getKey()).setIsDir(true)
                            .setMode(at.getMode())));
                    n.files++;
                    stamp.add(e.getKey());
                } else if (at != null && !sameAttrs(th, at, false)) {
                    n.files++;
                    stamp.add(e.getKey());
                }
            }
        }
        for (Map.Entry<String, Path> e : regular) {
            boolean shared = !Objects.equals(theirGroups.get(e.getKey()), ourGroups.get(e.getKey()))
                    && theirGroups.containsKey(e.getKey());
            long[] sent = sendFile(e.getKey(), e.getValue(), theirs.get(e.getKey()), hardlinks.get(e.getKey()),
                    shared, blockSize, sink, t);
            if (sent != null) {
                n.files++;
                n.blocks += sent[0];
                n.bytes += sent[1];
                stamp.add(parent(e.getKey()));
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
            n.removed++;
            stamp.add(parent(p));
        }
        // links last: a directory the replica has in a link's place was emptied above, not through the link
        for (Map.Entry<String, Path> l : links.entrySet()) {
            if (sendLink(l.getKey(), l.getValue(), theirs.get(l.getKey()), sink)) {
                n.files++;
                stamp.add(parent(l.getKey()));
            }
        }
        // then the directories' attributes: every entry made or removed above changed their times on the replica
        for (String d : stamp) {
            if (!dirs.contains(d)) {
                continue;
            }
            long read = SnapshotTimes.now();
            FileAttrs.Builder at = PosixFiles.attrsOf(ours.get(d), d);
            t.read(d, read, SnapshotTimes.now());
            if (at != null) {
                sink.accept(ReplicatedOp.newBuilder().setAttrs(at).build());
            }
        }
        return new Result(n.files, n.blocks, n.bytes, n.removed);
    }

    /** What a plan counted as it went. */
    private static final class Counts {
        long files;
        long blocks;
        long bytes;
        long removed;
    }

    /** The origin's paths in scope (the whole replicated tree when null), noting when each was looked at. */
    private static TreeMap<String, Path> ours(ConfinedRoot origin, Collection<String> scope, SnapshotTimes t)
            throws IOException {
        TreeMap<String, Path> ours = new TreeMap<>();
        if (scope == null) {
            long walkStart = SnapshotTimes.now();
            for (Path p : origin.walk()) {
                ours.put(origin.containerPath(p), p);
            }
            t.walked(walkStart, SnapshotTimes.now());
            return ours;
        }
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
        return ours;
    }

    /** First name of each hard-linked file -> every one of its names, from name -> first name. */
    static Map<String, Set<String>> groups(Map<String, String> hardlinkOf) {
        Map<String, Set<String>> out = new HashMap<>();
        hardlinkOf.forEach((name, first) -> {
            out.computeIfAbsent(first, k -> new TreeSet<>(Set.of(k))).add(name);
        });
        return out;
    }

    static String parent(String containerPath) {
        int i = containerPath.lastIndexOf('/');
        return i <= 0 ? "/" : containerPath.substring(0, i);
    }

    /** Whether the replica's facts show the same mode (unless a link), owner and modification time as at. */
    static boolean sameAttrs(FileChecksums th, FileAttrsOrBuilder at, boolean link) {
        boolean mtime = link
                ? th.getMtimeNs() / 1000 == at.getMtimeNs() / 1000 // lutimes(3) keeps microseconds
                : th.getMtimeNs() == at.getMtimeNs();
        return (link || th.getMode() == at.getMode()) && th.getUid() == at.getUid() && th.getGid() == at.getGid()
                && mtime;
    }

    /** Sends a symbolic link whose contents or attributes differ; whether it sent anything. */
    private static boolean sendLink(String cp, Path p, FileChecksums th, Consumer<ReplicatedOp> sink)
            throws IOException {
        String target;
        try {
            target = Files.readSymbolicLink(p).toString();
        } catch (NoSuchFileException | NotLinkException gone) {
            return false; // replaced meanwhile: its op is on its way
        }
        FileAttrs.Builder at = PosixFiles.attrsOf(p, cp);
        if (at == null) {
            return false;
        }
        if (th == null || !th.getLinkTarget().equals(target)) {
            sink.accept(meta(FileMeta.newBuilder().setPath(cp).setLinkTarget(target).setAttrs(at)));
            return true;
        }
        if (!sameAttrs(th, at, true)) {
            sink.accept(ReplicatedOp.newBuilder().setAttrs(at).build());
            return true;
        }
        return false;
    }

    /**
     * Sends the differing blocks of one file and its meta (size and attributes), or, for another name of a file sent
     * under a first name, the link; returns {blocks, bytes} or null when the replica already has it all.
     */
    private static long[] sendFile(String cp, Path p, FileChecksums theirs, String hardlinkOf,
            boolean sharedOnReplica, int blockSize, Consumer<ReplicatedOp> sink, SnapshotTimes times)
            throws IOException {
        if (hardlinkOf != null) {
            long read = SnapshotTimes.now();
            times.read(cp, read, read);
            if (theirs != null && theirs.getLinkTarget().isEmpty() && theirs.getHardlinkOf().equals(hardlinkOf)) {
                return null; // the same file: its first name carried content and attributes
            }
            sink.accept(meta(FileMeta.newBuilder().setPath(cp).setHardlinkOf(hardlinkOf)));
            return new long[]{0, 0};
        }
        long blocks = 0;
        long bytes = 0;
        long size;
        FileBlocks.Builder chunk = FileBlocks.newBuilder().setPath(cp).setBlockSize(blockSize);
        if (theirs != null && (!theirs.getLinkTarget().isEmpty() || sharedOnReplica)) {
            // never write through its link, nor into a file the replica shares with names the origin's does not have
            sink.accept(meta(FileMeta.newBuilder().setPath(cp).setAbsent(true)));
            theirs = null;
        }
        boolean differs = theirs == null || theirs.getIsDir();
        long opened = SnapshotTimes.now();
        FileAttrs.Builder at;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
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
            at = PosixFiles.attrsOf(p, cp);
            times.read(cp, opened, SnapshotTimes.now());
        } catch (NoSuchFileException e) {
            times.read(cp, opened, SnapshotTimes.now());
            sink.accept(meta(FileMeta.newBuilder().setPath(cp).setAbsent(true)));
            return new long[]{0, 0};
        }
        if (chunk.getBlocksCount() > 0) {
            sink.accept(ReplicatedOp.newBuilder().setBlocks(chunk).build());
        }
        if (at == null) {
            sink.accept(meta(FileMeta.newBuilder().setPath(cp).setAbsent(true))); // removed while it was read
            return new long[]{blocks, bytes};
        }
        if (theirs != null && (theirs.getSize() != size || !sameAttrs(theirs, at, false))) {
            differs = true;
        }
        if (!differs) {
            return null;
        }
        sink.accept(meta(FileMeta.newBuilder().setPath(cp).setSize(size).setMode(at.getMode()).setAttrs(at)));
        return new long[]{blocks, bytes};
    }

    private static ReplicatedOp meta(FileMeta.Builder m) {
        return ReplicatedOp.newBuilder().setMeta(m).build();
    }
}
