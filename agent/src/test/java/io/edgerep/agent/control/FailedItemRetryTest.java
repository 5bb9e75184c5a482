// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.edgerep.agent.FakeLoader;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.state.StateWiring;
import io.edgerep.proto.v1.NodeStatus;
import io.grpc.ManagedChannel;

/** A config whose items failed is applied again, later and later, until they hold; never while the loader is gone. */
class FailedItemRetryTest {
    FakeLoader loader;
    ManagedChannel ch;
    NodeReconciler r;
    final AtomicLong now = new AtomicLong(1_000_000);
    FailedItemRetry retry;

    @BeforeEach
    void setUp() throws Exception {
        loader = new FakeLoader();
        loader.failInterfaces.add("eth9"); // video/broken's interface: its replicator fails
        ch = LoaderChannels.open(loader.target());
        r = new NodeReconciler(ch, TestConfigs.pods(), StateWiring.NONE, Path.of("/proc"));
        retry = new FailedItemRetry(r, now::get);
    }

    @AfterEach
    void tearDown() throws Exception {
        ch.shutdownNow();
        loader.close();
    }

    private static boolean ok(NodeStatus s, String key) {
        return s.getItemsList().stream().filter(i -> i.getKey().equals(key)).findFirst().orElseThrow().getOk();
    }

    @Test
    void failedItemsAreRetriedWithGrowingIntervalsUntilTheyHold() {
        NodeStatus first = r.apply(TestConfigs.config(3));
        assertThat(ok(first, "video/broken")).isFalse();
        assertThat(retry.tick(true)).as("the schedule starts").isNull();
        long calls = r.mutatingCalls();
        now.addAndGet(FailedItemRetry.BASE_MS);
        // still failing: applied again, nothing new to report, and no call for what already holds
        assertThat(retry.tick(true)).isNull();
        assertThat(r.mutatingCalls() - calls).as("only the failed replicator is asked for again").isEqualTo(1);
        // the next retry waits longer than the first
        now.addAndGet(FailedItemRetry.BASE_MS / 2 - 1);
        long before = r.mutatingCalls();
        assertThat(retry.tick(true)).isNull();
        assertThat(r.mutatingCalls()).as("not due yet").isEqualTo(before);
        loader.failInterfaces.clear(); // the interface came up
        now.addAndGet(2 * FailedItemRetry.BASE_MS + 1);
        NodeStatus st = retry.tick(true);
        assertThat(st).as("a status that says the item now holds").isNotNull();
        assertThat(st.getAppliedVersion()).isEqualTo(3);
        assertThat(ok(st, "video/broken")).isTrue();
        assertThat(loader.replicators).containsKey("eth9");
        // only the pod that does not exist still fails; it is tried again, never more than once a minute
        long quietCalls = r.mutatingCalls();
        for (int i = 0; i < 20; i++) {
            now.addAndGet(FailedItemRetry.CAP_MS);
            retry.tick(true);
        }
        assertThat(r.mutatingCalls()).as("a pod that does not resolve makes no loader call").isEqualTo(quietCalls);
    }

    @Test
    void nothingIsRetriedWhileTheLoaderIsGoneOrNothingFailed() {
        r.apply(TestConfigs.config(3));
        retry.tick(false);
        now.addAndGet(10 * FailedItemRetry.CAP_MS);
        long calls = r.mutatingCalls();
        assertThat(retry.tick(false)).isNull();
        assertThat(r.mutatingCalls()).as("the loader is gone").isEqualTo(calls);

        // a config whose items all hold: nothing to retry
        var all = TestConfigs.config(4).toBuilder().clearStateOrigins().removeStreams(1);
        all.setStreams(0, all.getStreams(0).toBuilder().removeConsumers(2)); // the ghost pod
        NodeStatus fine = r.apply(all.build());
        assertThat(fine.getItemsList()).allMatch(i -> i.getOk());
        for (int i = 0; i < 5; i++) {
            now.addAndGet(FailedItemRetry.CAP_MS);
            assertThat(retry.tick(true)).isNull();
        }
        assertThat(r.lastStatus()).isEqualTo(fine);
    }
}
