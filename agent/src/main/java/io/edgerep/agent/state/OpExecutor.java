package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

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
            case CHMOD -> chmod(follow(ev.getChmod().getPath()), ev.getChmod().getMode());
            case CREATE -> create(ev.getCreate().getPath(), ev.getCreate().getMode(), ev.getCreate().getTruncate());
            case SYNC -> sync(ev.getSync().getPath());
            case SYMLINK -> symlink(ev.getSymlink().getPath(), ev.getSymlink().getTarget());
            case LINK -> link(ev.getLink().getFrom(), ev.getLink().getTo());
            case DIRTY -> throw new IOException("dirty range reached a replica unresolved: " + ev.getDirty().getPath());
            case OP_NOT_SET -> {
                // a placeholder: the op's effect came with the resync content before it
            }
            default -> throw new IOException("unknown op " + ev.getOpCase());
        }
    }

    void blocks(FileBlocks b) throws IOException {
        FileChannel ch = channel(follow(b.getPath()), true);
        for (Map.Entry<Long, com.google.protobuf.ByteString> e : b.getBlocksMap().entrySet()) {
            writeAt(ch, e.getValue().asReadOnlyByteBuffer(), e.getKey() * (long) b.getBlockSize());
        }
    }

    void meta(FileMeta m) throws IOException {
        resolved.clear();
        if (m.getAbsent()) {
            Path p = root.resolve(m.getPath(), false);
            closeUnder(p);
            deleteTree(p);
            return;
        }
        Path p = root.resolve(m.getPath(), false); // the origin has no link here, or says which
        BasicFileAttributes a = lstat(p);
        if (!m.getLinkTarget().isEmpty()) {
            symlinkAt(p, m.getLinkTarget());
            return;
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
                deleteTree(p);
            }
            FileChannel ch = channel(p, true);
            setLength(ch, m.getSize());
        }
        if (m.getMode() != 0) {
            chmod(p, m.getMode());
        }
    }

    private void write(String path, long offset, ByteBuffer data, boolean append) throws IOException {
        FileChannel ch = channel(follow(path), true);
        writeAt(ch, data, append ? ch.size() : offset);
    }

    private void truncate(String path, long length) throws IOException {
        setLength(channel(follow(path), true), length);
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
                deleteTree(f);
            }
            throw e; // a target outside them by its very name is no op the origin sends: refused, nothing changes
        }
        closeUnder(f);
        closeUnder(t);
        if (lstat(f) == null) {
            if (lstat(t) != null) {
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
        BasicFileAttributes a = lstat(p);
        if (a != null) {
            if (a.isSymbolicLink() && Files.readSymbolicLink(p).toString().equals(target)) {
                return; // replayed after a resync
            }
            closeUnder(p);
            deleteTree(p);
        }
        Files.createDirectories(p.getParent());
        if (Path.of(target).toString().equals(target)) {
            Files.createSymbolicLink(p, Path.of(target));
        } else {
            rawSymlink(p, target);
        }
    }

    /**
     * A link whose contents java.nio would normalize (a trailing slash, "//"): made by ln(1), since a Path cannot hold
     * those bytes, and a link to "dir/" is not one to "dir" (only a directory resolves through it).
     */
    private static void rawSymlink(Path p, String target) throws IOException {
        Process ln = new ProcessBuilder("ln", "-sT", "--", target, p.toString()).redirectErrorStream(true).start();
        try {
            String out = new String(ln.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (ln.waitFor() != 0) {
                throw new IOException("ln -s " + target + " " + p + ": " + out.trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("ln -s interrupted");
        }
    }

    /** link(2): a new name for an existing file, both inside the replicated paths; never follows a link. */
    private void link(String from, String to) throws IOException {
        Path f = root.resolve(from, false);
        Path t = root.resolve(to, false);
        BasicFileAttributes a = lstat(f);
        if (a == null || a.isDirectory()) {
            throw new NoSuchFileException(from, null, "no file to link");
        }
        BasicFileAttributes at = lstat(t);
        if (at != null) {
            if (a.fileKey() != null && a.fileKey().equals(at.fileKey())) {
                return; // replayed after a resync
            }
            closeUnder(t);
            deleteTree(t);
        }
        Files.createDirectories(t.getParent());
        Files.createLink(t, f);
    }

    private void unlink(String path) throws IOException {
        Path p = root.resolve(path, false);
        closeUnder(p);
        BasicFileAttributes a = lstat(p);
        if (a != null && !a.isDirectory()) {
            Files.delete(p);
        }
    }

    private void mkdir(String path, int mode) throws IOException {
        Path p = root.resolve(path, false);
        BasicFileAttributes a = lstat(p);
        if (a == null) {
            Files.createDirectories(p);
            if (mode != 0) {
                chmod(p, mode);
            }
        } else if (!a.isDirectory()) {
            throw new IOException("mkdir over a non-directory: " + path);
        }
    }

    private void rmdir(String path) throws IOException {
        Path p = root.resolve(path, false);
        BasicFileAttributes a = lstat(p);
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
        boolean existed = lstat(p) != null;
        FileChannel ch = channel(p, true);
        if (truncate) {
            ch.truncate(0);
        }
        if (!existed && mode != 0) {
            chmod(p, mode);
        }
    }

    private void sync(String path) throws IOException {
        // a barrier: everything written so far in this batch becomes durable, then the file and its directory
        for (FileChannel ch : open.values()) {
            ch.force(true);
        }
        Path p = root.resolve(path, true);
        if (lstat(p) != null) {
            channel(p, false).force(true);
            forceDir(p.getParent());
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

    static void writeAt(FileChannel ch, ByteBuffer data, long pos) throws IOException {
        while (data.hasRemaining()) {
            pos += ch.write(data, pos);
        }
    }

    static void setLength(FileChannel ch, long length) throws IOException {
        long size = ch.size();
        if (length < size) {
            ch.truncate(length);
        } else if (length > size) {
            writeAt(ch, ByteBuffer.allocate(1), length - 1);
        }
    }

    static void chmod(Path p, int mode) throws IOException {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << i)) != 0) {
                perms.add(order[i]);
            }
        }
        Files.setPosixFilePermissions(p, perms);
    }

    static int mode(Path p) throws IOException {
        Object m = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return ((Integer) m) & 07777;
    }

    static void forceDir(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Deletes a file, link or directory tree without following links. */
    static void deleteTree(Path p) throws IOException {
        BasicFileAttributes a = lstat(p);
        if (a == null) {
            return;
        }
        if (!a.isDirectory()) {
            Files.delete(p);
            return;
        }
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
