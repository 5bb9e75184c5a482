// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.wiring;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only where agents are served: on the leader, after its caches synced. */
@Readiness
@ApplicationScoped
public class AgentServerReadiness implements HealthCheck {

    @Inject
    AgentServerLifecycle lifecycle;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("agent-server").status(lifecycle.serving()).build();
    }
}
