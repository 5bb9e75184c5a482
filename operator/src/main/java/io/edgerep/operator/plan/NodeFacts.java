// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.Map;

/**
 * What the operator knows about nodes from their agents: the address other agents dial for state
 * replication. A node without an entry has no connected agent (yet).
 */
public record NodeFacts(Map<String, String> replicationEndpoints) {

    public static final NodeFacts NONE = new NodeFacts(Map.of());

    public String endpoint(String node) {
        return replicationEndpoints.getOrDefault(node, "");
    }
}
