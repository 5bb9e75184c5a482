// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.fabric8.kubernetes.api.model.Pod;

/** Which pods a resource depends on. */
public final class PlanInputs {

    private PlanInputs() {
    }

    /** Whether any selector of the resource matches the pod's labels. */
    public static boolean selects(EdgeReplica er, Pod pod) {
        var labels = pod.getMetadata().getLabels();
        if (er.getSpec() == null) {
            return false;
        }
        if (er.getSpec().getStream() != null) {
            for (ConsumerSpec c : er.getSpec().getStream().getConsumers()) {
                if (Selectors.matches(c.getPodSelector(), labels)) {
                    return true;
                }
            }
        }
        var st = er.getSpec().getState();
        return st != null && (Selectors.matches(st.getOrigin().getPodSelector(), labels)
                || Selectors.matches(st.getReplicas().getPodSelector(), labels));
    }
}
