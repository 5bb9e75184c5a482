// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.operator.plan.SemanticValidator.INVALID_MAX_LAG;
import static io.edgerep.operator.plan.SemanticValidator.ORIGIN_AMBIGUOUS;
import static io.edgerep.operator.plan.SemanticValidator.REPLICA_IS_ORIGIN;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

import io.edgerep.api.v1alpha1.StateSpec;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * The state half of {@link SemanticValidator}: the origin and replica selectors, maxLag, an origin
 * selector matching more than one live pod, and a replica selector that also selects the origin.
 */
final class StateValidator {

    private StateValidator() {
    }

    /**
     * @param pods the pods of the resource's namespace
     * @return the rejection, or empty when the state half is acceptable
     */
    static Optional<Verdict> validate(StateSpec state, Collection<Pod> pods) {
        Optional<Verdict> v = SemanticValidator.selector("spec.state.origin.podSelector",
                state.getOrigin().getPodSelector());
        if (v.isEmpty()) {
            v = SemanticValidator.selector("spec.state.replicas.podSelector", state.getReplicas().getPodSelector());
        }
        return v.or(() -> maxLag(state)).or(() -> origin(state, pods));
    }

    private static Optional<Verdict> maxLag(StateSpec state) {
        try {
            if (Quantities.millis(state.getMaxLag()) <= 0) {
                return Optional.of(Verdict.rejected(INVALID_MAX_LAG, "spec.state.maxLag must be longer than zero"));
            }
        } catch (IllegalArgumentException e) {
            return Optional.of(Verdict.rejected(INVALID_MAX_LAG, "spec.state.maxLag: " + e.getMessage()));
        }
        return Optional.empty();
    }

    /** At most one live pod is the origin, and the replica selector does not select it. */
    private static Optional<Verdict> origin(StateSpec state, Collection<Pod> pods) {
        List<String> origins = pods.stream().filter(PodFacts::alive)
                .filter(p -> Selectors.matches(state.getOrigin().getPodSelector(), p.getMetadata().getLabels()))
                .map(p -> p.getMetadata().getName()).sorted().toList();
        if (origins.size() > 1) {
            return Optional.of(Verdict.rejected(ORIGIN_AMBIGUOUS, "the origin selector matches " + origins.size()
                    + " pods (" + String.join(", ", origins.subList(0, Math.min(5, origins.size())))
                    + "); it must match exactly one"));
        }
        if (origins.size() == 1) {
            var originPod = pods.stream().filter(p -> p.getMetadata().getName().equals(origins.get(0))).findFirst();
            if (originPod.isPresent() && Selectors.matches(state.getReplicas().getPodSelector(),
                    originPod.get().getMetadata().getLabels())) {
                return Optional.of(Verdict.rejected(REPLICA_IS_ORIGIN,
                        "the replica selector also selects the origin pod " + origins.get(0)));
            }
        }
        return Optional.empty();
    }
}
