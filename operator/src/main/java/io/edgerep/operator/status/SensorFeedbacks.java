// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.api.v1alpha1.SensorFeedback;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.plan.EffectiveQuality;
import io.edgerep.operator.plan.ResourcePlan;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * The sensor feedback of the status: per ingress node its effective quality, and what the sensor last
 * reported in the annotation {@code sensor.edgerep.io/<node>} of the resource, a JSON object
 * {@code {"sentBps": n, "savedBps": n, "time": "RFC 3339"}} (see docs/SENSOR.md). A report older than
 * {@link #REPORT_FRESH}, for a node that is no ingress, or malformed, shows no figures.
 */
public final class SensorFeedbacks {

    /** Annotation prefix of a sensor's report; the node name follows it. */
    public static final String REPORT_PREFIX = "sensor.edgerep.io/";
    /** How old a report may be and still be shown. */
    public static final Duration REPORT_FRESH = Duration.ofSeconds(10);
    /** How far ahead of the operator's clock a report's time may be. */
    static final Duration CLOCK_SKEW = Duration.ofSeconds(2);

    private SensorFeedbacks() {
    }

    /** One entry per ingress node of the plan, in node order. */
    public static List<SensorFeedback> of(EdgeReplica er, StreamSpec stream, ResourcePlan plan, Instant now) {
        Map<String, String> annotations = er.getMetadata().getAnnotations() == null
                ? Map.of()
                : er.getMetadata().getAnnotations();
        List<SensorFeedback> out = new ArrayList<>();
        EffectiveQuality.perIngress(stream, plan).forEach((node, q) -> {
            SensorFeedback f = new SensorFeedback();
            f.setNode(node);
            f.setPort(stream.getIngress().getPort());
            f.setFull(q.full());
            f.setMaxBitrate(q.maxBitrate());
            f.setPolicy(q.policy());
            f.setConsumers(new ArrayList<>(q.consumers()));
            report(f, annotations.get(REPORT_PREFIX + node), now);
            out.add(f);
        });
        return out;
    }

    /** Copies a sensor's report into the entry: its time always, its figures when it is fresh. */
    static void report(SensorFeedback f, String json, Instant now) {
        if (json == null) {
            return;
        }
        try {
            JsonNode r = Serialization.jsonMapper().readTree(json);
            Instant at = Instant.parse(r.path("time").asText());
            JsonNode sent = r.path("sentBps");
            JsonNode saved = r.path("savedBps");
            if (!sent.canConvertToLong() || !saved.canConvertToLong() || sent.asLong() < 0 || saved.asLong() < 0) {
                return;
            }
            f.setSensorReportTime(at.toString());
            Duration age = Duration.between(at, now);
            // a sensor's clock a little ahead of the operator's still counts as fresh
            if (age.compareTo(REPORT_FRESH) <= 0 && age.compareTo(CLOCK_SKEW.negated()) > 0) {
                f.setAccessLinkBitrate(sent.asLong());
                f.setAccessLinkSavedBitrate(saved.asLong());
            }
        } catch (DateTimeParseException | com.fasterxml.jackson.core.JsonProcessingException e) {
            // a malformed report shows nothing; the feedback itself does not depend on it
        }
    }

    /** The part of a status a sensor acts on (not its reports), to tell whether it changed. */
    static List<String> qualityOf(EdgeReplicaStatus status) {
        if (status == null || status.getStream() == null || status.getStream().getSensorFeedback() == null) {
            return List.of();
        }
        return status.getStream().getSensorFeedback().stream()
                .map(f -> f.getNode() + " " + f.getPort() + " " + f.getFull() + " " + f.getMaxBitrate() + " "
                        + f.getPolicy())
                .toList();
    }
}
