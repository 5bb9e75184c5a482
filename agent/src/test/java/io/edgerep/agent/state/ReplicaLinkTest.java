// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.StateBatch.KindCase;
import io.edgerep.proto.v1.StateEvent;

/** The link's loop: how a session starts, what it sends in which order, and what requests make it do. */
class ReplicaLinkTest {
    static final Duration DEADLINE = Duration.ofSeconds(60);

    @TempDir
    Path tmp;
    Path data;
    RecordingReplica replica;
    OriginReplication origin;
    ReplicaLink link;
    long seq;

    @BeforeEach
    void setUp() throws Exception {
        data = Files.createDirectories(tmp.resolve("o/data"));
        Files.writeString(data.resolve("a"), "before replication\n");
        replica = new RecordingReplica(new StateApplier("ns/er", "r-0",
                new ConfinedRoot(Files.createDirectories(tmp.resolve("r")), List.of("/data"))));
        origin = new OriginReplication("ns/er", new ConfinedRoot(tmp.resolve("o"), List.of("/data")),
                new OpLog(tmp.resolve("spill"), 1 << 20, 1 << 20));
        ReplicaLink.Options d = ReplicaLink.Options.defaults();
        link = new ReplicaLink("ns/er", "r-0", origin.log(), origin.origin(), replica.channel(),
                new ReplicaLink.Options(d.maxBatchOps(), d.maxBatchBytes(), d.windowOps(), d.blockSize(), 50,
                        d.maxTouched()));
        origin.addLink(link);
        link.start();
    }

    @AfterEach
    void tearDown() throws Exception {
        origin.close();
        replica.close();
    }

    /** The application appends to a and the capture hands the origin its event. */
    void append(String line) throws Exception {
        Files.writeString(data.resolve("a"), line, java.nio.file.StandardOpenOption.APPEND);
        origin.accept(List.of(StateEvent.newBuilder().setReplicationId(1).setSeq(++seq)
                .setTimestampNs(System.nanoTime()).setWrite(FileWrite.newBuilder().setPath("/data/a").setAppend(true)
                        .setData(com.google.protobuf.ByteString.copyFromUtf8(line)))
                .build()), 0);
    }

    void awaitInSync() {
        await().atMost(DEADLINE).until(() -> link.inSync());
    }

    @Test
    void noResyncBeforeCaptureIsOnThenAResyncOpsAndAConfirmation() throws Exception {
        await().atMost(DEADLINE).until(() -> replica.kinds().contains(KindCase.HELLO));
        assertThat(link.counters().resyncs()).as("a snapshot before capture would miss writes").isZero();
        assertThat(link.inSync()).isFalse();
        origin.captureOn();
        awaitInSync();
        append("one\n");
        awaitInSync();
        assertThat(replica.kinds()).startsWith(KindCase.HELLO, KindCase.RESYNC_BEGIN).contains(KindCase.OP_BATCH,
                KindCase.CONFIRM);
        assertThat(Files.readString(tmp.resolve("r/data/a"))).isEqualTo("before replication\none\n");
        assertThat(replica.applier.appliedSeq()).as("the write, then the attributes of the file and its directory")
                .isEqualTo(origin.log().lastSeq()).isEqualTo(3);
        assertThat(link.counters().resyncs()).isEqualTo(1);
        assertThat(link.counters().sentOps()).isEqualTo(3);
    }

    @Test
    void aBrokenStreamResumesWhereTheReplicaStandsWithoutAResync() throws Exception {
        origin.captureOn();
        append("one\n");
        awaitInSync();
        replica.breakStreams();
        append("two\n");
        await().atMost(DEADLINE).until(() -> link.counters().sessions() >= 2 && link.inSync());
        assertThat(link.counters().resyncs()).as("resumed").isEqualTo(1);
        assertThat(Files.readString(tmp.resolve("r/data/a"))).isEqualTo("before replication\none\ntwo\n");
    }

    @Test
    void aFullResyncAskedMidStreamResyncsAndIsConfirmedAgain() throws Exception {
        origin.captureOn();
        awaitInSync();
        Files.writeString(data.resolve("b"), "written while records were lost");
        link.requestFullResync();
        await().atMost(DEADLINE).until(() -> link.counters().resyncs() == 2 && link.inSync());
        assertThat(tmp.resolve("r/data/b")).hasContent("written while records were lost");
        assertThat(replica.kinds().stream().filter(k -> k == KindCase.RESYNC_BEGIN)).hasSize(2);
    }

    @Test
    void aResyncOfSomePathsSendsThemAndVerifiesBeforeConfirming() throws Exception {
        origin.captureOn();
        awaitInSync();
        int before = replica.batches.size();
        Files.writeString(data.resolve("a"), "rewritten where capture could not read it");
        link.requestResync(List.of("/data/a"));
        await().atMost(DEADLINE).until(() -> replica.batches.size() > before && link.inSync());
        assertThat(tmp.resolve("r/data/a")).hasContent("rewritten where capture could not read it");
        assertThat(replica.kinds().subList(before, replica.kinds().size())).doesNotContain(KindCase.RESYNC_BEGIN)
                .contains(KindCase.RESYNC_END, KindCase.CONFIRM);
    }
}
