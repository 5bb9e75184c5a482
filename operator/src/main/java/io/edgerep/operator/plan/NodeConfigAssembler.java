// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.Comparator;
import java.util.Map;
import java.util.SortedMap;

import io.edgerep.proto.v1.NodeConfig;

/** Joins the items every EdgeReplica has on one node into that node's NodeConfig, versioned. */
public final class NodeConfigAssembler {

    private NodeConfigAssembler() {
    }

    /**
     * The node's config from the items of each resource (keyed by resource key). The version is the
     * previous one when nothing changed, else previous + 1 (at least {@code floor} + 1, so a version
     * an agent already applied is never reused for other content).
     */
    public static NodeConfig assemble(String node, SortedMap<String, NodeItems> itemsByKey, NodeConfig previous,
            long floor) {
        NodeConfig.Builder b = NodeConfig.newBuilder().setNodeName(node);
        for (Map.Entry<String, NodeItems> e : itemsByKey.entrySet()) {
            b.addAllStreams(e.getValue().streams());
            b.addAllStateOrigins(e.getValue().origins());
            b.addAllStateReplicas(e.getValue().replicas());
        }
        NodeConfig content = b.build();
        long prev = previous == null ? 0 : previous.getVersion();
        if (previous != null && sameContent(previous, content)) {
            return previous;
        }
        return content.toBuilder().setVersion(Math.max(prev, floor) + 1).build();
    }

    public static boolean sameContent(NodeConfig a, NodeConfig b) {
        return a.toBuilder().setVersion(0).build().equals(b.toBuilder().setVersion(0).build());
    }

    static final Comparator<String> KEYS = Comparator.naturalOrder();
}
