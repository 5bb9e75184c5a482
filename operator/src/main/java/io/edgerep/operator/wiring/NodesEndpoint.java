// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.wiring;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.operator.registry.NodeStates;
import io.vertx.ext.web.Router;

/**
 * {@code GET /edgerep/v1/nodes}: the per-node view of {@link NodeStates} on the operator's HTTP port, which
 * {@code kubectl edgerep} reads through the API server's service proxy (so RBAC on {@code services/proxy} decides
 * who sees it). Nothing of it is written to etcd.
 */
@ApplicationScoped
public class NodesEndpoint {
    public static final String PATH = "/edgerep/v1/nodes";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    AgentRegistry registry;

    void routes(@Observes Router router) {
        router.get(PATH).handler(ctx -> {
            try {
                String body = JSON.writeValueAsString(NodeStates.view(registry.nodeStates()));
                ctx.response().putHeader("Content-Type", "application/json").end(body);
            } catch (JsonProcessingException e) {
                ctx.fail(e);
            }
        });
    }
}
