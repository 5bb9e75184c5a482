// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;

class SnapshotPlacementTest {
    static ReplicatedOp write(long seq, String path, long ts) {
        return ReplicatedOp.newBuilder().setSeq(seq).setEvent(StateEvent.newBuilder().setSeq(seq).setTimestampNs(ts)
                .setWrite(FileWrite.newBuilder().setPath(path))).build();
    }

    @Test
    void opsAreSkippedAppliedOrLeftToVerificationByWhenTheyRanAgainstTheRead() {
        SnapshotPlacement p = new SnapshotPlacement(() -> true);
        SnapshotTimes read = new SnapshotTimes(false);
        read.read("/data/f", 1_000, 2_000);
        p.add(read);
        SnapshotPlacement.Placed placed = p.place(List.of(write(1, "/data/f", 500), write(2, "/data/f", 1_500),
                write(3, "/data/f", 2_500), write(4, "/data/other", 500)));
        assertThat(placed.skipped()).isEqualTo(1);
        assertThat(placed.ops().get(0).getEvent().hasWrite()).as("already in the content: a placeholder").isFalse();
        assertThat(placed.ops().get(0).getSeq()).isEqualTo(1);
        assertThat(placed.ops().subList(1, 4)).containsExactlyElementsOf(List.of(write(2, "/data/f", 1_500),
                write(3, "/data/f", 2_500), write(4, "/data/other", 500)));
        assertThat(placed.unknownPaths()).as("ran while the path was read").containsExactly("/data/f");
    }

    @Test
    void withoutATrustedClockNothingIsPlacedAndTheReadsAreDropped() {
        boolean[] trusted = {false};
        SnapshotPlacement p = new SnapshotPlacement(() -> trusted[0]);
        SnapshotTimes read = new SnapshotTimes(false);
        read.read("/data/f", 1_000, 2_000);
        p.add(read);
        List<ReplicatedOp> ops = List.of(write(1, "/data/f", 500));
        assertThat(p.place(ops).ops()).isEqualTo(ops);
        trusted[0] = true;
        assertThat(p.place(ops).skipped()).as("the read was dropped").isZero();
    }

    @Test
    void aReadIsForgottenOnceOpsComeFromWellAfterIt() {
        SnapshotPlacement p = new SnapshotPlacement(() -> true);
        SnapshotTimes read = new SnapshotTimes(false);
        read.read("/data/f", 1_000, 2_000);
        p.add(read);
        long after = 2_000 + SnapshotPlacement.SNAPSHOT_SLACK_NS + 1;
        assertThat(p.place(List.of(write(1, "/data/g", after))).skipped()).isZero();
        assertThat(p.place(List.of(write(2, "/data/f", 500))).skipped()).as("forgotten").isZero();
    }

    @Test
    void theNewestReadOfAPathDecides() {
        SnapshotPlacement p = new SnapshotPlacement(() -> true);
        SnapshotTimes whole = new SnapshotTimes(true);
        whole.walked(1_000, 2_000);
        p.replaceAll(whole);
        SnapshotTimes again = new SnapshotTimes(false);
        again.read("/data/f", 5_000, 6_000);
        p.add(again);
        SnapshotPlacement.Placed placed = p.place(List.of(write(1, "/data/f", 3_000), write(2, "/data/g", 500)));
        assertThat(placed.skipped()).as("f is in the newer read's content, g in the whole tree's").isEqualTo(2);
    }
}
