// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.operator.Fixtures.sel;
import static io.edgerep.operator.status.StatusFixtures.statePlan;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StateStatus;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.plan.ResourcePlan;

/** Plan × replica progress → InSync; each row's cause wins over the ones of the rows below it. */
class InSyncConditionTest {

    static final StateSpec STATE = Fixtures.state("v", "x", sel("role", "o"), sel("role", "e"), "/d").getSpec()
            .getState();

    static StateReplicas replicas(List<String> behind, List<String> unknown) {
        return replicas(behind, unknown, List.of(), List.of());
    }

    static StateReplicas replicas(List<String> behind, List<String> unknown, List<String> unconfirmed,
            List<String> drifting) {
        return new StateReplicas(new StateStatus(), 0, behind, unknown, unconfirmed, drifting);
    }

    static Stream<Arguments> table() {
        var both = statePlan("o", "n1", Map.of("e1", "n2", "e2", "n3"));
        var lagging = List.of("e1 (2000ms)");
        var silent = List.of("e2");
        List<String> none = List.of();
        return Stream.of(
                Arguments.of("no origin pod", statePlan(null, null, Map.of("e1", "n2")), replicas(lagging, silent),
                        ConditionState.fails("NoOriginPod", "no origin pod is ready")),
                Arguments.of("no replica pod", statePlan("o", "n1", Map.of()), replicas(none, none),
                        ConditionState.fails("NoReplicaPods", "no replica pod is ready")),
                Arguments.of("lagging beats silent", both, replicas(lagging, silent),
                        ConditionState.fails("ReplicaLagging", "beyond maxLag 1s: e1 (2000ms)")),
                Arguments.of("silent beats drift", both, replicas(none, silent, silent, List.of("e1")),
                        ConditionState.fails("ProgressUnknown", "no progress reported for replica(s) e2")),
                Arguments.of("drift beats unconfirmed", both, replicas(none, none, List.of("e1", "e2"), List.of("e1")),
                        ConditionState.fails("Drift", "the origin found replica(s) e1 different where no captured "
                                + "write explains it (another container, kubectl cp, a change on the replica) and is "
                                + "repairing them")),
                Arguments.of("unconfirmed", both, replicas(none, none, List.of("e2"), none),
                        ConditionState.fails("Unconfirmed", "replica(s) e2 not yet confirmed identical to the origin "
                                + "since their last resync or repair")),
                Arguments.of("every replica within maxLag", both, replicas(none, none),
                        ConditionState.holds("InSync", "2 replica(s) within 1s")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void table(String name, ResourcePlan plan, StateReplicas replicas, ConditionState expected) {
        assertThat(InSyncCondition.of(STATE, plan, replicas)).isEqualTo(expected);
    }

    @Test
    void withoutStateReplicationThereIsNothingToLag() {
        assertThat(InSyncCondition.of(null, statePlan(null, null, Map.of()), null))
                .isEqualTo(ConditionState.holds("NoStateReplication", "the resource has no state replication"));
    }
}
