// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.registry.NodeView;
import io.edgerep.proto.v1.ItemResult;

/**
 * What the nodes a plan programs report about the resource, sorted once for the conditions that
 * read it (Programmed, Degraded) and the stream half (the datapath in effect). Each list is in the
 * plan's node order.
 *
 * @param disconnected nodes with no agent connected
 * @param pending nodes whose agent has not applied the config carrying the resource's items yet
 * @param failed "node: key reason message" of every item the nodes failed to apply
 * @param degraded "node: key reason message" of every item applied in a fallback mode
 * @param degradedReason the reason of the first degraded item ({@code ItemDegraded} when it gave
 *        none), or null
 * @param loaderDown nodes whose agent reports its loader gone (items failed or degraded as LoaderUnavailable)
 */
public record NodeReports(List<String> disconnected, List<String> pending, List<String> failed,
        List<String> degraded, String degradedReason, List<String> loaderDown) {

    public NodeReports(List<String> disconnected, List<String> pending, List<String> failed, List<String> degraded,
            String degradedReason) {
        this(disconnected, pending, failed, degraded, degradedReason, List.of());
    }

    /** The reason an agent gives its items while its loader is gone. */
    static final String LOADER_UNAVAILABLE = "LoaderUnavailable";

    /** Sorts the reports of the plan's nodes; a node without a view counts as disconnected. */
    public static NodeReports of(ResourcePlan plan, Map<String, NodeView> nodes) {
        List<String> disconnected = new ArrayList<>();
        List<String> pending = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        List<String> degraded = new ArrayList<>();
        String degradedReason = null;
        List<String> loaderDown = new ArrayList<>();
        for (String node : plan.nodes().keySet()) {
            NodeView v = nodes.get(node);
            if (v == null || !v.connected()) {
                disconnected.add(node);
                continue;
            }
            if (!v.applied()) {
                pending.add(node);
                continue;
            }
            for (ItemResult r : v.results()) {
                String line = node + ": " + r.getKey() + " " + r.getReason() + " " + r.getMessage();
                if (LOADER_UNAVAILABLE.equals(r.getReason()) && !loaderDown.contains(node)) {
                    loaderDown.add(node);
                }
                if (!r.getOk()) {
                    failed.add(line);
                } else if (r.getDegraded()) {
                    degraded.add(line);
                    if (degradedReason == null) {
                        degradedReason = r.getReason().isEmpty() ? "ItemDegraded" : r.getReason();
                    }
                }
            }
        }
        return new NodeReports(disconnected, pending, failed, degraded, degradedReason, loaderDown);
    }

    /** Whether a node reported that the XDP datapath fell back to TC. */
    public boolean fellBackToTc() {
        return degraded.stream().anyMatch(d -> d.contains("XdpFellBackToTc"));
    }
}
