// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.ACCEPTED;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.DEGRADED;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.IN_SYNC;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.PROGRAMMED;
import static io.edgerep.api.v1alpha1.EdgeReplicaStatus.READY;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.plan.Verdict;
import io.edgerep.operator.registry.NodeView;
import io.fabric8.kubernetes.api.model.Condition;

/**
 * Builds a resource's status step by step: each condition is set from what its own function
 * decided, the status halves are applied, and {@link #build()} reports the conditions in their
 * fixed order, each keeping its last transition time unless its status flipped.
 * {@link #aggregate} composes the steps; it is pure (verdict + plan + node reports → status).
 */
public final class StatusAggregator {

    /** The conditions every status reports, in this order. */
    static final List<String> ORDER = List.of(ACCEPTED, PROGRAMMED, IN_SYNC, READY, DEGRADED);

    private final List<Condition> previous;
    private final Long generation;
    private final Instant now;
    private final Map<String, Condition> conditions = new HashMap<>();
    private final EdgeReplicaStatus status = new EdgeReplicaStatus();

    /** A status for the resource's current generation, based on the conditions it reports now. */
    public StatusAggregator(EdgeReplica er, Instant now) {
        this.previous = er.getStatus() == null ? List.of() : er.getStatus().getConditions();
        this.generation = er.getMetadata().getGeneration();
        this.now = now;
    }

    /** Sets one condition (replacing an earlier setting of the same type). */
    public StatusAggregator condition(String type, ConditionState state) {
        if (!ORDER.contains(type)) {
            throw new IllegalArgumentException("not a condition of EdgeReplica: " + type);
        }
        conditions.put(type, Conditions.next(previous, type, state.status(), state.reason(), state.message(),
                generation, now));
        return this;
    }

    /** Changes the fields that are not conditions (the stream and state halves). */
    public StatusAggregator apply(Consumer<EdgeReplicaStatus> change) {
        change.accept(status);
        return this;
    }

    /** The status: the observed generation and every condition, in {@link #ORDER}. */
    public EdgeReplicaStatus build() {
        List<Condition> out = new ArrayList<>();
        for (String type : ORDER) {
            Condition c = conditions.get(type);
            if (c == null) {
                throw new IllegalStateException("condition " + type + " was not set");
            }
            out.add(c);
        }
        status.setObservedGeneration(generation);
        status.setConditions(out);
        return status;
    }

    /** The status of a resource from its verdict, its plan and what the involved nodes report. */
    public static EdgeReplicaStatus aggregate(EdgeReplica er, Verdict verdict, ResourcePlan plan,
            Map<String, NodeView> nodes, Instant now) {
        return aggregate(er, verdict, plan, nodes, now, node -> "");
    }

    /** As above, with {@code absence} saying why a node has no agent connected (see {@link AgentPods}). */
    public static EdgeReplicaStatus aggregate(EdgeReplica er, Verdict verdict, ResourcePlan plan,
            Map<String, NodeView> nodes, Instant now, Function<String, String> absence) {
        StatusAggregator s = new StatusAggregator(er, now).condition(ACCEPTED, AcceptedCondition.of(verdict));
        if (!verdict.accepted()) {
            return s.condition(PROGRAMMED, ProgrammedCondition.NOT_ACCEPTED)
                    .condition(IN_SYNC, InSyncCondition.NOT_ACCEPTED)
                    .condition(READY, ReadyCondition.notAccepted(verdict))
                    .condition(DEGRADED, DegradedCondition.NOT_ACCEPTED).build();
        }
        NodeReports reports = NodeReports.of(plan, nodes);
        StateSpec stateSpec = er.getSpec().getState();
        StateReplicas replicas = stateSpec == null ? null : StateReplicas.of(stateSpec, plan, nodes);
        ConditionState programmed = ProgrammedCondition.of(plan, reports, er.getMetadata().getGeneration(),
                absence);
        ConditionState inSync = InSyncCondition.of(stateSpec, plan, replicas);
        s.condition(PROGRAMMED, programmed).condition(IN_SYNC, inSync)
                .condition(READY, ReadyCondition.of(programmed, inSync))
                .condition(DEGRADED, DegradedCondition.of(reports, plan));

        StreamSpec streamSpec = er.getSpec().getStream();
        if (streamSpec != null) {
            s.apply(st -> {
                st.setStream(StreamConsumers.of(streamSpec, plan, nodes, reports));
                st.getStream().setSensorFeedback(SensorFeedbacks.of(er, streamSpec, plan, now));
                st.setConsumerCount(plan.consumerPodCount());
            });
        }
        if (replicas != null) {
            s.apply(replicas::writeTo);
        }
        return s.build();
    }
}
