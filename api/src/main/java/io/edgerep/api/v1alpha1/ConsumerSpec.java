// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.LabelSelector;

/** A set of pods that receive a copy of the stream. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ConsumerSpec {

    @Required
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    @io.fabric8.generator.annotation.Size(max = 63)
    @JsonPropertyDescription("Name of the consumer, unique within the stream (a DNS label).")
    private String name;

    @Required
    @JsonPropertyDescription("Pods in this namespace that receive the stream; every selected pod gets its own copy.")
    private LabelSelector podSelector;

    @Required
    @Min(1)
    @Max(65535)
    @JsonPropertyDescription("UDP port inside each consumer pod that the copy is sent to.")
    private Integer port;

    @JsonPropertyDescription("Quality-of-Computing need of the consumer; absent means it receives everything.")
    private QocSpec qoc;

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public LabelSelector getPodSelector() {
        return podSelector;
    }

    public void setPodSelector(LabelSelector podSelector) {
        this.podSelector = podSelector;
    }

    public Integer getPort() {
        return port;
    }

    public void setPort(Integer port) {
        this.port = port;
    }

    public QocSpec getQoc() {
        return qoc;
    }

    public void setQoc(QocSpec qoc) {
        this.qoc = qoc;
    }
}
