// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.proto.v1.ReplicationGrpc;
import io.edgerep.proto.v1.StateBatch.KindCase;

/** What resyncs and verifications send, batch by batch. */
class ResyncSenderTest {
    @TempDir
    Path tmp;
    Path o;
    Path r;
    RecordingReplica replica;
    PushSession s;
    ResyncSender sender;

    @BeforeEach
    void setUp() throws Exception {
        o = Files.createDirectories(tmp.resolve("o/data/d"));
        r = Files.createDirectories(tmp.resolve("r"));
        Files.writeString(o.resolve("f"), "content\n".repeat(1000));
        replica = new RecordingReplica(new StateApplier("ns/er", "r-0", new ConfinedRoot(r, List.of("/data"))));
        s = new PushSession("ns/er", "r-0", 3, ReplicationGrpc.newStub(replica.channel()),
                ReplicationGrpc.newBlockingStub(replica.channel()), new AtomicLong());
        sender = new ResyncSender("ns/er", "r-0", new ConfinedRoot(tmp.resolve("o"), List.of("/data")),
                ReplicaLink.Options.defaults(), new LinkCounters());
        s.hello(10_000);
    }

    @AfterEach
    void tearDown() throws Exception {
        s.close();
        replica.close();
    }

    @Test
    void aWholeTreeResyncBeginsSendsContentAndEnds() throws Exception {
        ResyncSender.Sent sent = sender.whole(s, 41, new SnapshotTimes(true));
        s.awaitAllAcked();
        assertThat(replica.kinds()).containsExactly(KindCase.HELLO, KindCase.RESYNC_BEGIN, KindCase.OP_BATCH,
                KindCase.RESYNC_END);
        assertThat(replica.batches.get(3).getResyncEnd().getWholeTree()).isTrue();
        assertThat(sent.confirmed()).isFalse();
        assertThat(replica.applier.appliedSeq()).isEqualTo(41);
        assertThat(r.resolve("data/d/f")).hasContent(Files.readString(o.resolve("f")));
    }

    /** A directory whose mode differs is a repair: the verification must not take it for a match and confirm. */
    @Test
    void aDirectoryModeThatDiffersIsRepairedNotConfirmed() throws Exception {
        sender.whole(s, 0, new SnapshotTimes(true));
        s.awaitAllAcked();
        Files.setPosixFilePermissions(r.resolve("data/d"), PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(o, PosixFilePermissions.fromString("rwxr-xr-x"));
        ResyncSender.Sent repair = sender.compare(s, null, new SnapshotTimes(true), 0);
        s.awaitAllAcked();
        assertThat(repair.confirmed()).isFalse();
        assertThat(repair.repaired()).isTrue();
        assertThat(repair.paths()).containsExactly("/data/d");
        assertThat(replica.kinds().get(replica.kinds().size() - 1)).isEqualTo(KindCase.RESYNC_END);
        assertThat(PosixFiles.mode(r.resolve("data/d"))).isEqualTo(0755);
        assertThat(replica.applier.confirmed()).isFalse();

        ResyncSender.Sent again = sender.compare(s, null, new SnapshotTimes(true), 0);
        s.awaitAllAcked();
        assertThat(again.confirmed()).isTrue();
        assertThat(replica.kinds().get(replica.kinds().size() - 1)).isEqualTo(KindCase.CONFIRM);
        assertThat(replica.applier.confirmed()).isTrue();
    }

    @Test
    void aResyncOfSomePathsSendsOnlyThem() throws Exception {
        sender.whole(s, 0, new SnapshotTimes(true));
        s.awaitAllAcked();
        Files.writeString(o.resolve("f"), "changed");
        Files.writeString(o.resolve("g"), "new, not asked for");
        ResyncSender.Sent sent = sender.paths(s, List.of("/data/d/f"), new SnapshotTimes(false));
        s.awaitAllAcked();
        assertThat(sent.paths()).containsExactly("/data/d/f");
        assertThat(r.resolve("data/d/f")).hasContent("changed");
        assertThat(r.resolve("data/d/g")).doesNotExist();
    }
}
