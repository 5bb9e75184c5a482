// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.ConfinedRootTest.op;
import static io.edgerep.agent.state.ConfinedRootTest.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.FileRename;
import io.edgerep.proto.v1.OpBatch;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.edgerep.proto.v1.ResyncBegin;
import io.edgerep.proto.v1.StateEvent;

/** What a push stream's acks tell the origin. */
class PushSessionTest {
    static final long EPOCH = 9;

    @TempDir
    Path tmp;
    RecordingReplica replica;
    AtomicLong acked = new AtomicLong();
    PushSession s;

    @BeforeEach
    void setUp() throws Exception {
        replica = new RecordingReplica(new StateApplier("ns/er", "r-0", new ConfinedRoot(tmp, List.of("/data"))));
        s = new PushSession("ns/er", "r-0", EPOCH, ReplicationGrpc.newStub(replica.channel()),
                ReplicationGrpc.newBlockingStub(replica.channel()), acked);
    }

    @AfterEach
    void tearDown() throws Exception {
        s.close();
        replica.close();
    }

    void begin(long base) throws Exception {
        s.sendResyncBegin(s.batch().setResyncBegin(ResyncBegin.newBuilder().setBaseSeq(base)));
    }

    @Test
    void theHelloSaysWhereTheReplicaStandsAndAcksCarryItsProgress() throws Exception {
        Ack first = s.hello(10_000);
        assertThat(first.getNeedsResync()).as("a new replica").isTrue();
        assertThat(first.getConfirmed()).isFalse();
        assertThat(replica.batches.get(0).getHello().getProtocol()).isEqualTo(PushSession.PROTOCOL);
        begin(5);
        s.send(s.batch().setOpBatch(OpBatch.newBuilder().addOps(op(6, write("/data/a", "x")))
                .addOps(op(7, write("/data/b", "y")))));
        s.awaitAllAcked();
        assertThat(acked.get()).isEqualTo(7);
        assertThat(s.replicaWantsResync()).as("what the hello said came before the resync").isFalse();
        s.sendConfirm(7);
        s.awaitAllAcked();
        assertThat(s.replicaConfirmed()).isTrue();
        assertThat(s.takeDoubt(false)).isNull();
    }

    @Test
    void aReplicaAskingForAResyncAfterTheBeginIsHeard() throws Exception {
        s.hello(10_000);
        begin(0);
        replica.rewriteAcks = a -> a.toBuilder().setNeedsResync(true).build();
        s.send(s.batch().setOpBatch(OpBatch.newBuilder().addOps(op(1, write("/data/a", "x")))));
        s.awaitAllAcked();
        assertThat(s.replicaWantsResync()).isTrue();
    }

    @Test
    void aConfirmationTheReplicaDidNotTakeRaisesADoubtUnlessAVerificationIsOwedAnyway() throws Exception {
        s.hello(10_000);
        begin(0);
        replica.rewriteAcks = a -> a.toBuilder().setConfirmed(false).build();
        s.sendConfirm(0);
        s.awaitAllAcked();
        assertThat(s.takeDoubt(true)).isNull();
        s.sendConfirm(0);
        s.awaitAllAcked();
        assertThat(s.takeDoubt(false)).contains("not confirmed");
        assertThat(s.takeDoubt(false)).as("said once").isNull();
    }

    @Test
    void anOpTheReplicaFailedToApplyRaisesADoubt() throws Exception {
        s.hello(10_000);
        begin(0);
        s.send(s.batch().setOpBatch(OpBatch.newBuilder().addOps(op(1, StateEvent.newBuilder()
                .setRename(FileRename.newBuilder().setFrom("/data/missing").setTo("/data/b"))))));
        s.awaitAllAcked();
        assertThat(s.takeDoubt(true)).contains("failed to apply");
    }
}
