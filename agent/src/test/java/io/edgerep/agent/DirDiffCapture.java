// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import com.google.protobuf.ByteString;

import io.edgerep.proto.v1.AttrsChanged;
import io.edgerep.proto.v1.DirCreate;
import io.edgerep.proto.v1.DirRemove;
import io.edgerep.proto.v1.FileCreate;
import io.edgerep.proto.v1.FileTruncate;
import io.edgerep.proto.v1.FileUnlink;
import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.StateEvent;
import io.edgerep.proto.v1.StateEventBatch;

/**
 * A stand-in for the loader's syscall capture in tests that run without root: polls an origin directory and turns
 * what changed since the last poll into the loader's StateEvents (mkdir, create, block-granular writes, truncate,
 * unlink, rmdir), with gap-free loader sequence numbers. Renames show as unlink + create of the new content. A path
 * whose mode, owner or times alone changed gives AttrsChanged, as a chown, chmod, utimensat or a write of the same
 * bytes would from the kernel.
 */
public final class DirDiffCapture {
    static final int CHUNK = 4096;

    private final Path root;
    private final String prefix;
    private final int replicationId;
    private final Consumer<StateEventBatch> sink;
    private final Map<String, byte[]> files = new HashMap<>();
    private final TreeMap<String, Boolean> dirs = new TreeMap<>();
    /** Mode, owner and times of every file and directory at the last poll. */
    private final Map<String, String> meta = new HashMap<>();
    private long seq;

    /** @param prefix container-absolute replicated path, e.g. "/data", under root */
    public DirDiffCapture(Path root, String prefix, int replicationId, Consumer<StateEventBatch> sink) {
        this.root = root;
        this.prefix = prefix;
        this.replicationId = replicationId;
        this.sink = sink;
    }

    public synchronized long seq() {
        return seq;
    }

    /** Captures one round of changes; returns the number of events emitted. */
    public synchronized int poll() {
        List<StateEvent> out = new ArrayList<>();
        Map<String, byte[]> nowFiles = new HashMap<>();
        TreeMap<String, Boolean> nowDirs = new TreeMap<>();
        Map<String, String> nowMeta = new HashMap<>();
        Path start = root.resolve(prefix.substring(1));
        try (var s = Files.walk(start)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String cp = "/" + root.relativize(p);
                try {
                    if (Files.isSymbolicLink(p)) {
                        continue;
                    }
                    nowMeta.put(cp, String.valueOf(Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime")));
                    if (Files.isDirectory(p)) {
                        nowDirs.put(cp, true);
                    } else if (Files.isRegularFile(p)) {
                        nowFiles.put(cp, Files.readAllBytes(p));
                    }
                } catch (NoSuchFileException e) {
                    // vanished while walking: seen next round
                }
            }
        } catch (NoSuchFileException e) {
            // prefix not there yet
        } catch (IOException | UncheckedIOException e) {
            return 0; // a file vanished mid-walk; try again next round
        }
        for (String d : nowDirs.keySet()) {
            if (!dirs.containsKey(d)) {
                out.add(ev().setMkdir(DirCreate.newBuilder().setPath(d).setMode(0755)).build());
            }
        }
        for (Map.Entry<String, byte[]> e : new TreeMap<>(nowFiles).entrySet()) {
            byte[] old = files.get(e.getKey());
            byte[] now = e.getValue();
            if (old == null) {
                out.add(ev().setCreate(FileCreate.newBuilder().setPath(e.getKey()).setMode(0644).setTruncate(true))
                        .build());
                old = new byte[0];
            }
            for (int off = 0; off < now.length; off += CHUNK) {
                int end = Math.min(now.length, off + CHUNK);
                if (end > old.length || !Arrays.equals(now, off, end, old, off, end)) {
                    out.add(ev().setWrite(FileWrite.newBuilder().setPath(e.getKey()).setOffset(off)
                            .setData(ByteString.copyFrom(now, off, end - off))).build());
                }
            }
            if (now.length < old.length) {
                out.add(ev().setTruncate(FileTruncate.newBuilder().setPath(e.getKey()).setLength(now.length)).build());
            }
        }
        for (String f : files.keySet()) {
            if (!nowFiles.containsKey(f)) {
                out.add(ev().setUnlink(FileUnlink.newBuilder().setPath(f)).build());
            }
        }
        List<String> gone = new ArrayList<>();
        for (String d : dirs.keySet()) {
            if (!nowDirs.containsKey(d)) {
                gone.add(d);
            }
        }
        gone.sort(Comparator.reverseOrder());
        for (String d : gone) {
            out.add(ev().setRmdir(DirRemove.newBuilder().setPath(d)).build());
        }
        java.util.Set<String> named = new java.util.HashSet<>();
        out.forEach(ev -> named.addAll(io.edgerep.agent.state.StateEvents.pathsOf(ev)));
        for (Map.Entry<String, String> e : new TreeMap<>(nowMeta).entrySet()) {
            if (!named.contains(e.getKey()) && !e.getValue().equals(meta.get(e.getKey()))) {
                out.add(ev().setAttrsChanged(AttrsChanged.newBuilder().setPath(e.getKey()).setNofollow(true)).build());
            }
        }
        meta.clear();
        meta.putAll(nowMeta);
        files.clear();
        files.putAll(nowFiles);
        dirs.clear();
        dirs.putAll(nowDirs);
        for (int i = 0; i < out.size(); i += 512) {
            sink.accept(
                    StateEventBatch.newBuilder().addAllEvents(out.subList(i, Math.min(out.size(), i + 512))).build());
        }
        return out.size();
    }

    private StateEvent.Builder ev() {
        return StateEvent.newBuilder().setReplicationId(replicationId).setSeq(++seq).setTimestampNs(System.nanoTime());
    }
}
