// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.LabelSelector;

/** Selects the replica pods of a state replication. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ReplicaSelectorSpec {

    @Required
    @JsonPropertyDescription("Selects the replica pods in this namespace; each receives every captured write.")
    private LabelSelector podSelector;

    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    @JsonPropertyDescription("Container of each replica pod whose filesystem is written; defaults to the pod's first container.")
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
