// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaDrift;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.proto.v1.StreamConfig;
import io.edgerep.wire.ProtoTime;

/**
 * The per-node view {@code kubectl edgerep} shows, from what the agents stream to the operator: each node's agent and
 * loader, the config it holds against the one it should, its items' results and its latest counters. Served by the
 * operator over HTTP (read through the API server's service proxy), never written to etcd.
 */
public final class NodeStates {
    /** Version of this view's JSON; a plugin that finds another says so. */
    public static final String API_VERSION = "edgerep.io/nodes/v1";

    private NodeStates() {
    }

    /** What the registry holds of one node at one moment. */
    public record Node(String name, Hello hello, boolean connected, long appliedVersion, NodeConfig desired,
            NodeStatus status, Counters counters) {
    }

    /** The whole view as plain maps and lists (JSON as is). */
    public static Map<String, Object> view(List<Node> nodes) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("apiVersion", API_VERSION);
        List<Object> list = new ArrayList<>();
        nodes.forEach(n -> list.add(node(n)));
        out.put("nodes", list);
        return out;
    }

    static Map<String, Object> node(Node n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", n.name());
        m.put("connected", n.connected());
        m.put("agentVersion", n.hello().getAgentVersion());
        m.put("loaderVersion", n.hello().getLoaderVersion());
        m.put("kernel", n.hello().getCapabilities().getKernelRelease());
        m.put("appliedVersion", n.appliedVersion());
        m.put("desiredVersion", n.desired() == null ? 0 : n.desired().getVersion());
        m.put("countersAtMillis", ProtoTime.epochMillis(n.counters().getReadAt()));
        List<Object> items = new ArrayList<>();
        for (ItemResult r : n.status().getItemsList()) {
            Map<String, Object> i = new LinkedHashMap<>();
            i.put("kind", r.getKind().name().replace("ITEM_KIND_", "").toLowerCase(java.util.Locale.ROOT));
            i.put("key", r.getKey());
            i.put("ok", r.getOk());
            i.put("degraded", r.getDegraded());
            i.put("reason", r.getReason());
            i.put("message", r.getMessage());
            items.add(i);
        }
        m.put("items", items);
        Map<String, Long> budgets = budgets(n.desired());
        List<Object> consumers = new ArrayList<>();
        for (ConsumerCounters c : n.counters().getConsumersList()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("edgeReplica", c.getStreamKey());
            int slash = c.getConsumerKey().indexOf('/');
            x.put("consumer", slash < 0 ? c.getConsumerKey() : c.getConsumerKey().substring(0, slash));
            x.put("pod", slash < 0 ? "" : c.getConsumerKey().substring(slash + 1));
            x.put("deliveredPackets", c.getDeliveredPackets());
            x.put("deliveredBytes", c.getDeliveredBytes());
            x.put("droppedReference", c.getDroppedReference());
            x.put("droppedDifferential", c.getDroppedDifferential());
            x.put("droppedDisposable", c.getDroppedDisposable());
            x.put("bitrateBps", c.getBitrateBps());
            x.put("budgetBps", budgets.getOrDefault(c.getStreamKey() + "/" + c.getConsumerKey(), 0L));
            consumers.add(x);
        }
        m.put("consumers", consumers);
        List<Object> replicas = new ArrayList<>();
        for (ReplicaProgress r : n.counters().getReplicasList()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("edgeReplica", r.getKey());
            x.put("pod", r.getPod());
            x.put("appliedSeq", r.getAppliedSeq());
            x.put("lagMillis", ProtoTime.millis(r.getLag()));
            x.put("resyncs", r.getResyncs());
            x.put("refusedOps", r.getRefusedOps());
            x.put("confirmed", r.getConfirmed());
            replicas.add(x);
        }
        m.put("replicas", replicas);
        List<Object> origins = new ArrayList<>();
        for (OriginProgress o : n.counters().getOriginsList()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("edgeReplica", o.getKey());
            x.put("lastSeq", o.getLastSeq());
            x.put("lostRecords", o.getLostRecords());
            List<Object> drift = new ArrayList<>();
            for (ReplicaDrift d : o.getDriftList()) {
                drift.add(Map.of("pod", d.getPod(), "driftedPaths", d.getDriftedPaths(), "repairing",
                        d.getRepairing()));
            }
            x.put("drift", drift);
            origins.add(x);
        }
        m.put("origins", origins);
        return m;
    }

    /** Bits per second each budgeted consumer of the desired config may take, by "streamKey/consumerKey". */
    static Map<String, Long> budgets(NodeConfig desired) {
        Map<String, Long> out = new LinkedHashMap<>();
        if (desired == null) {
            return out;
        }
        for (StreamConfig s : desired.getStreamsList()) {
            s.getConsumersList().stream().filter(c -> c.getPolicy().getRateBytesPerSec() > 0).forEach(
                    c -> out.put(s.getKey() + "/" + c.getKey(), c.getPolicy().getRateBytesPerSec() * 8));
        }
        return out;
    }
}
