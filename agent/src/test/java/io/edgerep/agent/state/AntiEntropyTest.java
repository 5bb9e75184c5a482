// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Changes capture cannot see reach the replica within one verification interval, reported as drift first; the
 * comparison costs little when nothing changed.
 */
class AntiEntropyTest {
    static final Duration DEADLINE = Duration.ofSeconds(60);
    static final long INTERVAL_MS = 300;

    @TempDir
    Path tmp;
    Path data;
    Path replicaData;
    RecordingReplica replica;
    OriginReplication origin;
    ReplicaLink link;

    @BeforeEach
    void setUp() throws Exception {
        data = Files.createDirectories(tmp.resolve("o/data"));
        Files.writeString(data.resolve("a"), "a\n");
        aged(data.resolve("a")); // written a while ago: not a change that may have an op on its way
        aged(data);
        replica = new RecordingReplica(new StateApplier("ns/er", "r-0",
                new ConfinedRoot(Files.createDirectories(tmp.resolve("r")), List.of("/data"))));
        replicaData = tmp.resolve("r/data");
        origin = new OriginReplication("ns/er", new ConfinedRoot(tmp.resolve("o"), List.of("/data")),
                new OpLog(tmp.resolve("spill"), 1 << 20, 1 << 20));
        ReplicaLink.Options d = ReplicaLink.Options.defaults();
        link = new ReplicaLink("ns/er", "r-0", origin.log(), origin.origin(), replica.channel(),
                new ReplicaLink.Options(d.maxBatchOps(), d.maxBatchBytes(), d.windowOps(), d.blockSize(), 50,
                        d.maxTouched(), INTERVAL_MS));
        origin.addLink(link);
        link.start();
        origin.captureOn();
        await().atMost(DEADLINE).until(() -> link.inSync());
    }

    @AfterEach
    void tearDown() throws Exception {
        origin.close();
        replica.close();
    }

    /** Sets a file's times into the past, as a change made a while ago: not an op that may be on its way. */
    static void aged(Path p) throws Exception {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minusSeconds(60)));
    }

    @Test
    void aFileDroppedInOutsideTheTraceReachesTheReplicaAndIsReportedAsDrift() throws Exception {
        Files.writeString(data.resolve("dropped"), "written by another container\n");
        aged(data.resolve("dropped"));
        aged(data);
        await().atMost(DEADLINE).until(() -> link.counters().driftedPaths() > 0);
        assertThat(link.lastDrift()).contains("/data/dropped");
        await().atMost(DEADLINE).until(() -> !link.drifting() && link.inSync()
                && Files.exists(replicaData.resolve("dropped")));
        Trees.awaitIdentical(data, replicaData, System.currentTimeMillis() + DEADLINE.toMillis());
    }

    @Test
    void aChangeMadeOnTheReplicaIsRepaired() throws Exception {
        Trees.awaitIdentical(data, replicaData, System.currentTimeMillis() + DEADLINE.toMillis());
        Files.writeString(replicaData.resolve("a"), "changed on the replica\n");
        await().atMost(DEADLINE).until(() -> link.counters().driftedPaths() > 0);
        Trees.awaitIdentical(data, replicaData, System.currentTimeMillis() + DEADLINE.toMillis());
        await().atMost(DEADLINE).until(() -> !link.drifting() && link.inSync());
    }

    @Test
    void whenNothingChangedNothingIsSentButMetadata() throws Exception {
        int before = replica.batches.size();
        long bytes = link.counters().resyncedBytes();
        long runs = link.counters().treeComparisons();
        await().atMost(DEADLINE).until(() -> link.counters().treeComparisons() >= runs + 3);
        assertThat(link.inSync()).isTrue();
        assertThat(link.counters().driftedPaths()).isZero();
        assertThat(link.counters().resyncedBytes()).isEqualTo(bytes);
        assertThat(replica.batches.subList(before, replica.batches.size())).as("no content, no repair").isEmpty();
    }
}
