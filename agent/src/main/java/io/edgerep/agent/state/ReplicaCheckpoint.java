// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

/**
 * A replica's position saved beside the agent's state, so that a restarted replica agent resumes where it was instead
 * of resyncing the whole tree: the origin's epoch, the applied sequence number, whether the origin had confirmed the
 * content, and a fingerprint of the replica tree (every path's type, size, mode and modification time, no content
 * read) taken when it was saved. It is saved only while the replica is idle, and deleted before the first batch that
 * changes the tree afterwards, so that a checkpoint on disk always describes the tree exactly; it is used only when the
 * tree still has the same fingerprint and the node has not rebooted since (written data may not have reached the disk).
 */
final class ReplicaCheckpoint {
    private static final Logger LOG = Logger.getLogger(ReplicaCheckpoint.class);
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    /** What a checkpoint holds. */
    record Position(long epoch, long appliedSeq, boolean confirmed) {
    }

    private final Path file;

    ReplicaCheckpoint(Path file) {
        this.file = file;
    }

    Path file() {
        return file;
    }

    /** The saved position, if there is one and the tree under root is as it was saved. */
    Optional<Position> load(ConfinedRoot root) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            LOG.warnf("replica checkpoint %s unreadable (%s): resync", file, e.getMessage());
            return Optional.empty();
        }
        try {
            if (!bootId().equals(p.getProperty("boot"))) {
                LOG.infof("replica checkpoint %s: the node rebooted since: resync", file);
                return Optional.empty();
            }
            if (!fingerprint(root).equals(p.getProperty("tree"))) {
                LOG.infof("replica checkpoint %s: the replica's files changed since: resync", file);
                return Optional.empty();
            }
            return Optional.of(new Position(Long.parseLong(p.getProperty("epoch")),
                    Long.parseLong(p.getProperty("applied")), Boolean.parseBoolean(p.getProperty("confirmed"))));
        } catch (IOException | RuntimeException e) {
            LOG.warnf("replica checkpoint %s unusable (%s): resync", file, e.toString());
            return Optional.empty();
        }
    }

    /** Saves the position with the tree's fingerprint now (durably: written aside, synced, renamed over). */
    void save(Position pos, ConfinedRoot root) throws IOException {
        Properties p = new Properties();
        p.setProperty("epoch", Long.toString(pos.epoch()));
        p.setProperty("applied", Long.toString(pos.appliedSeq()));
        p.setProperty("confirmed", Boolean.toString(pos.confirmed()));
        p.setProperty("boot", bootId());
        p.setProperty("tree", fingerprint(root));
        StringWriter w = new StringWriter();
        p.store(w, "edgerep replica position");
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, w.toString(), StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        PosixFiles.forceDir(file.getParent());
    }

    void delete() throws IOException {
        Files.deleteIfExists(file);
    }

    /** SHA-256 over every replicated path's type (a link's with its contents), size, mode and modification time. */
    static String fingerprint(ConfinedRoot root) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        TreeMap<String, String> lines = new TreeMap<>(); // walk order is the directories' order: sort
        for (Path p : root.walk()) {
            BasicFileAttributes a = PosixFiles.lstat(p);
            if (a == null) {
                continue;
            }
            FileTime m = a.lastModifiedTime();
            String type = a.isDirectory() ? "d" : a.isSymbolicLink() ? "l" + Files.readSymbolicLink(p) : "f";
            lines.put(root.containerPath(p), type + '\0' + (a.isDirectory() ? 0 : a.size()) + '\0'
                    + PosixFiles.mode(p) + '\0' + m.to(TimeUnit.NANOSECONDS));
        }
        for (var e : lines.entrySet()) {
            md.update((e.getKey() + '\0' + e.getValue() + '\n').getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String bootId() throws IOException {
        return Files.exists(BOOT_ID) ? Files.readString(BOOT_ID).trim() : "";
    }
}
