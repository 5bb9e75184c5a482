// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.kubernetes.api.model.Condition;

/** Observed state of an EdgeReplica, written only by the operator. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EdgeReplicaStatus {

    /** Condition types, in the order they are reported. */
    public static final String ACCEPTED = "Accepted";
    public static final String PROGRAMMED = "Programmed";
    public static final String IN_SYNC = "InSync";
    public static final String READY = "Ready";
    public static final String DEGRADED = "Degraded";

    @JsonPropertyDescription("Generation of the spec this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription("Accepted, Programmed, InSync, Ready and Degraded, with reasons.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Number of consumer pods the stream is copied to.")
    private Integer consumerCount;

    @JsonPropertyDescription("Number of replica pods of the state replication.")
    private Integer replicaCount;

    @JsonPropertyDescription("Largest replica lag, as a duration.")
    private String replicaLag;

    @JsonPropertyDescription("Stream replication: per consumer delivered and dropped packets.")
    private StreamStatus stream;

    @JsonPropertyDescription("State replication: origin sequence and per replica progress.")
    private StateStatus state;

    public Long getObservedGeneration() {
        return observedGeneration;
    }

    public void setObservedGeneration(Long observedGeneration) {
        this.observedGeneration = observedGeneration;
    }

    public List<Condition> getConditions() {
        return conditions;
    }

    public void setConditions(List<Condition> conditions) {
        this.conditions = conditions;
    }

    public Integer getConsumerCount() {
        return consumerCount;
    }

    public void setConsumerCount(Integer consumerCount) {
        this.consumerCount = consumerCount;
    }

    public Integer getReplicaCount() {
        return replicaCount;
    }

    public void setReplicaCount(Integer replicaCount) {
        this.replicaCount = replicaCount;
    }

    public String getReplicaLag() {
        return replicaLag;
    }

    public void setReplicaLag(String replicaLag) {
        this.replicaLag = replicaLag;
    }

    public StreamStatus getStream() {
        return stream;
    }

    public void setStream(StreamStatus stream) {
        this.stream = stream;
    }

    public StateStatus getState() {
        return state;
    }

    public void setState(StateStatus state) {
        this.state = state;
    }
}
