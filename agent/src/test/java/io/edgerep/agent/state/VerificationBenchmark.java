// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the periodic whole-tree verification costs: CPU of one comparison of a tree of {@link #FILES} files when
 * nothing changed (origin and replica side in one process), and the time from a change capture cannot see to its
 * repair on the replica. Not part of the test suite; run by bench/agent/verify.
 */
class VerificationBenchmark {
    static final int FILES = Integer.getInteger("bench.files", 10_000);
    static final int ROUNDS = 20;
    /** Comparisons run first so that compiling the code does not count. */
    static final int WARM_UP = 10;
    static final long INTERVAL_MS = 1_000;

    @TempDir
    Path tmp;

    @Test
    void run() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("o/data"));
        for (int d = 0; d < FILES / 100; d++) {
            Path dir = Files.createDirectories(data.resolve("d" + d));
            for (int f = 0; f < 100; f++) {
                Files.writeString(dir.resolve("f" + f), "file " + d + "/" + f + "\n".repeat(f % 7));
            }
        }
        try (RecordingReplica replica = new RecordingReplica(new StateApplier("b/v", "r",
                new ConfinedRoot(Files.createDirectories(tmp.resolve("r")), List.of("/data"))));
                OpLog log = new OpLog(tmp.resolve("spill"), 16 << 20, 16 << 20)) {
            OriginReplication origin = new OriginReplication("b/v", new ConfinedRoot(tmp.resolve("o"),
                    List.of("/data")), log);
            ReplicaLink link = new ReplicaLink("b/v", "r", log, origin.origin(), replica.channel(),
                    ReplicaLink.Options.defaults().verifyingEvery(0));
            origin.addLink(link);
            link.start();
            origin.captureOn();
            await().atMost(Duration.ofMinutes(5)).until(link::inSync);
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            link.verifyEvery(1);
            long warm = link.counters().treeComparisons();
            await().atMost(Duration.ofMinutes(5)).until(() -> link.counters().treeComparisons() >= warm + WARM_UP);
            long cpu0 = os.getProcessCpuTime();
            long wall0 = System.nanoTime();
            long runs = link.counters().treeComparisons();
            await().atMost(Duration.ofMinutes(5)).until(() -> link.counters().treeComparisons() >= runs + ROUNDS);
            link.verifyEvery(INTERVAL_MS);
            long cpu = os.getProcessCpuTime() - cpu0;
            long wall = System.nanoTime() - wall0;
            assertThat(link.counters().driftedPaths()).isZero();

            Path dropped = data.resolve("d0/dropped");
            Files.writeString(dropped, "from another container\n");
            Files.setLastModifiedTime(dropped, FileTime.from(Instant.now().minusSeconds(60)));
            Files.setLastModifiedTime(dropped.getParent(), FileTime.from(Instant.now().minusSeconds(60)));
            long changed = System.nanoTime();
            Path onReplica = tmp.resolve("r/data/d0/dropped");
            await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(10))
                    .until(() -> Files.exists(onReplica) && Files.size(onReplica) == Files.size(dropped));
            long repaired = System.nanoTime() - changed;
            String result = String.format("verification of %d files, nothing changed: %.0f ms CPU and %.0f ms wall per "
                    + "comparison (%d rounds, origin and replica sides together); a change capture cannot see "
                    + "repaired %.0f ms after it, with an interval of %d ms%n", FILES, cpu / 1e6 / ROUNDS,
                    wall / 1e6 / ROUNDS, ROUNDS, repaired / 1e6, INTERVAL_MS);
            System.out.print(result);
            String out = System.getProperty("bench.out");
            if (out != null) {
                Files.writeString(Path.of(out), String.format("{\"files\": %d, \"cpu_ms_per_comparison\": %.1f, "
                        + "\"wall_ms_per_comparison\": %.1f, \"repair_ms\": %.1f, \"interval_ms\": %d, \"kernel\": "
                        + "\"%s\", \"loadavg\": \"%s\"}%n", FILES, cpu / 1e6 / ROUNDS, wall / 1e6 / ROUNDS,
                        repaired / 1e6, INTERVAL_MS, System.getProperty("os.version"),
                        Files.readString(Path.of("/proc/loadavg")).trim()));
            }
            origin.close();
        }
    }
}
