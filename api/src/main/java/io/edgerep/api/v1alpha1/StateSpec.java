// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Black-box state replication from one origin pod to replica pods. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StateSpec {

    @Required
    @JsonPropertyDescription("The origin pod whose file writes are captured; the selector must match exactly one pod.")
    private OriginSpec origin;

    @Required
    @Size(min = 1, max = 8)
    @ValidationRule(value = "self.all(p, p.startsWith('/') && p != '/' && !p.contains('/../') && !p.endsWith('/..') && !p.contains('//'))", message = "paths must be absolute, must not be '/', and must not contain '..' or '//'")
    @JsonPropertyDescription("Absolute directories inside the origin container whose writes are replicated (not '/'); writes elsewhere are ignored.")
    private List<String> paths = new ArrayList<>();

    @Required
    @JsonPropertyDescription("Pods that hold a copy of the origin's state.")
    private ReplicaSelectorSpec replicas;

    @Default("1s")
    @Pattern("^([0-9]+(ms|s|m))+$")
    @JsonPropertyDescription("Largest lag a replica may have and still count as in sync (a duration such as 500ms, 1s, 2m); bounds the InSync condition.")
    private String maxLag = "1s";

    @Default("5m")
    @Pattern("^([0-9]+(ms|s|m|h))+$")
    @JsonPropertyDescription("How often the origin compares each replica's whole tree with its own (metadata first, content only where that differs), to find and repair what capture cannot see: writes by other containers, kubectl cp, changes made on a replica. A duration such as 30s, 5m, 1h.")
    private String verifyInterval = "5m";

    public OriginSpec getOrigin() {
        return origin;
    }

    public void setOrigin(OriginSpec origin) {
        this.origin = origin;
    }

    public List<String> getPaths() {
        return paths;
    }

    public void setPaths(List<String> paths) {
        this.paths = paths;
    }

    public ReplicaSelectorSpec getReplicas() {
        return replicas;
    }

    public void setReplicas(ReplicaSelectorSpec replicas) {
        this.replicas = replicas;
    }

    public String getVerifyInterval() {
        return verifyInterval;
    }

    public void setVerifyInterval(String verifyInterval) {
        this.verifyInterval = verifyInterval;
    }

    public String getMaxLag() {
        return maxLag;
    }

    public void setMaxLag(String maxLag) {
        this.maxLag = maxLag;
    }
}
