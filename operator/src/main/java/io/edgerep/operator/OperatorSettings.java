// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator;

import java.time.Duration;
import java.util.List;

/**
 * Settings of the operator, read from {@code edgerep.*} in application.properties (see
 * {@link io.edgerep.operator.wiring.OperatorBeans}) or built directly by tests.
 *
 * @param namespace namespace the operator runs in (holds the CA Secret and the agent pods)
 * @param caSecret Secret holding the CA (tls.crt, tls.key); created on first start unless provided
 * @param agentAudience audience the agents' projected service-account tokens must carry
 * @param agentServiceAccount service account of the agent pods
 * @param agentPodLabel "key=value" label every agent pod carries
 * @param certLifetime lifetime of a node certificate
 * @param grpcHost address the agent server binds to
 * @param grpcPort port the agent server listens on (0 = any free port)
 * @param serverNames DNS names and IPs in the serving certificate
 * @param finalizerTimeout how long deletion waits for nodes to acknowledge the removal
 */
public record OperatorSettings(String namespace, String caSecret, String agentAudience, String agentServiceAccount,
        String agentPodLabel, Duration certLifetime, String grpcHost, int grpcPort, List<String> serverNames,
        Duration finalizerTimeout) {

    public String agentUsername() {
        return "system:serviceaccount:" + namespace + ":" + agentServiceAccount;
    }
}
