// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.QocSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.StreamConfig;

/**
 * The most a sensor must send for the consumers one ingress serves (the paper's effective quality):
 * everything when any consumer has no bitrate budget, else the largest budget with the strictest drop
 * policy among them. A consumer is unbudgeted when it has no qoc, policy None, or only a
 * minDetectionRate (its loss is taken at the edge; a loss at the source would come on top of it).
 * DifferentialFirst is stricter than Uniform: it keeps reference packets that Uniform may drop, so a
 * sensor dropping DifferentialFirst at the largest budget drops nothing a DifferentialFirst consumer
 * with that budget would receive, and a Uniform consumer still gets its whole budget.
 *
 * @param full the sensor must send the whole stream
 * @param maxBitrate with {@code full} false, the largest budget in bits per second; else null
 * @param policy with {@code full} false, DifferentialFirst or Uniform; else null
 * @param consumers the consumers considered, in spec order
 */
public record EffectiveQuality(boolean full, Long maxBitrate, QocSpec.DropPolicy policy, List<String> consumers) {

    /** The effective quality of these consumers; full when there are none (nothing is known to need less). */
    public static EffectiveQuality of(Collection<ConsumerSpec> consumers) {
        List<String> names = consumers.stream().map(ConsumerSpec::getName).toList();
        long most = 0;
        QocSpec.DropPolicy policy = QocSpec.DropPolicy.Uniform;
        for (ConsumerSpec c : consumers) {
            QocSpec q = c.getQoc();
            if (q == null || q.getPolicy() == QocSpec.DropPolicy.None || q.getMaxBitrate() == null) {
                return new EffectiveQuality(true, null, null, names);
            }
            most = Math.max(most, Quantities.bitsPerSecond(q.getMaxBitrate()));
            if (q.getPolicy() != QocSpec.DropPolicy.Uniform) {
                policy = QocSpec.DropPolicy.DifferentialFirst;
            }
        }
        if (consumers.isEmpty()) {
            return new EffectiveQuality(true, null, null, names);
        }
        return new EffectiveQuality(false, most, policy, names);
    }

    /**
     * Per ingress node of the plan, the effective quality of the consumers it copies to: every consumer of
     * the spec when the ingress is pinned to a node (pods or not, so a consumer whose pods are starting is
     * not starved), else those with a pod on that node.
     */
    public static Map<String, EffectiveQuality> perIngress(StreamSpec stream, ResourcePlan plan) {
        Map<String, EffectiveQuality> out = new LinkedHashMap<>();
        for (String node : new TreeSet<>(plan.ingressNodes())) {
            if (stream.getIngress().getNodeName() != null) {
                out.put(node, of(stream.getConsumers()));
                continue;
            }
            Set<String> served = new TreeSet<>();
            NodeItems items = plan.nodes().get(node);
            if (items != null) {
                for (StreamConfig sc : items.streams()) {
                    for (ConsumerConfig cc : sc.getConsumersList()) {
                        int slash = cc.getKey().indexOf('/');
                        served.add(slash < 0 ? cc.getKey() : cc.getKey().substring(0, slash));
                    }
                }
            }
            List<ConsumerSpec> local = new ArrayList<>();
            stream.getConsumers().stream().filter(c -> served.contains(c.getName())).forEach(local::add);
            out.put(node, of(local));
        }
        return out;
    }
}
