// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.proto.v1.ReplicatedOp;

/** Resync plans send only differing blocks, the whole tree to an empty replica, and remove extras. */
class ResyncPlannerTest {
    @TempDir
    Path tmp;

    static final int BS = 4096;

    @Test
    void wholeTreeForANewReplicaThenOnlyDifferingBlocks() throws Exception {
        Path o = Files.createDirectories(tmp.resolve("o/data/a/b"));
        Path r = Files.createDirectories(tmp.resolve("r"));
        byte[] big = new byte[10 * BS + 123];
        new Random(1).nextBytes(big);
        Files.write(tmp.resolve("o/data/a/big"), big);
        Files.writeString(tmp.resolve("o/data/a/b/small"), "hello");
        Files.write(tmp.resolve("o/data/empty"), new byte[0]);
        ConfinedRoot origin = new ConfinedRoot(tmp.resolve("o"), List.of("/data"));
        StateApplier replica = new StateApplier("k", "p", new ConfinedRoot(r, List.of("/data")));

        ResyncPlanner.Result first = sync(origin, replica, null);
        assertThat(first.bytes()).isEqualTo(big.length + 5);
        assertThat(first.files()).as("3 files and the 3 directories above them").isEqualTo(6);
        assertThat(r.resolve("data/a/big")).hasBinaryContent(big);
        assertThat(r.resolve("data/a/b/small")).hasContent("hello");
        assertThat(r.resolve("data/empty")).exists();

        ResyncPlanner.Result again = sync(origin, replica, null);
        assertThat(again.files()).isZero();
        assertThat(again.bytes()).isZero();

        big[5 * BS + 7] ^= 1; // one block differs
        byte[] longer = java.util.Arrays.copyOf(big, big.length + 2 * BS); // and it grew by two blocks
        Files.write(tmp.resolve("o/data/a/big"), longer);
        Files.writeString(r.resolve("data/extra"), "only on the replica");
        ResyncPlanner.Result delta = sync(origin, replica, null);
        assertThat(delta.blocks()).isEqualTo(4); // block 5, the old partial tail block 10, and 11, 12
        assertThat(delta.removed()).isEqualTo(1);
        assertThat(r.resolve("data/a/big")).hasBinaryContent(longer);
        assertThat(r.resolve("data/extra")).doesNotExist();

        Files.write(tmp.resolve("o/data/a/big"), java.util.Arrays.copyOf(longer, 3 * BS)); // shrunk: no data, only size
        ResyncPlanner.Result shrink = sync(origin, replica, Set.of("/data/a/big"));
        assertThat(shrink.bytes()).isZero();
        assertThat(shrink.files()).isEqualTo(1);
        assertThat(r.resolve("data/a/big")).hasBinaryContent(java.util.Arrays.copyOf(longer, 3 * BS));
    }

    /**
     * Links are part of the tree: created, corrected and removed like files, verbatim; a replica's directory or file
     * where the origin has a link (and the reverse) is replaced without writing through the link.
     */
    @Test
    void symbolicLinksAreResyncedVerbatimAndReplaceWhatStandsInTheirPlace() throws Exception {
        Path o = Files.createDirectories(tmp.resolve("o/data/v2"));
        Path r = Files.createDirectories(tmp.resolve("r/data"));
        Path outside = Files.createDirectories(tmp.resolve("r/outside"));
        Files.writeString(o.resolve("cfg"), "origin cfg");
        Files.createSymbolicLink(tmp.resolve("o/data/current"), Path.of("v2"));
        Files.createSymbolicLink(tmp.resolve("o/data/abs"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(tmp.resolve("o/data/dangling"), Path.of("../nowhere"));
        // a trailing slash, which a java.nio Path would normalize away
        assertThat(new ProcessBuilder("ln", "-s", "../../", tmp.resolve("o/data/up").toString()).start().waitFor())
                .isZero();
        Files.writeString(tmp.resolve("o/data/was-link"), "a file on the origin");
        Files.createDirectories(tmp.resolve("o/data/was-link-dir"));
        Files.writeString(tmp.resolve("o/data/was-link-dir/f"), "f");
        // the replica: a directory with a file where the origin has a link, a link where it has a file, a stale link
        Files.createDirectories(r.resolve("current"));
        Files.writeString(r.resolve("current/stale"), "stale");
        Files.createSymbolicLink(r.resolve("was-link"), Path.of("../outside/target"));
        Files.createSymbolicLink(r.resolve("was-link-dir"), Path.of("../outside"));
        Files.createSymbolicLink(r.resolve("abs"), Path.of("/etc/shadow"));
        Files.createSymbolicLink(r.resolve("extra"), Path.of("v2"));
        ConfinedRoot origin = new ConfinedRoot(tmp.resolve("o"), List.of("/data"));
        StateApplier replica = new StateApplier("k", "p", new ConfinedRoot(tmp.resolve("r"), List.of("/data")));

        ResyncPlanner.Result first = sync(origin, replica, null);
        assertThat(Files.readSymbolicLink(r.resolve("current"))).hasToString("v2");
        assertThat(Files.readSymbolicLink(r.resolve("abs"))).hasToString("/etc/passwd");
        assertThat(Files.readSymbolicLink(r.resolve("dangling"))).hasToString("../nowhere");
        assertThat(Files.readSymbolicLink(r.resolve("up"))).hasToString("../../");
        assertThat(r.resolve("was-link")).isRegularFile().hasContent("a file on the origin");
        assertThat(r.resolve("was-link-dir")).isDirectory();
        assertThat(r.resolve("was-link-dir/f")).hasContent("f");
        assertThat(r.resolve("extra")).doesNotExist();
        assertThat(r.resolve("v2/cfg")).hasContent("origin cfg");
        try (var list = Files.list(outside)) {
            assertThat(list).as("nothing written through the replica's links").isEmpty();
        }
        assertThat(first.removed()).isEqualTo(2); // current/stale and extra
        assertThat(sync(origin, replica, null).files()).isZero();

        // scoped (a partial resync or a verification) sees links too
        Files.delete(tmp.resolve("o/data/current"));
        Files.createSymbolicLink(tmp.resolve("o/data/current"), Path.of("v3"));
        ResyncPlanner.Result scoped = sync(origin, replica, Set.of("/data/current"));
        assertThat(scoped.files()).isEqualTo(1);
        assertThat(Files.readSymbolicLink(r.resolve("current"))).hasToString("v3");
    }

    static ResyncPlanner.Result sync(ConfinedRoot origin, StateApplier replica, Set<String> scope) throws Exception {
        List<ReplicatedOp> ops = new ArrayList<>();
        var sums = replica.checksums(scope == null ? List.of() : List.copyOf(scope), BS);
        ResyncPlanner.Result res = ResyncPlanner.plan(origin, sums, scope, BS, ops::add);
        Push.resync(1, 0).addAllOps(ops).end()
                .to(replica);
        assertThat(replica.failedOps()).isZero();
        return res;
    }
}
