// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Observed state of a stream replication. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamStatus {

    @JsonPropertyDescription("Datapath in effect (may be TC although XDP was asked for).")
    private String datapath;

    @JsonPropertyDescription("The highest detection rate any consumer needs: the quality the sensor must deliver.")
    private Double effectiveQuality;

    @JsonPropertyDescription("Per consumer counters.")
    private List<ConsumerStatus> consumers = new ArrayList<>();

    @JsonPropertyDescription("Per ingress node, the effective quality its sensor may send (full, or a largest budget and a drop policy) and the sensor's last access-link report; edgerep-sensor follows it.")
    private List<SensorFeedback> sensorFeedback = new ArrayList<>();

    public String getDatapath() {
        return datapath;
    }

    public void setDatapath(String datapath) {
        this.datapath = datapath;
    }

    public Double getEffectiveQuality() {
        return effectiveQuality;
    }

    public void setEffectiveQuality(Double effectiveQuality) {
        this.effectiveQuality = effectiveQuality;
    }

    public List<ConsumerStatus> getConsumers() {
        return consumers;
    }

    public void setConsumers(List<ConsumerStatus> consumers) {
        this.consumers = consumers;
    }

    public List<SensorFeedback> getSensorFeedback() {
        return sensorFeedback;
    }

    public void setSensorFeedback(List<SensorFeedback> sensorFeedback) {
        this.sensorFeedback = sensorFeedback;
    }

    /** Counters of one consumer, summed over its pods. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ConsumerStatus {
        @JsonPropertyDescription("Consumer name from the spec.")
        private String name;
        @JsonPropertyDescription("Pods currently receiving the stream.")
        private List<String> pods = new ArrayList<>();
        @JsonPropertyDescription("Packets delivered to the consumer's pods.")
        private Long deliveredPackets;
        @JsonPropertyDescription("Differential and disposable frame packets dropped by the policy.")
        private Long droppedDifferential;
        @JsonPropertyDescription("Reference frame packets dropped by the policy.")
        private Long droppedReference;
        @JsonPropertyDescription("Delivered bitrate, bits per second.")
        private Long bitrate;

        public String getName() {
            return name;
        }

        public void setName(String name) {
            this.name = name;
        }

        public List<String> getPods() {
            return pods;
        }

        public void setPods(List<String> pods) {
            this.pods = pods;
        }

        public Long getDeliveredPackets() {
            return deliveredPackets;
        }

        public void setDeliveredPackets(Long deliveredPackets) {
            this.deliveredPackets = deliveredPackets;
        }

        public Long getDroppedDifferential() {
            return droppedDifferential;
        }

        public void setDroppedDifferential(Long droppedDifferential) {
            this.droppedDifferential = droppedDifferential;
        }

        public Long getDroppedReference() {
            return droppedReference;
        }

        public void setDroppedReference(Long droppedReference) {
            this.droppedReference = droppedReference;
        }

        public Long getBitrate() {
            return bitrate;
        }

        public void setBitrate(Long bitrate) {
            this.bitrate = bitrate;
        }
    }
}
