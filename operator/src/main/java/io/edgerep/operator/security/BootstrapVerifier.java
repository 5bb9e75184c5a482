// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.security;

import java.util.List;
import java.util.Map;

import io.edgerep.operator.OperatorSettings;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Decides whether a bootstrap request may have a certificate for the node it claims: the token must
 * be valid for the agent audience (TokenReview), belong to the agent service account, be bound to
 * a pod that still exists, carries the agent label and runs on the claimed node.
 */
public final class BootstrapVerifier {

    static final String EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name";
    static final String EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid";
    static final String EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name";

    private final KubernetesClient client;
    private final OperatorSettings settings;

    public BootstrapVerifier(KubernetesClient client, OperatorSettings settings) {
        this.client = client;
        this.settings = settings;
    }

    /** Refusal with a reason safe to return to the caller. */
    public static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    /** Returns normally when the claim holds. */
    public void verify(String node, String token) throws Refused {
        if (node == null || node.isEmpty() || token == null || token.isEmpty()) {
            throw new Refused("node_name and token are required");
        }
        TokenReview review = client.resource(new TokenReviewBuilder().withNewSpec().withToken(token)
                .withAudiences(settings.agentAudience()).endSpec().build()).create();
        var st = review.getStatus();
        if (st == null || !Boolean.TRUE.equals(st.getAuthenticated())) {
            throw new Refused(
                    "token not authenticated" + (st != null && st.getError() != null ? ": " + st.getError() : ""));
        }
        if (st.getAudiences() == null || !st.getAudiences().contains(settings.agentAudience())) {
            throw new Refused("token lacks audience " + settings.agentAudience());
        }
        if (!settings.agentUsername().equals(st.getUser().getUsername())) {
            throw new Refused("token does not belong to the agent service account");
        }
        Map<String, List<String>> extra = st.getUser().getExtra() == null ? Map.of() : st.getUser().getExtra();
        String podName = single(extra, EXTRA_POD_NAME);
        String podUid = single(extra, EXTRA_POD_UID);
        if (podName == null || podUid == null) {
            throw new Refused("token is not bound to a pod");
        }
        String tokenNode = single(extra, EXTRA_NODE_NAME);
        if (tokenNode != null && !tokenNode.equals(node)) {
            throw new Refused("token is bound to another node");
        }
        Pod pod = client.pods().inNamespace(settings.namespace()).withName(podName).get();
        if (pod == null || !podUid.equals(pod.getMetadata().getUid())) {
            throw new Refused("the token's pod no longer exists");
        }
        String[] label = settings.agentPodLabel().split("=", 2);
        var labels = pod.getMetadata().getLabels() == null ? Map.<String, String>of() : pod.getMetadata().getLabels();
        if (label.length != 2 || !label[1].equals(labels.get(label[0]))) {
            throw new Refused("the token's pod is not an agent pod");
        }
        if (pod.getSpec() == null || !node.equals(pod.getSpec().getNodeName())) {
            throw new Refused("the token's pod does not run on node " + node);
        }
    }

    private static String single(Map<String, List<String>> extra, String key) {
        List<String> v = extra.get(key);
        return v == null || v.isEmpty() ? null : v.get(0);
    }
}
