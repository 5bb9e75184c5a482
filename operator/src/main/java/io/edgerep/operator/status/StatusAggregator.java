package io.edgerep.operator.status;

import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.ACCEPTED;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.DEGRADED;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.IN_SYNC;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.PROGRAMMED;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.READY;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.api.v1alpha1.StateStatus;
import io.edgerep.api.v1alpha1.StreamStatus;
import io.edgerep.operator.plan.Quantities;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.plan.Verdict;
import io.edgerep.operator.registry.NodeView;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.ReplicaProgress;
import io.fabric8.kubernetes.api.model.Condition;

/** Pure: verdict + plan + what the nodes report → the resource's status. */
public final class StatusAggregator {

    private StatusAggregator() {
    }

    public static EdgeReplicaStatus aggregate(EdgeReplica er, Verdict verdict, ResourcePlan plan,
            Map<String, NodeView> nodes, Instant now) {
        List<Condition> prev = er.getStatus() == null ? List.of() : er.getStatus().getConditions();
        Long gen = er.getMetadata().getGeneration();
        EdgeReplicaStatus s = new EdgeReplicaStatus();
        s.setObservedGeneration(gen);
        List<Condition> cs = new ArrayList<>();
        cs.add(Conditions.next(prev, ACCEPTED, verdict.accepted(), verdict.reason(), verdict.message(), gen, now));
        if (!verdict.accepted()) {
            cs.add(Conditions.next(prev, PROGRAMMED, false, "NotAccepted", "the spec was not accepted", gen, now));
            cs.add(Conditions.next(prev, IN_SYNC, false, "NotAccepted", "the spec was not accepted", gen, now));
            cs.add(Conditions.next(prev, READY, false, "NotAccepted", verdict.message(), gen, now));
            cs.add(Conditions.next(prev, DEGRADED, false, "NotAccepted", "nothing is programmed", gen, now));
            s.setConditions(cs);
            return s;
        }

        // Programmed: every involved node applied the version carrying this generation, without error
        List<String> disconnected = new ArrayList<>();
        List<String> pending = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        List<String> degraded = new ArrayList<>();
        String degradedReason = null;
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
                if (!r.getOk()) {
                    failed.add(node + ": " + r.getKey() + " " + r.getReason() + " " + r.getMessage());
                } else if (r.getDegraded()) {
                    degraded.add(node + ": " + r.getKey() + " " + r.getReason() + " " + r.getMessage());
                    if (degradedReason == null) {
                        degradedReason = r.getReason().isEmpty() ? "ItemDegraded" : r.getReason();
                    }
                }
            }
        }
        boolean programmed;
        String pReason;
        String pMessage;
        if (plan.nodes().isEmpty()) {
            programmed = false;
            pReason = "WaitingForPods";
            pMessage = plan.waiting().isEmpty() ? "no node is involved yet" : plan.waiting().get(0).message();
        } else if (!disconnected.isEmpty()) {
            programmed = false;
            pReason = "AgentUnavailable";
            pMessage = "no agent connected on node(s) " + String.join(", ", disconnected);
        } else if (!failed.isEmpty()) {
            programmed = false;
            pReason = "ApplyFailed";
            pMessage = String.join("; ", failed);
        } else if (!pending.isEmpty()) {
            programmed = false;
            pReason = "Applying";
            pMessage = "waiting for node(s) " + String.join(", ", pending) + " to apply generation " + gen;
        } else {
            programmed = true;
            pReason = "Programmed";
            pMessage = plan.nodes().size() + " node(s) applied generation " + gen;
        }
        cs.add(Conditions.next(prev, PROGRAMMED, programmed, pReason, pMessage, gen, now));

        // InSync: every replica within maxLag
        boolean inSync = true;
        String sReason = "NoStateReplication";
        String sMessage = "the resource has no state replication";
        long maxLag = 0;
        StateStatus state = null;
        if (er.getSpec().getState() != null) {
            long bound = Quantities.millis(er.getSpec().getState().getMaxLag());
            state = new StateStatus();
            state.setOriginPod(plan.originPod());
            NodeView originView = plan.originNode() == null ? null : nodes.get(plan.originNode());
            if (originView != null && originView.origin() != null) {
                state.setLastSeq(originView.origin().getLastSeq());
            }
            List<String> behind = new ArrayList<>();
            List<String> unknown = new ArrayList<>();
            for (var e : plan.replicaPods().entrySet()) {
                NodeView v = nodes.get(e.getValue());
                ReplicaProgress p = v == null
                        ? null
                        : v.replicas().stream()
                                .filter(r -> r.getPod().equals(e.getKey())).findFirst().orElse(null);
                var rs = new StateStatus.ReplicaStatus();
                rs.setPod(e.getKey());
                rs.setNode(e.getValue());
                if (p == null || !v.connected()) {
                    unknown.add(e.getKey());
                } else {
                    long lag = effectiveLagMs(p, state.getLastSeq());
                    rs.setAppliedSeq(p.getAppliedSeq());
                    rs.setLagMillis(lag);
                    rs.setResyncs(p.getResyncs());
                    maxLag = Math.max(maxLag, lag);
                    if (lag > bound) {
                        behind.add(e.getKey() + " (" + lag + "ms)");
                    }
                }
                state.getReplicas().add(rs);
            }
            if (plan.originPod() == null) {
                inSync = false;
                sReason = "NoOriginPod";
                sMessage = "no origin pod is ready";
            } else if (plan.replicaPods().isEmpty()) {
                inSync = false;
                sReason = "NoReplicaPods";
                sMessage = "no replica pod is ready";
            } else if (!behind.isEmpty()) {
                inSync = false;
                sReason = "ReplicaLagging";
                sMessage = "beyond maxLag " + er.getSpec().getState().getMaxLag() + ": " + String.join(", ", behind);
            } else if (!unknown.isEmpty()) {
                inSync = false;
                sReason = "ProgressUnknown";
                sMessage = "no progress reported for replica(s) " + String.join(", ", unknown);
            } else {
                sReason = "InSync";
                sMessage = plan.replicaPods().size() + " replica(s) within " + er.getSpec().getState().getMaxLag();
            }
            s.setReplicaCount(plan.replicaPods().size());
            s.setReplicaLag(maxLag + "ms");
        }
        cs.add(Conditions.next(prev, IN_SYNC, inSync, sReason, sMessage, gen, now));

        boolean ready = programmed && inSync;
        cs.add(Conditions.next(prev, READY, ready, ready ? "Ready" : (programmed ? sReason : pReason),
                ready ? "accepted, programmed and in sync" : (programmed ? sMessage : pMessage), gen, now));

        List<String> why = new ArrayList<>();
        String dReason = null;
        if (!disconnected.isEmpty()) {
            why.add("no agent on node(s) " + String.join(", ", disconnected));
            dReason = "NodeUnavailable";
        }
        if (!degraded.isEmpty()) {
            why.addAll(degraded);
            dReason = dReason == null ? degradedReason : dReason;
        }
        for (ResourcePlan.Problem p : plan.waiting()) {
            why.add(p.message());
            dReason = dReason == null ? p.reason() : dReason;
        }
        cs.add(Conditions.next(prev, DEGRADED, !why.isEmpty(), why.isEmpty() ? "AsExpected" : dReason,
                why.isEmpty() ? "no fallback, every node and pod present" : String.join("; ", why), gen, now));
        s.setConditions(cs);

        if (er.getSpec().getStream() != null) {
            StreamStatus st = new StreamStatus();
            st.setEffectiveQuality(plan.effectiveQuality());
            st.setDatapath(degraded.stream().anyMatch(d -> d.contains("XdpFellBackToTc"))
                    ? "TC"
                    : er.getSpec().getStream().getDatapath().name());
            Map<String, long[]> sums = new TreeMap<>();
            for (NodeView v : nodes.values()) {
                for (ConsumerCounters c : v.consumers()) {
                    String name = c.getConsumerKey().contains("/")
                            ? c.getConsumerKey().substring(0, c.getConsumerKey().indexOf('/'))
                            : c.getConsumerKey();
                    long[] a = sums.computeIfAbsent(name, k -> new long[4]);
                    a[0] += c.getDeliveredPackets();
                    a[1] += c.getDroppedDifferential() + c.getDroppedDisposable();
                    a[2] += c.getDroppedReference();
                    a[3] += c.getBitrateBps();
                }
            }
            for (var e : plan.consumers().entrySet()) {
                var c = new StreamStatus.ConsumerStatus();
                c.setName(e.getKey());
                c.setPods(new ArrayList<>(e.getValue()));
                long[] a = sums.getOrDefault(e.getKey(), new long[4]);
                c.setDeliveredPackets(a[0]);
                c.setDroppedDifferential(a[1]);
                c.setDroppedReference(a[2]);
                c.setBitrate(a[3]);
                st.getConsumers().add(c);
            }
            s.setStream(st);
            s.setConsumerCount(plan.consumerPodCount());
        }
        s.setState(state);
        return s;
    }

    /**
     * A replica's lag as the resource reports it. The agent's figure is how stale the last op it
     * applied was; once the replica has applied every op the origin has assigned, nothing is
     * behind and the lag is 0, however late that last op arrived.
     */
    static long effectiveLagMs(ReplicaProgress p, Long originLastSeq) {
        if (originLastSeq != null && p.getAppliedSeq() >= originLastSeq) {
            return 0;
        }
        return p.getLagMs();
    }
}
