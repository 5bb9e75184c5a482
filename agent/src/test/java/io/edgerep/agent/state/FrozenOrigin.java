// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Holding the origin application still to look at it: its cgroup frozen, capture drained up to a marker write, what
 * it maps shared and writable. For the tests that compare a replica with its origin at a known sequence.
 */
final class FrozenOrigin {
    private final RealLoaderFixture f;

    FrozenOrigin(RealLoaderFixture f) {
        this.f = f;
    }

    /**
     * Freezes every process of the origin application (cgroup v2 freezer) and returns once the kernel says they are
     * frozen: each syscall they were in has returned, so its capture record is written.
     */
    void freeze() throws Exception {
        setFrozen(true);
    }

    /** Lets the frozen application go on. */
    void thaw() throws Exception {
        setFrozen(false);
    }

    private void setFrozen(boolean frozen) throws Exception {
        Files.writeString(f.cg.resolve("cgroup.freeze"), frozen ? "1" : "0");
        String want = "frozen " + (frozen ? 1 : 0);
        long end = System.currentTimeMillis() + 30_000;
        while (!Files.readAllLines(f.cg.resolve("cgroup.events")).contains(want)) {
            assertThat(System.currentTimeMillis()).as("cgroup " + want).isLessThan(end);
            Thread.sleep(5);
        }
    }

    /**
     * Writes a marker file from the marker cgroup and waits until the origin's log holds its op: everything captured
     * before it (the ring buffer is read in order) is in the log by then. Returns the marker op's seq.
     */
    long drainCapture() throws Exception {
        // an absolute path: the process joins the traced cgroup from outside and is gone before the loader could
        // read its working directory
        String path = f.originData.resolve(".drain-" + UUID.randomUUID().toString().substring(0, 8)).toString();
        Process p = new ProcessBuilder("bash", "-c", "echo $$ > " + f.markerCg.resolve("cgroup.procs")
                + " && echo drained > " + path).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("marker written").isTrue();
        long from = 1;
        long end = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < end) {
            long last = f.origin.log().lastSeq();
            for (io.edgerep.proto.v1.ReplicatedOp op : opsBetween(from, last)) {
                if (op.hasEvent() && StateEvents.pathsOf(op.getEvent()).contains(path)) {
                    return op.getSeq();
                }
            }
            from = Math.max(from, last + 1);
            f.origin.log().awaitAfter(last, 20);
        }
        throw new AssertionError("the marker write " + path + " never reached the origin's log");
    }

    /** The ops the origin's log holds with from <= seq <= to. */
    List<io.edgerep.proto.v1.ReplicatedOp> opsBetween(long from, long to) throws Exception {
        List<io.edgerep.proto.v1.ReplicatedOp> out = new ArrayList<>();
        long seq = Math.max(from, f.origin.log().firstHeld());
        while (seq <= to) {
            List<io.edgerep.proto.v1.ReplicatedOp> ops = f.origin.log().read(seq, 512, 1 << 20);
            if (ops.isEmpty()) {
                break;
            }
            for (io.edgerep.proto.v1.ReplicatedOp op : ops) {
                if (op.getSeq() <= to) {
                    out.add(op);
                }
            }
            seq = ops.get(ops.size() - 1).getSeq() + 1;
        }
        return out;
    }

    /** Paths under the origin's directory (relative to it) that the application maps shared and writable. */
    java.util.Set<String> sharedWritableMappings() throws IOException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (String pid : Files.readAllLines(f.cg.resolve("cgroup.procs"))) {
            List<String> maps;
            try {
                maps = Files.readAllLines(Path.of("/proc", pid.trim(), "maps"));
            } catch (IOException e) {
                continue; // exited
            }
            for (String line : maps) {
                String[] col = line.trim().split("\\s+", 6);
                if (col.length == 6 && col[1].startsWith("rw") && col[1].charAt(3) == 's'
                        && col[5].startsWith(f.prefix + "/")) {
                    out.add(col[5].substring(f.prefix.length() + 1));
                }
            }
        }
        return out;
    }
}
