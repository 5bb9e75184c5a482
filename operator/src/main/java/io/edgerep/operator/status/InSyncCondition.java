// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.operator.plan.ResourcePlan;

/**
 * InSync: every replica reported progress within {@code spec.state.maxLag}, and the origin
 * confirmed each one's content identical to its own since its last resync or repair (a replica in
 * which the origin's verification found drift is named as such). A resource without state
 * replication is trivially in sync. A lagging replica is named before one that reported nothing.
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
        if (!replicas.drifting().isEmpty()) {
            return ConditionState.fails("Drift", "the origin found replica(s) " + String.join(", ", replicas.drifting())
                    + " different where no captured write explains it (another container, kubectl cp, a change on "
                    + "the replica) and is repairing them");
        }
        if (!replicas.unconfirmed().isEmpty()) {
            return ConditionState.fails("Unconfirmed", "replica(s) " + String.join(", ", replicas.unconfirmed())
                    + " not yet confirmed identical to the origin since their last resync or repair");
        }
        return ConditionState.holds("InSync", plan.replicaPods().size() + " replica(s) within " + state.getMaxLag());
    }
}
