// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.app;

import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.edgerep.proto.v1.GetCapabilitiesRequest;
import io.edgerep.proto.v1.LoaderGrpc;

/** Ready when the loader answers; the operator link's state is reported but does not gate readiness. */
@Readiness
@ApplicationScoped
public class AgentHealth implements HealthCheck {
    private final Agent agent;

    public AgentHealth(Agent agent) {
        this.agent = agent;
    }

    @Override
    public HealthCheckResponse call() {
        var b = HealthCheckResponse.named("edgerep-agent");
        try {
            var c = LoaderGrpc.newBlockingStub(agent.loaderChannel()).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .getCapabilities(GetCapabilitiesRequest.getDefaultInstance());
            b.up().withData("loader", c.getLoaderVersion());
        } catch (RuntimeException e) {
            b.down().withData("loader", String.valueOf(e.getMessage()));
        }
        if (agent.link() != null) {
            b.withData("operatorConnected", agent.link().connected()).withData("appliedVersion",
                    agent.link().appliedVersion());
        }
        return b.build();
    }
}
