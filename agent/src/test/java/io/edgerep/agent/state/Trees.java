// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Trees and programs for the replication tests: compare directories, run shell, the real-programs workload. */
final class Trees {
    /**
     * How long a test waits for a condition the system guarantees: long enough for a loaded machine, never a measure
     * of speed (targets are asserted where a test states one).
     */
    static final long DEADLINE_MS = 60_000;

    /**
     * The workload with its first loop held after 20 rounds until the file gate exists (a path outside the replicated
     * directory), so that a test can act while it is surely mid-way.
     */
    static String workload(Path gate) {
        return WORKLOAD.replace("GATE", gate.toString());
    }

    /** Real programs writing the origin's directory; {@link #workload} gives it a gate ("GATE" here). */
    private static final String WORKLOAD = """
            set -e
            sqlite3 journal.db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
            sqlite3 wal.db 'PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' >/dev/null
            git init -q repo
            for i in $(seq 1 40); do
              if [ $i = 21 ]; then while [ ! -e GATE ]; do sleep 0.01; done; fi
              sqlite3 journal.db "INSERT INTO t(v) SELECT hex(randomblob(300)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20) SELECT x FROM c); DELETE FROM t WHERE id % 7 = $i % 7 AND id < $i * 5;"
              printf 'config %s\\n' $i > cfg.tmp && mv cfg.tmp cfg
              for j in $(seq 1 10); do echo "line $(( (i-1)*10 + j ))" >> app.log; done
              if [ $((i % 8)) = 0 ]; then
                (cd repo && echo "rev $i" > "f$i" && seq 1 $((i*50)) > big && git add -A && git -c user.name=t -c user.email=t@e commit -qm "c$i")
              fi
              sleep 0.03
            done &
            ( echo '.timeout 5000'; for i in $(seq 1 120); do
                echo "INSERT INTO t(v) VALUES (hex(randomblob(1000))); UPDATE t SET v = hex(randomblob(500)) WHERE id = $i / 2 + 1;"
                sleep 0.025
              done ) | sqlite3 wal.db
            wait
            (cd repo && git -c user.name=t -c user.email=t@e commit -q --allow-empty -m final && git gc -q)
            """;

    static String sh(Path dir, String cmd) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }

    /** Waits until both trees hold the same files, directories, modes and bytes; returns when (or fails at the deadline). */
    /**
     * Waits until both trees are identical in everything {@link #tree} compares; returns when (or fails at the
     * deadline, naming every path that differs and how).
     */
    static long awaitIdentical(Path a, Path b, long deadline) throws Exception {
        Map<String, String> ta = Map.of();
        Map<String, String> tb = Map.of();
        while (System.currentTimeMillis() < deadline) {
            try {
                ta = tree(a);
                tb = tree(b);
            } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
                Thread.sleep(20); // changing under the walk
                continue;
            }
            if (ta.equals(tb)) {
                return System.currentTimeMillis();
            }
            Thread.sleep(20);
        }
        assertThat(differences(ta, tb)).as("replica %s against origin %s", b, a).isEmpty();
        return System.currentTimeMillis();
    }

    /** Each path whose entries differ, with both entries (absent: "-"). */
    static List<String> differences(Map<String, String> origin, Map<String, String> replica) {
        java.util.TreeSet<String> keys = new java.util.TreeSet<>(origin.keySet());
        keys.addAll(replica.keySet());
        List<String> out = new java.util.ArrayList<>();
        for (String k : keys) {
            String o = origin.getOrDefault(k, "-");
            String r = replica.getOrDefault(k, "-");
            if (!o.equals(r)) {
                out.add(k + ": origin " + o + " | replica " + r);
            }
        }
        return out;
    }

    /**
     * Every path under root (root itself as "."), never following a link, with all a program can observe of it:
     * type, mode, owner, group, modification time (ns; a link's in µs, as lutimes keeps it), size and content of a
     * file, a link's contents, and the first name of a file with several.
     */
    static Map<String, String> tree(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        if (PosixFiles.lstat(root) == null) {
            return out;
        }
        Map<Object, String> firstName = new java.util.HashMap<>();
        List<Path> all;
        try (var s = Files.walk(root)) {
            all = s.sorted().toList();
        }
        for (Path p : all) {
            String rel = p.equals(root) ? "." : root.relativize(p).toString();
            Map<String, Object> a = Files.readAttributes(p, "unix:*", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            long mtime = ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime"))
                    .to(java.util.concurrent.TimeUnit.NANOSECONDS);
            String owner = " uid=" + a.get("uid") + " gid=" + a.get("gid");
            if ((Boolean) a.get("isSymbolicLink")) {
                out.put(rel, "link ->" + Files.readSymbolicLink(p) + owner + " mtime=" + mtime / 1000 + "us");
                continue;
            }
            String mode = " mode=" + Integer.toOctalString(((Integer) a.get("mode")) & 07777);
            if ((Boolean) a.get("isDirectory")) {
                out.put(rel, "dir" + mode + owner + " mtime=" + mtime);
            } else if ((Boolean) a.get("isRegularFile")) {
                String name = firstName.putIfAbsent(List.of(a.get("dev"), a.get("ino")), rel);
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                out.put(rel, "file" + mode + owner + " mtime=" + mtime + " size=" + a.get("size") + " sha256="
                        + HexFormat.of().formatHex(md.digest(Files.readAllBytes(p)))
                        + (name == null ? "" : " hardlink-of=" + name));
            } else {
                out.put(rel, "other" + mode + owner);
            }
        }
        return out;
    }
}
