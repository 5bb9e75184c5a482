// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * What the sensor of one ingress stream may send (the effective quality of the consumers that node
 * serves), and what the sensor last reported about its access link. A sensor-side component (
 * {@code edgerep-sensor}) watches this entry and drops at the source what no consumer would receive.
 * <p>
 * The effective quality is {@link #getFull() full} as soon as one served consumer has no bitrate budget
 * (no {@code qoc}, policy {@code None}, or only a {@code minDetectionRate}: a loss a consumer tolerates at
 * the edge must not be added to one taken at the source). Otherwise it is the largest budget among the
 * consumers and the strictest of their drop policies, where {@code DifferentialFirst} is stricter than
 * {@code Uniform}: it promises reference-frame packets, which a uniform drop at the source could take.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SensorFeedback {

    @JsonPropertyDescription("Node the stream enters (where the sensor sends it).")
    private String node;

    @JsonPropertyDescription("UDP port of the stream on that node.")
    private Integer port;

    @JsonPropertyDescription("True when some consumer of this ingress has no bitrate budget: the sensor must send the whole stream.")
    private Boolean full;

    @JsonPropertyDescription("With full false: the most any consumer of this ingress receives, bits per second; the sensor may drop beyond it.")
    private Long maxBitrate;

    @JsonPropertyDescription("With full false: how the sensor drops beyond maxBitrate; DifferentialFirst (disposable, then differential frame packets before any reference packet, the edge's order) when any consumer uses it, else Uniform.")
    private QocSpec.DropPolicy policy;

    @JsonPropertyDescription("Consumers of the spec this ingress copies to, whose needs make the effective quality.")
    private List<String> consumers = new ArrayList<>();

    @JsonPropertyDescription("Bitrate the sensor last reported sending on its access link, bits per second (absent without a report of the last 10 s).")
    private Long accessLinkBitrate;

    @JsonPropertyDescription("Bitrate the sensor last reported dropping at the source, bits per second: what the access link saves (absent without a report of the last 10 s).")
    private Long accessLinkSavedBitrate;

    @JsonPropertyDescription("When the sensor's last report was made (RFC 3339), fresh or not.")
    private String sensorReportTime;

    public String getNode() {
        return node;
    }

    public void setNode(String node) {
        this.node = node;
    }

    public Integer getPort() {
        return port;
    }

    public void setPort(Integer port) {
        this.port = port;
    }

    public Boolean getFull() {
        return full;
    }

    public void setFull(Boolean full) {
        this.full = full;
    }

    public Long getMaxBitrate() {
        return maxBitrate;
    }

    public void setMaxBitrate(Long maxBitrate) {
        this.maxBitrate = maxBitrate;
    }

    public QocSpec.DropPolicy getPolicy() {
        return policy;
    }

    public void setPolicy(QocSpec.DropPolicy policy) {
        this.policy = policy;
    }

    public List<String> getConsumers() {
        return consumers;
    }

    public void setConsumers(List<String> consumers) {
        this.consumers = consumers;
    }

    public Long getAccessLinkBitrate() {
        return accessLinkBitrate;
    }

    public void setAccessLinkBitrate(Long accessLinkBitrate) {
        this.accessLinkBitrate = accessLinkBitrate;
    }

    public Long getAccessLinkSavedBitrate() {
        return accessLinkSavedBitrate;
    }

    public void setAccessLinkSavedBitrate(Long accessLinkSavedBitrate) {
        this.accessLinkSavedBitrate = accessLinkSavedBitrate;
    }

    public String getSensorReportTime() {
        return sensorReportTime;
    }

    public void setSensorReportTime(String sensorReportTime) {
        this.sensorReportTime = sensorReportTime;
    }
}
