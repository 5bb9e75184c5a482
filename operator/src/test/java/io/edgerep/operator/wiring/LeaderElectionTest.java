// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.wiring;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.edgerep.operator.OperatorSettings;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;

/**
 * Losing the lease ends the process, but never by a System.exit on the callback's own thread: the
 * callback also runs inside the JVM's shutdown hooks (SIGTERM → Operator.stop → elector stopped),
 * where such an exit blocks forever and the operator hung until SIGKILL.
 */
class LeaderElectionTest {

    static final OperatorSettings SETTINGS = new OperatorSettings("edgerep-system", "edgerep-ca", "edgerep-agent",
            "edgerep-agent", "app=edgerep-agent", Duration.ofHours(1), "127.0.0.1", 0, List.of(),
            Duration.ofSeconds(30));

    @Test
    void jOsdkDoesNotExitFromTheCallback() {
        LeaderElectionConfiguration c = new LeaderElection().leaderElection(SETTINGS, new AgentServerLifecycle());
        assertThat(c.isExitOnStopLeading()).isFalse();
        assertThat(c.getLeaderCallbacks()).isPresent();
        assertThat(c.getLeaseName()).isEqualTo("edgerep-operator");
        assertThat(c.getLeaseNamespace()).contains("edgerep-system");
    }

    @Test
    void lostLeadershipRequestsAnExitAndReturns() throws Exception {
        AgentServerLifecycle lifecycle = new AgentServerLifecycle();
        List<Integer> codes = new ArrayList<>();
        lifecycle.exit = codes::add;
        lifecycle.startedLeading();
        LeaderElectionConfiguration c = new LeaderElection().leaderElection(SETTINGS, lifecycle);
        // as fabric8's elector calls it (during shutdown: from inside a shutdown hook)
        CompletableFuture.runAsync(() -> c.getLeaderCallbacks().orElseThrow().onStopLeading()).get(5,
                TimeUnit.SECONDS);
        assertThat(codes).containsExactly(1);
        assertThat(lifecycle.serving()).isFalse();
    }
}
