package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
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
    static long awaitIdentical(Path a, Path b, long deadline) throws Exception {
        Map<String, String> ta = tree(a);
        Map<String, String> tb = Map.of();
        while (System.currentTimeMillis() < deadline) {
            try {
                tb = tree(b);
            } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
                Thread.sleep(20); // the replica is changing under the walk
                continue;
            }
            if (ta.equals(tb)) {
                return System.currentTimeMillis();
            }
            Thread.sleep(20);
        }
        assertThat(tb).as("replica tree").isEqualTo(ta);
        return System.currentTimeMillis();
    }

    static Map<String, String> tree(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        if (!Files.exists(root)) {
            return out;
        }
        try (var s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String rel = root.relativize(p).toString();
                String mode = Integer.toOctalString(PosixFiles.mode(p));
                if (Files.isDirectory(p)) {
                    out.put(rel + "/", "dir " + mode);
                } else if (Files.isRegularFile(p)) {
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    out.put(rel, mode + " " + HexFormat.of().formatHex(md.digest(Files.readAllBytes(p))));
                }
            }
        }
        return out;
    }
}
