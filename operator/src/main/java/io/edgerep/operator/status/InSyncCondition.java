package io.edgerep.operator.status;

import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.operator.plan.ResourcePlan;

/**
 * InSync: every replica reported progress within {@code spec.state.maxLag}. A resource without
 * state replication is trivially in sync. A lagging replica is named before one that reported
 * nothing.
 */
final class InSyncCondition {

    /** What a spec that was not accepted says. */
    static final ConditionState NOT_ACCEPTED = ConditionState.fails("NotAccepted", "the spec was not accepted");

    private InSyncCondition() {
    }

    /**
     * @param state the spec's state half, or null
     * @param replicas the state half of the status (null when {@code state} is)
     */
    static ConditionState of(StateSpec state, ResourcePlan plan, StateReplicas replicas) {
        if (state == null) {
            return ConditionState.holds("NoStateReplication", "the resource has no state replication");
        }
        if (plan.originPod() == null) {
            return ConditionState.fails("NoOriginPod", "no origin pod is ready");
        }
        if (plan.replicaPods().isEmpty()) {
            return ConditionState.fails("NoReplicaPods", "no replica pod is ready");
        }
        if (!replicas.behind().isEmpty()) {
            return ConditionState.fails("ReplicaLagging",
                    "beyond maxLag " + state.getMaxLag() + ": " + String.join(", ", replicas.behind()));
        }
        if (!replicas.unknown().isEmpty()) {
            return ConditionState.fails("ProgressUnknown",
                    "no progress reported for replica(s) " + String.join(", ", replicas.unknown()));
        }
        return ConditionState.holds("InSync", plan.replicaPods().size() + " replica(s) within " + state.getMaxLag());
    }
}
