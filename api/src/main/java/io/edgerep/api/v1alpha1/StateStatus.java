// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Observed state of a state replication. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StateStatus {

    @JsonPropertyDescription("The origin pod whose writes are captured.")
    private String originPod;

    @JsonPropertyDescription("Highest sequence number the origin assigned.")
    private Long lastSeq;

    @JsonPropertyDescription("Per replica progress.")
    private List<ReplicaStatus> replicas = new ArrayList<>();

    public String getOriginPod() {
        return originPod;
    }

    public void setOriginPod(String originPod) {
        this.originPod = originPod;
    }

    public Long getLastSeq() {
        return lastSeq;
    }

    public void setLastSeq(Long lastSeq) {
        this.lastSeq = lastSeq;
    }

    public List<ReplicaStatus> getReplicas() {
        return replicas;
    }

    public void setReplicas(List<ReplicaStatus> replicas) {
        this.replicas = replicas;
    }

    /** Progress of one replica pod. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ReplicaStatus {
        @JsonPropertyDescription("Replica pod name.")
        private String pod;
        @JsonPropertyDescription("Node the replica pod runs on.")
        private String node;
        @JsonPropertyDescription("Highest origin sequence number applied on the replica.")
        private Long appliedSeq;
        @JsonPropertyDescription("Age of the oldest op not yet applied, in milliseconds.")
        private Long lagMillis;
        @JsonPropertyDescription("Resyncs since the replica joined.")
        private Long resyncs;
        @JsonPropertyDescription("Whether the origin confirmed the replica's content identical to its own since the last resync or repair.")
        private Boolean confirmed;
        @JsonPropertyDescription("Paths the origin's periodic verification found different on the replica where no captured write explained it (drift), since the origin's agent started; each was repaired.")
        private Long driftedPaths;

        public Boolean getConfirmed() {
            return confirmed;
        }

        public void setConfirmed(Boolean confirmed) {
            this.confirmed = confirmed;
        }

        public Long getDriftedPaths() {
            return driftedPaths;
        }

        public void setDriftedPaths(Long driftedPaths) {
            this.driftedPaths = driftedPaths;
        }

        public String getPod() {
            return pod;
        }

        public void setPod(String pod) {
            this.pod = pod;
        }

        public String getNode() {
            return node;
        }

        public void setNode(String node) {
            this.node = node;
        }

        public Long getAppliedSeq() {
            return appliedSeq;
        }

        public void setAppliedSeq(Long appliedSeq) {
            this.appliedSeq = appliedSeq;
        }

        public Long getLagMillis() {
            return lagMillis;
        }

        public void setLagMillis(Long lagMillis) {
            this.lagMillis = lagMillis;
        }

        public Long getResyncs() {
            return resyncs;
        }

        public void setResyncs(Long resyncs) {
            this.resyncs = resyncs;
        }
    }
}
