// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.edgerep.proto.v1.FileAttrs;
import io.edgerep.proto.v1.FileBlocks;
import io.edgerep.proto.v1.FileMeta;
import io.edgerep.proto.v1.StateEvent;

/**
 * Executes single state ops inside a {@link ConfinedRoot}. Open channels are cached for the duration of a batch
 * ({@link #endBatch()}), so a run of writes to one file costs one open.
 */
final class OpExecutor implements AutoCloseable {
    /** Most files kept open within a batch. */
    private static final int MAX_OPEN = 32;

    private final ConfinedRoot root;
    private final Map<Path, FileChannel> open = new LinkedHashMap<>(16, 0.75f, true);
    /** Followed resolutions within a batch; dropped on every op that changes the tree's shape. */
    private final Map<String, Path> resolved = new java.util.HashMap<>();

    OpExecutor(ConfinedRoot root) {
        this.root = root;
    }

    private Path follow(String path) throws IOException {
        Path p = resolved.get(path);
        if (p == null) {
            p = root.resolve(path, true);
            resolved.put(path, p);
        }
        return p;
    }

    void apply(StateEvent ev) throws IOException {
        switch (ev.getOpCase()) {
            case RENAME, UNLINK, MKDIR, RMDIR, SYMLINK, LINK -> resolved.clear();
            default -> {
            }
        }
        switch (ev.getOpCase()) {
            case WRITE -> write(ev.getWrite().getPath(), ev.getWrite().getOffset(),
                    ev.getWrite().getData().asReadOnlyByteBuffer(),
                    ev.getWrite().getAppend());
            case TRUNCATE -> truncate(ev.getTruncate().getPath(), ev.getTruncate().getLength());
            case RENAME -> rename(ev.getRename().getFrom(), ev.getRename().getTo());
            case UNLINK -> unlink(ev.getUnlink().getPath());
            case MKDIR -> mkdir(ev.getMkdir().getPath(), ev.getMkdir().getMode());
            case RMDIR -> rmdir(ev.getRmdir().getPath());
            case CHMOD -> PosixFiles.setMode(follow(ev.getChmod().getPath()), ev.getChmod().getMode());
            case CREATE -> create(ev.getCreate().getPath(), ev.getCreate().getMode(), ev.getCreate().getTruncate());
            case SYNC -> sync(ev.getSync().getPath());
            case SYMLINK -> symlink(ev.getSymlink().getPath(), ev.getSymlink().getTarget());
            case LINK -> link(ev.getLink().getFrom(), ev.getLink().getTo());
            case DIRTY -> throw new IOException("dirty range reached a replica unresolved: " + ev.getDirty().getPath());
            case ATTRS_CHANGED -> {
                // the owner and times it left arrive as the FileAttrs the origin appends after the batch
            }
            case OP_NOT_SET -> {
                // a placeholder: the op's effect came with the resync content before it
            }
            default -> throw new IOException("unknown op " + ev.getOpCase());
        }
    }

    void blocks(FileBlocks b) throws IOException {
        FileChannel ch = channel(follow(b.getPath()), true);
        for (Map.Entry<Long, com.google.protobuf.ByteString> e : b.getBlocksMap().entrySet()) {
            PosixFiles.writeAt(ch, e.getValue().asReadOnlyByteBuffer(), e.getKey() * (long) b.getBlockSize());
        }
    }

    void meta(FileMeta m) throws IOException {
        resolved.clear();
        if (m.getAbsent()) {
            Path p = root.resolve(m.getPath(), false);
            closeUnder(p);
            PosixFiles.deleteTree(p);
            return;
        }
        Path p = root.resolve(m.getPath(), false); // the origin has no link here, or says which
        BasicFileAttributes a = PosixFiles.lstat(p);
        if (!m.getLinkTarget().isEmpty()) {
            symlinkAt(p, m.getLinkTarget());
            if (m.hasAttrs()) {
                PosixFiles.setAttrs(p, m.getAttrs(), true);
            }
            return;
        }
        if (!m.getHardlinkOf().isEmpty()) {
            link(m.getHardlinkOf(), m.getPath());
            return; // one file under two names: its attributes came with the first
        }
        if (a != null && a.isSymbolicLink()) {
            Files.delete(p); // never written through: the origin has a file or directory in its place
            a = null;
        }
        if (m.getIsDir()) {
            if (a != null && !a.isDirectory()) {
                closeUnder(p);
                Files.delete(p);
                a = null;
            }
            if (a == null) {
                Files.createDirectories(p);
            }
        } else {
            if (a != null && a.isDirectory()) {
                closeUnder(p);
                PosixFiles.deleteTree(p);
            }
            FileChannel ch = channel(p, true);
            PosixFiles.setLength(ch, m.getSize());
        }
        if (m.hasAttrs()) {
            closeUnder(p); // times are set last: nothing written through a cached channel after them
            PosixFiles.setAttrs(p, m.getAttrs(), false);
        } else if (m.getMode() != 0) {
            PosixFiles.setMode(p, m.getMode());
        }
    }

    /**
     * The origin's attributes for a path (owner, mode, times), never through its last link; a path the replica does
     * not have (removed by a later op already applied, or refused) is left alone.
     */
    void attrs(FileAttrs a) throws IOException {
        Path p = root.resolve(a.getPath(), false);
        BasicFileAttributes have = PosixFiles.lstat(p);
        if (have == null) {
            return;
        }
        closeUnder(p);
        PosixFiles.setAttrs(p, a, have.isSymbolicLink());
    }

    private void write(String path, long offset, ByteBuffer data, boolean append) throws IOException {
        FileChannel ch = channel(follow(path), true);
        PosixFiles.writeAt(ch, data, append ? ch.size() : offset);
    }

    private void truncate(String path, long length) throws IOException {
        PosixFiles.setLength(channel(follow(path), true), length);
    }

    private void rename(String from, String to) throws IOException {
        Path f = root.resolve(from, false);
        Path t;
        try {
            t = root.resolve(to, false);
        } catch (PathRefusedException e) {
            if (root.isReplicated(to)) {
                // moved out of the replicated paths through a link: gone from them, as on the origin
                closeUnder(f);
                PosixFiles.deleteTree(f);
            }
            throw e; // a target outside them by its very name is no op the origin sends: refused, nothing changes
        }
        closeUnder(f);
        closeUnder(t);
        if (PosixFiles.lstat(f) == null) {
            if (PosixFiles.lstat(t) != null) {
                return; // already renamed (op replayed after a resync)
            }
            throw new NoSuchFileException(from);
        }
        Files.createDirectories(t.getParent());
        Files.move(f, t, StandardCopyOption.ATOMIC_MOVE); // rename(2): replaces an existing target
    }

    /** symlink(2): the link's contents verbatim; whatever the replica has at its path is replaced. */
    private void symlink(String path, String target) throws IOException {
        symlinkAt(root.resolve(path, false), target);
    }

    private void symlinkAt(Path p, String target) throws IOException {
        if (target.isEmpty() || target.indexOf('\0') >= 0) {
            throw new PathRefusedException("bad link contents for " + root.containerPath(p));
        }
        BasicFileAttributes a = PosixFiles.lstat(p);
        if (a != null) {
            if (a.isSymbolicLink() && Files.readSymbolicLink(p).toString().equals(target)) {
                return; // replayed after a resync
            }
            closeUnder(p);
            PosixFiles.deleteTree(p);
        }
        Files.createDirectories(p.getParent());
        if (Path.of(target).toString().equals(target)) {
            Files.createSymbolicLink(p, Path.of(target));
        } else {
            PosixFiles.rawSymlink(p, target);
        }
    }

    /** link(2): a new name for an existing file, both inside the replicated paths; never follows a link. */
    private void link(String from, String to) throws IOException {
        Path f = root.resolve(from, false);
        Path t = root.resolve(to, false);
        BasicFileAttributes a = PosixFiles.lstat(f);
        if (a == null || a.isDirectory()) {
            throw new NoSuchFileException(from, null, "no file to link");
        }
        BasicFileAttributes at = PosixFiles.lstat(t);
        if (at != null) {
            if (a.fileKey() != null && a.fileKey().equals(at.fileKey())) {
                return; // replayed after a resync
            }
            closeUnder(t);
            PosixFiles.deleteTree(t);
        }
        Files.createDirectories(t.getParent());
        Files.createLink(t, f);
    }

    private void unlink(String path) throws IOException {
        Path p = root.resolve(path, false);
        closeUnder(p);
        BasicFileAttributes a = PosixFiles.lstat(p);
        if (a != null && !a.isDirectory()) {
            Files.delete(p);
        }
    }

    private void mkdir(String path, int mode) throws IOException {
        Path p = root.resolve(path, false);
        BasicFileAttributes a = PosixFiles.lstat(p);
        if (a == null) {
            Files.createDirectories(p);
            if (mode != 0) {
                PosixFiles.setMode(p, mode);
            }
        } else if (!a.isDirectory()) {
            throw new IOException("mkdir over a non-directory: " + path);
        }
    }

    private void rmdir(String path) throws IOException {
        Path p = root.resolve(path, false);
        BasicFileAttributes a = PosixFiles.lstat(p);
        if (a != null && a.isDirectory()) {
            try {
                Files.delete(p);
            } catch (DirectoryNotEmptyException e) {
                throw new IOException("rmdir of a non-empty directory: " + path, e);
            }
        }
    }

    private void create(String path, int mode, boolean truncate) throws IOException {
        Path p = root.resolve(path, true);
        boolean existed = PosixFiles.lstat(p) != null;
        FileChannel ch = channel(p, true);
        if (truncate) {
            ch.truncate(0);
        }
        if (!existed && mode != 0) {
            PosixFiles.setMode(p, mode);
        }
    }

    private void sync(String path) throws IOException {
        // a barrier: everything written so far in this batch becomes durable, then the file and its directory
        for (FileChannel ch : open.values()) {
            ch.force(true);
        }
        Path p = root.resolve(path, true);
        if (PosixFiles.lstat(p) != null) {
            channel(p, false).force(true);
            PosixFiles.forceDir(p.getParent());
        }
    }

    /** Ends a batch: flushes nothing, closes the cached channels. */
    void endBatch() throws IOException {
        resolved.clear();
        IOException first = null;
        for (FileChannel ch : open.values()) {
            try {
                ch.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        open.clear();
        if (first != null) {
            throw first;
        }
    }

    @Override
    public void close() throws IOException {
        endBatch();
    }

    private FileChannel channel(Path p, boolean create) throws IOException {
        FileChannel ch = open.get(p);
        if (ch != null) {
            return ch;
        }
        if (create) {
            Files.createDirectories(p.getParent());
        }
        Set<OpenOption> opts = new HashSet<>();
        opts.add(StandardOpenOption.WRITE);
        if (create) {
            opts.add(StandardOpenOption.CREATE);
        }
        // the path was resolved link by link; O_NOFOLLOW refuses a link swapped in since
        opts.add(LinkOption.NOFOLLOW_LINKS);
        ch = FileChannel.open(p, opts);
        if (open.size() >= MAX_OPEN) {
            var it = open.entrySet().iterator();
            it.next().getValue().close();
            it.remove();
        }
        open.put(p, ch);
        return ch;
    }

    private void closeUnder(Path p) throws IOException {
        var it = open.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (e.getKey().startsWith(p)) {
                e.getValue().close();
                it.remove();
            }
        }
    }
}
