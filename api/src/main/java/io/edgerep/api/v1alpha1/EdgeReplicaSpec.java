// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.ValidationRule;

/** Desired state of an EdgeReplica: at least one of {@code stream} and {@code state}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.stream) || has(self.state)", message = "at least one of spec.stream and spec.state must be set")
public class EdgeReplicaSpec {

    @JsonPropertyDescription("Content-aware replication of a sensor stream (UDP, MPEG-TS) entering a node, copied in the kernel to consumer pods.")
    private StreamSpec stream;

    @JsonPropertyDescription("Black-box state replication: file writes of the origin pod are captured in the kernel and replayed on replica pods.")
    private StateSpec state;

    public StreamSpec getStream() {
        return stream;
    }

    public void setStream(StreamSpec stream) {
        this.stream = stream;
    }

    public StateSpec getState() {
        return state;
    }

    public void setState(StateSpec state) {
        this.state = state;
    }
}
