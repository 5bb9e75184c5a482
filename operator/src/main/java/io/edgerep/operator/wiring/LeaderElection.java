// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.wiring;

import java.time.Duration;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.edgerep.operator.OperatorSettings;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;

/**
 * Leader election through a Lease in the operator's namespace (QOSDK activates it in the prod
 * profile): only the leader reconciles and serves agents; a replica that loses the lease exits. The
 * exit is {@link AgentServerLifecycle#stoppedLeading}'s, not JOSDK's (exitOnStopLeading false): JOSDK
 * calls System.exit from the callback, which also runs during shutdown, inside the JVM's shutdown
 * hooks, and never returns there — the operator then hung on SIGTERM until it was killed.
 */
public class LeaderElection {
    /** The Lease's name, in the operator's namespace. */
    public static final String LEASE = "edgerep-operator";

    @Produces
    @Singleton
    LeaderElectionConfiguration leaderElection(OperatorSettings settings, AgentServerLifecycle lifecycle) {
        return new LeaderElectionConfiguration(LEASE, settings.namespace(), Duration.ofSeconds(15),
                Duration.ofSeconds(10), Duration.ofSeconds(2), null,
                new LeaderCallbacks(lifecycle::startedLeading, lifecycle::stoppedLeading, id -> {
                }), false);
    }
}
