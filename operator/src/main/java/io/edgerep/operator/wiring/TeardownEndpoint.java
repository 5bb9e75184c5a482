// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.wiring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.reconciler.EdgeReplicaReconciler;
import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.proto.v1.TeardownResult;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code POST /edgerep/v1/teardown}: the chart's pre-delete hook, at {@code helm uninstall}. Every agent removes
 * everything of edgerep from its node's kernel and pin directory and stays idle, the controller stops, and the
 * EdgeReplicas lose the operator's finalizer (they stay, with the CRD, for a later install to pick up; nothing
 * would remove the finalizer once the operator is gone). A rolling restart or an upgrade never calls it.
 *
 * <p>Only the release's uninstall service account may call it (its bearer token, checked by a TokenReview): any
 * pod can reach the operator's HTTP port. The answer says, per node, what was removed or why not; nodes that did
 * not answer within {@code timeoutSeconds} (default 60) are listed as such and make the answer 504.
 */
@ApplicationScoped
public class TeardownEndpoint {
    public static final String PATH = "/edgerep/v1/teardown";
    private static final Logger LOG = Logger.getLogger(TeardownEndpoint.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    AgentRegistry registry;
    @Inject
    KubernetesClient client;
    @Inject
    OperatorSettings settings;
    @Inject
    AgentServerLifecycle lifecycle;
    @Inject
    Operator operator;

    @ConfigProperty(name = "edgerep.uninstall-service-account", defaultValue = "edgerep-uninstall")
    String uninstallServiceAccount;

    void routes(@Observes Router router) {
        router.post(PATH).blockingHandler(this::handle, false);
    }

    private void handle(RoutingContext ctx) {
        try {
            String refused = authorize(ctx.request().getHeader("Authorization"));
            if (refused != null) {
                LOG.warnf("teardown refused: %s", refused);
                reply(ctx, 403, Map.of("error", refused));
                return;
            }
            String t = ctx.request().getParam("timeoutSeconds");
            Duration timeout = Duration.ofSeconds(t == null ? 60 : Math.max(1, Math.min(600, Long.parseLong(t))));
            Map<String, Object> answer = teardown(timeout);
            reply(ctx, answer.get("pending") instanceof List<?> l && !l.isEmpty() ? 504 : 200, answer);
        } catch (NumberFormatException e) {
            reply(ctx, 400, Map.of("error", "timeoutSeconds must be a number of seconds"));
        } catch (RuntimeException e) {
            LOG.errorf(e, "teardown failed");
            reply(ctx, 500, Map.of("error", String.valueOf(e.getMessage())));
        }
    }

    /** Null when the bearer token is the uninstall service account's; otherwise why not. */
    String authorize(String header) {
        if (header == null || !header.startsWith("Bearer ") || header.length() <= 7) {
            return "a bearer token is required";
        }
        TokenReview review = client
                .resource(new TokenReviewBuilder().withNewSpec().withToken(header.substring(7)).endSpec().build())
                .create();
        var st = review.getStatus();
        if (st == null || !Boolean.TRUE.equals(st.getAuthenticated())) {
            return "the token is not authenticated";
        }
        String want = "system:serviceaccount:" + settings.namespace() + ":" + uninstallServiceAccount;
        if (!want.equals(st.getUser().getUsername())) {
            return st.getUser().getUsername() + " may not tear edgerep down (only " + want + ")";
        }
        return null;
    }

    /** The uninstall itself; see the class comment. */
    Map<String, Object> teardown(Duration timeout) {
        Map<String, CompletableFuture<TeardownResult>> answers = registry.teardown("helm uninstall");
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, Object> nodes = new LinkedHashMap<>();
        List<String> pending = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        answers.forEach((node, f) -> {
            try {
                TeardownResult r = f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                nodes.put(node, r.getOk() ? Map.of("removed", r.getRemovedList()) : Map.of("error", r.getError()));
                if (!r.getOk()) {
                    failed.add(node);
                }
            } catch (TimeoutException e) {
                pending.add(node);
                nodes.put(node, Map.of("error", "no answer within " + timeout.toSeconds() + "s"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (ExecutionException e) {
                failed.add(node);
                nodes.put(node, Map.of("error", String.valueOf(e.getCause())));
            }
        });
        // nothing may add the finalizer back: the controller stops before it is removed
        lifecycle.retire();
        List<String> released = releaseFinalizers();
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("nodes", nodes);
        answer.put("failed", failed);
        answer.put("pending", pending);
        answer.put("finalizersRemoved", released);
        LOG.infof("teardown: %d node(s) answered, %d failed, %d without answer; finalizer removed from %s",
                nodes.size() - pending.size(), failed.size(), pending.size(), released);
        return answer;
    }

    private List<String> releaseFinalizers() {
        String finalizer = operator.getRegisteredController(EdgeReplicaReconciler.NAME)
                .map(c -> c.getConfiguration().getFinalizerName()).orElseThrow();
        List<String> released = new ArrayList<>();
        for (EdgeReplica er : client.resources(EdgeReplica.class).inAnyNamespace().list().getItems()) {
            var meta = er.getMetadata();
            if (meta.getFinalizers() != null && meta.getFinalizers().contains(finalizer)) {
                client.resources(EdgeReplica.class).inNamespace(meta.getNamespace()).withName(meta.getName())
                        .edit(e -> {
                            e.getMetadata().getFinalizers().remove(finalizer);
                            return e;
                        });
                released.add(meta.getNamespace() + "/" + meta.getName());
            }
        }
        return released;
    }

    private static void reply(RoutingContext ctx, int code, Object body) {
        try {
            ctx.response().setStatusCode(code).putHeader("Content-Type", "application/json")
                    .end(JSON.writeValueAsString(body));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            ctx.fail(e);
        }
    }
}
