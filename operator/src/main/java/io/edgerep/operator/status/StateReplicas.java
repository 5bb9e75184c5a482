// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StateStatus;
import io.edgerep.operator.plan.Quantities;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.registry.NodeView;
import io.edgerep.proto.v1.ReplicaDrift;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.wire.ProtoTime;

/**
 * The state half of the status: the origin's last sequence, each replica's progress, and which
 * replicas are behind {@code maxLag} or have reported nothing (what InSync reads).
 *
 * @param status {@code status.state}
 * @param maxLagMs the largest lag of the replicas that reported
 * @param behind "pod (lag ms)" of each replica beyond maxLag
 * @param unknown pods of the replicas whose node reported no progress (or is not connected)
 * @param unconfirmed pods of the replicas that reported progress but are not confirmed identical to the origin
 * @param drifting pods of the replicas in which the origin's verification found drift it is repairing
 */
public record StateReplicas(StateStatus status, long maxLagMs, List<String> behind, List<String> unknown,
        List<String> unconfirmed, List<String> drifting) {

    /** Reads each planned replica's progress from the view of its node. */
    public static StateReplicas of(StateSpec state, ResourcePlan plan, Map<String, NodeView> nodes) {
        long bound = Quantities.millis(state.getMaxLag());
        StateStatus status = new StateStatus();
        status.setOriginPod(plan.originPod());
        NodeView originView = plan.originNode() == null ? null : nodes.get(plan.originNode());
        if (originView != null && originView.origin() != null) {
            status.setLastSeq(originView.origin().getLastSeq());
        }
        long maxLag = 0;
        List<String> behind = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        List<String> unconfirmed = new ArrayList<>();
        List<String> drifting = new ArrayList<>();
        Map<String, ReplicaDrift> drift = new java.util.HashMap<>();
        if (originView != null && originView.origin() != null) {
            originView.origin().getDriftList().forEach(d -> drift.put(d.getPod(), d));
        }
        for (var e : plan.replicaPods().entrySet()) {
            NodeView v = nodes.get(e.getValue());
            ReplicaProgress p = v == null ? null : progressOf(v, e.getKey());
            var rs = new StateStatus.ReplicaStatus();
            rs.setPod(e.getKey());
            rs.setNode(e.getValue());
            if (p == null || !v.connected()) {
                unknown.add(e.getKey());
            } else {
                long lag = effectiveLagMs(p, status.getLastSeq());
                rs.setAppliedSeq(p.getAppliedSeq());
                rs.setLagMillis(lag);
                rs.setResyncs(p.getResyncs());
                rs.setConfirmed(p.getConfirmed());
                if (!p.getConfirmed()) {
                    unconfirmed.add(e.getKey());
                }
                maxLag = Math.max(maxLag, lag);
                if (lag > bound) {
                    behind.add(e.getKey() + " (" + lag + "ms)");
                }
            }
            ReplicaDrift d = drift.get(e.getKey());
            if (d != null) {
                rs.setDriftedPaths(d.getDriftedPaths());
                if (d.getRepairing()) {
                    drifting.add(e.getKey());
                }
            }
            status.getReplicas().add(rs);
        }
        return new StateReplicas(status, maxLag, behind, unknown, unconfirmed, drifting);
    }

    /** Writes this half into the resource's status (the state, the replica count and largest lag). */
    public void writeTo(EdgeReplicaStatus s) {
        s.setState(status);
        s.setReplicaCount(status.getReplicas().size());
        s.setReplicaLag(maxLagMs + "ms");
    }

    private static ReplicaProgress progressOf(NodeView v, String pod) {
        return v.replicas().stream().filter(r -> r.getPod().equals(pod)).findFirst().orElse(null);
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
        return ProtoTime.millis(p.getLag());
    }
}
