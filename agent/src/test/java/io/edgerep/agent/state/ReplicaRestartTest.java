// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.Trees.DEADLINE_MS;
import static io.edgerep.agent.state.Trees.awaitIdentical;
import static io.edgerep.agent.state.Trees.tree;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** A replica agent that restarts: what its checkpoint lets it resume, and when the origin verifies it anyway. */
class ReplicaRestartTest extends ReplicationRig {
    /** A replica agent restarted with its files intact resumes where it was; with its files changed, it resyncs. */
    @Test
    void aRestartedReplicaResumesFromItsCheckpointUnlessItsFilesChanged() throws Exception {
        try (Wired w = wire(ReplicaLink.Options.defaults(), true)) {
            OriginReplication origin = w.origin();
            ReplicaLink link = w.link();
            Runnable captured = capturingInto(origin);
            Files.writeString(tmp.resolve("o/data/a"), "version 1\n".repeat(5000));
            Files.writeString(tmp.resolve("o/data/log"), "line 1\n");
            captured.run();
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            awaitInSync(link);
            StateApplier before = service.replicas().values().iterator().next().applier();
            awaitConfirmed(before);
            before.checkpointIfIdle(0); // the agent's tick, once the replica is idle
            long resyncs = link.counters().resyncs();
            long resyncedBytes = link.counters().resyncedBytes();

            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS); // the replica agent restarts
            startReplica(port);
            StateApplier resumed = service.replicas().values().iterator().next().applier();
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.appliedSeq()).isEqualTo(before.appliedSeq());
            Files.writeString(tmp.resolve("o/data/log"), "line 2\n", java.nio.file.StandardOpenOption.APPEND);
            captured.run();
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            awaitInSync(link);
            assertThat(link.counters().resyncs()).as("resumed, not resynced").isEqualTo(resyncs);
            assertThat(link.counters().resyncedBytes()).isEqualTo(resyncedBytes);
            assertThat(resumed.ack().getConfirmed()).isTrue();
            assertThat(resumed.reportedSeq()).isEqualTo(origin.log().lastSeq());

            resumed.checkpointIfIdle(0);
            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            Files.writeString(tmp.resolve("r/data/a"), "changed while the agent was down"); // not the saved tree
            startReplica(port);
            assertThat(service.replicas().values().iterator().next().applier().resumed()).isFalse();
            awaitIdentical(tmp.resolve("o/data"), tmp.resolve("r/data"), System.currentTimeMillis() + DEADLINE_MS);
            awaitInSync(link);
            assertThat(link.counters().resyncs()).as("fell back to a resync").isEqualTo(resyncs + 1);
            assertThat(link.counters().resyncedBytes()).isGreaterThan(resyncedBytes);
        }
    }

    /** A checkpoint saved before the origin confirmed the last resync is brought up to date by the confirmation. */
    @Test
    void aConfirmationAfterTheCheckpointIsSavedWithIt() throws Exception {
        confirmationsToSpoil.set(Integer.MAX_VALUE); // no confirmation reaches the replica until let through
        try (Wired w = wire(quietFor(100), true)) {
            OriginReplication origin = w.origin();
            StateApplier before = writtenAndApplied(origin);
            assertThat(before.confirmed()).isFalse();
            before.checkpointIfIdle(0);
            confirmationsToSpoil.set(0);
            awaitConfirmed(before);
            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            startReplica(port);
            StateApplier resumed = service.replicas().values().iterator().next().applier();
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.confirmed()).isTrue();
            assertThat(resumed.reportedSeq()).isEqualTo(origin.log().lastSeq()).isPositive();
        }
    }

    /**
     * A replica resumed from a checkpoint saved before the origin confirmed it, whose confirmation was lost with its
     * agent: it says so in its first ack, and the origin verifies the whole tree instead of trusting it.
     */
    @Test
    void aReplicaResumedUnconfirmedIsVerifiedByAnOriginThatDidNotKnow() throws Exception {
        try (Wired w = wire(quietFor(60_000), true)) {
            OriginReplication origin = w.origin();
            StateApplier before = writtenAndApplied(origin);
            before.checkpointIfIdle(0);
            // the replica's agent stops, and the origin's link to it is replaced: the new one knows nothing pending
            w.link().close();
            replicaServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            startReplica(port);
            StateApplier resumed = service.replicas().values().iterator().next().applier();
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.ack().getConfirmed()).isFalse();
            assertThat(resumed.reportedSeq()).isZero();
            ReplicaLink link = new ReplicaLink(KEY, POD, origin.log(), origin.origin(), w.ch(), quietFor(100)).start();
            origin.addLink(link);
            awaitConfirmed(resumed);
            assertThat(resumed.reportedSeq()).isEqualTo(origin.log().lastSeq()).isPositive();
            assertThat(link.counters().resyncs()).as("verified, not resynced").isZero();
            assertThat(link.counters().verifyRepairs()).isZero();
        }
    }
}
