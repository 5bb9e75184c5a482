// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.ByteString;

import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateEvent;

/** Sequencing and the bounded unacknowledged buffer with spilling. */
class OpLogTest {
    @TempDir
    Path dir;

    static ReplicatedOp.Builder op(int size) {
        return ReplicatedOp.newBuilder().setEvent(StateEvent.newBuilder()
                .setWrite(FileWrite.newBuilder().setPath("/data/f").setData(ByteString.copyFrom(new byte[size]))));
    }

    @Test
    void sequencesGapFreeAndEpochsDiffer() throws Exception {
        try (OpLog a = new OpLog(dir.resolve("a"), 1 << 20, 1 << 20);
                OpLog b = new OpLog(dir.resolve("b"), 1 << 20, 1 << 20)) {
            for (int i = 1; i <= 100; i++) {
                assertThat(a.append(op(10))).isEqualTo(i);
            }
            assertThat(a.epoch()).isNotEqualTo(b.epoch());
            List<ReplicatedOp> r = a.read(41, 1000, Long.MAX_VALUE);
            assertThat(r).extracting(ReplicatedOp::getSeq).startsWith(41L, 42L).endsWith(100L).hasSize(60);
            assertThat(a.read(1, 7, Long.MAX_VALUE)).hasSize(7);
            assertThat(a.read(101, 7, Long.MAX_VALUE)).isEmpty();
        }
    }

    /** Reads from any held position return consecutive ops from there, through trims, spills and compactions. */
    @Test
    void scansEveryOpAfterASequenceInBatchesAndStopsWhenTold() throws Exception {
        try (OpLog log = new OpLog(dir, 1 << 20, 1 << 20)) {
            for (int i = 1; i <= 50; i++) {
                log.append(op(10));
            }
            List<Long> seen = new java.util.ArrayList<>();
            assertThat(log.scanAfter(20, 7, Long.MAX_VALUE, o -> seen.add(o.getSeq()))).isTrue();
            assertThat(seen).hasSize(30).startsWith(21L, 22L).endsWith(50L);
            seen.clear();
            assertThat(log.scanAfter(0, 4, Long.MAX_VALUE, o -> seen.add(o.getSeq()) && o.getSeq() < 9)).isFalse();
            assertThat(seen).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
            assertThat(log.scanAfter(50, 4, Long.MAX_VALUE, o -> false)).as("nothing after the last").isTrue();
        }
    }

    @Test
    void readsFromAnyPositionThroughTrimsSpillsAndCompaction() throws Exception {
        java.util.Random rnd = new java.util.Random(7);
        try (OpLog log = new OpLog(dir, 256 << 10, 100L << 20)) {
            long trimmed = 0;
            for (int round = 0; round < 40; round++) {
                for (int i = 0; i < 1000 + rnd.nextInt(1000); i++) {
                    log.append(op(rnd.nextInt(200)));
                }
                for (int k = 0; k < 20; k++) {
                    long from = log.firstHeld() + (long) rnd.nextInt((int) (log.lastSeq() - log.firstHeld() + 1));
                    int max = 1 + rnd.nextInt(600);
                    List<ReplicatedOp> r = log.read(from, max, Long.MAX_VALUE);
                    assertThat(r).hasSize((int) Math.min(max, log.lastSeq() - from + 1));
                    for (int j = 0; j < r.size(); j++) {
                        assertThat(r.get(j).getSeq()).isEqualTo(from + j);
                    }
                }
                trimmed = Math.min(log.lastSeq(), trimmed + rnd.nextInt(2500));
                log.trim(trimmed);
                assertThat(log.firstHeld()).isEqualTo(trimmed + 1);
            }
            assertThat(log.spilledSegments()).isPositive();
        }
    }

    @Test
    void spillsToDiskReadsBackAcrossSegmentsAndTrims() throws Exception {
        try (OpLog log = new OpLog(dir, 64 * 1024, 100L << 20)) {
            for (int i = 0; i < 1000; i++) {
                log.append(op(1000));
            }
            assertThat(log.memBytes()).isLessThanOrEqualTo(64 * 1024);
            assertThat(log.segmentCount()).isGreaterThan(1);
            try (var s = Files.list(dir)) {
                assertThat(s.count()).isEqualTo(log.segmentCount());
            }
            long next = 1;
            while (next <= 1000) {
                List<ReplicatedOp> r = log.read(next, 100, 50_000);
                assertThat(r).isNotEmpty();
                for (ReplicatedOp o : r) {
                    assertThat(o.getSeq()).isEqualTo(next++);
                }
            }
            log.trim(600);
            assertThat(log.firstHeld()).isEqualTo(601);
            assertThatThrownBy(() -> log.read(500, 10, Long.MAX_VALUE)).isInstanceOf(OpLog.GoneException.class);
            assertThat(log.read(601, 1, Long.MAX_VALUE).get(0).getSeq()).isEqualTo(601);
            log.trim(1000);
            assertThat(log.segmentCount()).isZero();
            assertThat(log.memBytes()).isZero();
            try (var s = Files.list(dir)) {
                assertThat(s.count()).isZero();
            }
        }
    }

    @Test
    void pastTheDiskLimitTheOldestOpsAreDroppedAndReadersAreToldToResync() throws Exception {
        try (OpLog log = new OpLog(dir, 32 * 1024, 128 * 1024)) {
            for (int i = 0; i < 2000; i++) {
                log.append(op(1000));
            }
            assertThat(log.diskBytes()).isLessThanOrEqualTo(128 * 1024);
            assertThat(log.droppedOps()).isPositive();
            assertThat(log.firstHeld()).isGreaterThan(1);
            assertThatThrownBy(() -> log.read(1, 10, Long.MAX_VALUE)).isInstanceOf(OpLog.GoneException.class);
            assertThat(log.read(log.firstHeld(), 10, Long.MAX_VALUE).get(0).getSeq()).isEqualTo(log.firstHeld());
        }
    }
}
