// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.proto.v1.FileLink;
import io.edgerep.proto.v1.FileRename;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;

/** What the origin makes of the loader's events before it ships them. */
class OriginReplicationTest {
    @TempDir
    Path tmp;

    /**
     * The loader checks paths lexically: a rename or link from a path that leaves the replicated paths through a link
     * brings content in from outside, which the replicas cannot have. It ships as the file's whole content and exact
     * length instead, so a longer file the replica held under that name does not keep its tail.
     */
    @Test
    void pathsUnderARenamedDirectoryAreNamedAsAfterTheRename() {
        var got = OriginReplication.renamed(new java.util.LinkedHashSet<>(java.util.List.of("/d/dir", "/d/dir/f",
                "/d/dir/sub/g", "/d/dirt", "/d")), "/d/dir", "/d/dir-old");
        org.assertj.core.api.Assertions.assertThat(got).containsExactly("/d/dir-old", "/d/dir-old/f",
                "/d/dir-old/sub/g", "/d/dirt", "/d");
    }

    @Test
    void aRenameOrLinkFromOutsideThroughALinkShipsTheWholeFile() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("o/data"));
        Files.createDirectories(tmp.resolve("o/outside"));
        Files.createSymbolicLink(data.resolve("side"), Path.of("../outside"));
        Files.writeString(data.resolve("came-in"), "came in"); // after rename(/data/side/x, /data/came-in)
        Files.writeString(data.resolve("linked-in"), "linked in");
        Files.writeString(data.resolve("b"), "b");
        try (OpLog log = new OpLog(tmp.resolve("spill"), 1 << 20, 1 << 24)) {
            OriginReplication origin = new OriginReplication("k", new ConfinedRoot(tmp.resolve("o"), List.of("/data")),
                    log);
            origin.accept(List.of(
                    ev(1).setRename(FileRename.newBuilder().setFrom("/data/side/x").setTo("/data/came-in")).build(),
                    ev(2).setLink(FileLink.newBuilder().setFrom("/data/side/y").setTo("/data/linked-in")).build(),
                    ev(3).setRename(FileRename.newBuilder().setFrom("/data/a").setTo("/data/b")).build()), 0);
            List<ReplicatedOp> all = log.read(1, 100, 1 << 20);
            List<ReplicatedOp> ops = all.stream().filter(ReplicatedOp::hasEvent).toList();
            // after the ops, the attributes of what they changed and of the directory whose entries they changed
            assertThat(all.subList(ops.size(), all.size())).allMatch(ReplicatedOp::hasAttrs)
                    .extracting(op -> op.getAttrs().getPath())
                    .containsExactlyInAnyOrder("/data/came-in", "/data/linked-in", "/data/b", "/data");
            assertThat(all.get(ops.size()).getAttrs().getMtimeNs()).isEqualTo(
                    Files.getLastModifiedTime(data.resolve("came-in")).to(java.util.concurrent.TimeUnit.NANOSECONDS));
            assertThat(ops).extracting(op -> op.getEvent().getOpCase().toString()).containsExactly("WRITE", "TRUNCATE",
                    "WRITE", "TRUNCATE", "RENAME");
            assertThat(ops.get(0).getEvent().getWrite().getPath()).isEqualTo("/data/came-in");
            assertThat(ops.get(0).getEvent().getWrite().getData().toStringUtf8()).isEqualTo("came in");
            assertThat(ops.get(1).getEvent().getTruncate().getLength()).isEqualTo(7);
            assertThat(ops.get(2).getEvent().getWrite().getData().toStringUtf8()).isEqualTo("linked in");
            assertThat(ops.get(4).getEvent().getRename().getTo()).isEqualTo("/data/b"); // inside: shipped as is
        }
    }

    static StateEvent.Builder ev(long seq) {
        return StateEvent.newBuilder().setReplicationId(1).setSeq(seq);
    }
}
