// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.LabelSelector;

/** Selects the origin pod and the container whose writes are captured. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class OriginSpec {

    @Required
    @JsonPropertyDescription("Selects the origin pod in this namespace; must match exactly one pod.")
    private LabelSelector podSelector;

    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    @JsonPropertyDescription("Container of the origin pod whose writes are captured; defaults to the pod's first container.")
    private String container;

    public LabelSelector getPodSelector() {
        return podSelector;
    }

    public void setPodSelector(LabelSelector podSelector) {
        this.podSelector = podSelector;
    }

    public String getContainer() {
        return container;
    }

    public void setContainer(String container) {
        this.container = container;
    }
}
