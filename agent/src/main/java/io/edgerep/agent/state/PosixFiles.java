// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.edgerep.proto.v1.FileAttrs;

/** File operations of POSIX that java.nio spells at length: exact lengths, modes, owners, times, links, trees. */
final class PosixFiles {
    private PosixFiles() {
    }

    /** The attributes of path as lstat(2) reports them (a link's own, never its target's); null when absent. */
    static FileAttrs.Builder attrsOf(Path p, String containerPath) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime,lastAccessTime", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
        return FileAttrs.newBuilder().setPath(containerPath).setMode(((Integer) a.get("mode")) & 07777)
                .setUid((Integer) a.get("uid")).setGid((Integer) a.get("gid"))
                .setMtimeNs(((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS))
                .setAtimeNs(((FileTime) a.get("lastAccessTime")).to(TimeUnit.NANOSECONDS));
    }

    /**
     * Gives path (never what it links to) the owner, mode and times in attrs, in that order: a change of owner clears
     * the set-id bits, and both change the times.
     */
    static void setAttrs(Path p, FileAttrs attrs, boolean isLink) throws IOException {
        Map<String, Object> have = Files.readAttributes(p, "unix:uid,gid", LinkOption.NOFOLLOW_LINKS);
        if ((Integer) have.get("uid") != attrs.getUid()) {
            Files.setAttribute(p, "unix:uid", attrs.getUid(), LinkOption.NOFOLLOW_LINKS);
        }
        if ((Integer) have.get("gid") != attrs.getGid()) {
            Files.setAttribute(p, "unix:gid", attrs.getGid(), LinkOption.NOFOLLOW_LINKS);
        }
        if (!isLink) {
            setMode(p, attrs.getMode());
        }
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(
                FileTime.from(attrs.getMtimeNs(), TimeUnit.NANOSECONDS),
                FileTime.from(attrs.getAtimeNs(), TimeUnit.NANOSECONDS), null);
    }

    /** chmod(2) with every bit of 07777, set-id and sticky included. */
    static void setMode(Path p, int mode) throws IOException {
        Files.setAttribute(p, "unix:mode", mode & 07777);
    }

    /**
     * A link whose contents java.nio would normalize (a trailing slash, "//"): made by ln(1), since a Path cannot hold
     * those bytes, and a link to "dir/" is not one to "dir" (only a directory resolves through it).
     */
    static void rawSymlink(Path p, String target) throws IOException {
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
