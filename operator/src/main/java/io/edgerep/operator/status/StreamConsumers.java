// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;

import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.api.v1alpha1.StreamStatus;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.registry.NodeView;
import io.edgerep.proto.v1.ConsumerCounters;

/**
 * The stream half of the status: the datapath in effect, the quality the sensor must deliver, and
 * per consumer of the spec its pods and its counters summed over every pod on every node.
 */
final class StreamConsumers {

    /** Indexes into a consumer's sums. */
    private static final int DELIVERED = 0;
    private static final int DROPPED_DIFFERENTIAL = 1;
    private static final int DROPPED_REFERENCE = 2;
    private static final int BITRATE = 3;

    private StreamConsumers() {
    }

    static StreamStatus of(StreamSpec stream, ResourcePlan plan, Map<String, NodeView> nodes, NodeReports reports) {
        StreamStatus st = new StreamStatus();
        st.setEffectiveQuality(plan.effectiveQuality());
        st.setDatapath(reports.fellBackToTc() ? "TC" : stream.getDatapath().name());
        Map<String, long[]> sums = sums(nodes);
        for (var e : plan.consumers().entrySet()) {
            var c = new StreamStatus.ConsumerStatus();
            c.setName(e.getKey());
            c.setPods(new ArrayList<>(e.getValue()));
            long[] a = sums.getOrDefault(e.getKey(), new long[4]);
            c.setDeliveredPackets(a[DELIVERED]);
            c.setDroppedDifferential(a[DROPPED_DIFFERENTIAL]);
            c.setDroppedReference(a[DROPPED_REFERENCE]);
            c.setBitrate(a[BITRATE]);
            st.getConsumers().add(c);
        }
        return st;
    }

    /** Per consumer name (the part of "name/pod" before the slash), the counters of its pods added up. */
    static Map<String, long[]> sums(Map<String, NodeView> nodes) {
        Map<String, long[]> sums = new TreeMap<>();
        for (NodeView v : nodes.values()) {
            for (ConsumerCounters c : v.consumers()) {
                long[] a = sums.computeIfAbsent(consumerName(c.getConsumerKey()), k -> new long[4]);
                a[DELIVERED] += c.getDeliveredPackets();
                a[DROPPED_DIFFERENTIAL] += c.getDroppedDifferential() + c.getDroppedDisposable();
                a[DROPPED_REFERENCE] += c.getDroppedReference();
                a[BITRATE] += c.getBitrateBps();
            }
        }
        return sums;
    }

    private static String consumerName(String consumerKey) {
        int slash = consumerKey.indexOf('/');
        return slash < 0 ? consumerKey : consumerKey.substring(0, slash);
    }
}
