// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.edgerep.proto.v1.ConsumerCounterSet;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaDrift;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.wire.ProtoTime;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;

/** Every series a node sample becomes, as Prometheus scrapes it: names, labels, units and values. */
class NodeMetersTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final NodeMeters meters = new NodeMeters(registry, "edge-a");

    /** Counters indexed by FrameClass number: 0 unspecified, 1 unknown, 2 reference, 3 differential, ... */
    private static ConsumerCounterSet counters(String name, long refDelivered, long diffDropped) {
        return ConsumerCounterSet.newBuilder().setName(name)
                .addAllDeliveredPackets(List.of(0L, 0L, refDelivered, 5L, 0L, 2L))
                .addAllDeliveredBytes(List.of(0L, 0L, refDelivered * 1316, 5L * 1316, 0L, 2L * 188))
                .addAllDroppedPackets(List.of(0L, 0L, 1L, diffDropped, 0L, 0L))
                .addAllDroppedBytes(List.of(0L, 0L, 1316L, diffDropped * 1316, 0L, 0L)).build();
    }

    private static NodeSample sample(List<NodeSample.Consumer> consumers, boolean loaderUp) {
        return new NodeSample(true, loaderUp, 7, consumers,
                List.of(ReplicaProgress.newBuilder().setKey("media/web").setPod("web-1").setAppliedSeq(42)
                        .setLag(ProtoTime.duration(1500)).setResyncs(2).setRefusedOps(3).setConfirmed(true).build()),
                List.of(OriginProgress.newBuilder().setKey("media/web").setLastSeq(44).setLostRecords(1)
                        .addDrift(ReplicaDrift.newBuilder().setPod("web-1").setDriftedPaths(4).setRepairing(true))
                        .build()),
                List.of(new NodeSample.Link("media/web", "web-1", 42, 40, 2, 8192, 1, 4, false)));
    }

    /** The scrape with simpleclient's trailing label comma removed: the text the agent's endpoint serves. */
    private String scrape() {
        return registry.scrape().replace(",}", "}");
    }

    @Test
    void consumerSeriesCarryPacketsBytesDropsByClassBitrateAndBudget() {
        meters.apply(sample(List.of(new NodeSample.Consumer("media/cams", counters("viewer/pod-1", 10, 3), 2_000_000,
                1_500_000)), true));
        String s = scrape();
        String labels = "consumer=\"viewer\",edgereplica=\"cams\",namespace=\"media\",node=\"edge-a\",pod=\"pod-1\"";
        assertThat(s).contains("edgerep_consumer_delivered_packets_total{" + labels + "} 17.0")
                .contains("edgerep_consumer_delivered_bytes_total{" + labels + "} " + (15.0 * 1316 + 2 * 188))
                .contains("edgerep_consumer_dropped_packets_total{class=\"differential\"," + labels + "} 3.0")
                .contains("edgerep_consumer_dropped_packets_total{class=\"reference\"," + labels + "} 1.0")
                .contains("edgerep_consumer_dropped_bytes_total{class=\"differential\"," + labels + "} 3948.0")
                .contains("edgerep_consumer_dropped_packets_total{class=\"disposable\"," + labels + "} 0.0")
                .contains("edgerep_consumer_bitrate_bits_per_second{" + labels + "} 2000000.0")
                .contains("edgerep_consumer_budget_bits_per_second{" + labels + "} 1500000.0")
                .contains("# TYPE edgerep_consumer_delivered_packets_total counter")
                .contains("# TYPE edgerep_consumer_bitrate_bits_per_second gauge");
    }

    @Test
    void aConsumerWithoutBudgetHasNoBudgetSeries() {
        meters.apply(sample(List.of(new NodeSample.Consumer("media/cams", counters("raw/pod-2", 1, 0), 0, 0)), true));
        assertThat(scrape()).contains("edgerep_consumer_delivered_packets_total{consumer=\"raw\"")
                .doesNotContain("edgerep_consumer_budget_bits_per_second{");
    }

    @Test
    void replicaOriginAndLinkSeries() {
        meters.apply(sample(List.of(), true));
        String s = scrape();
        String r = "edgereplica=\"web\",namespace=\"media\",node=\"edge-a\",pod=\"web-1\"";
        assertThat(s).contains("edgerep_replica_applied_sequence{" + r + "} 42.0")
                .contains("edgerep_replica_lag_seconds{" + r + "} 1.5")
                .contains("edgerep_replica_resyncs_total{" + r + "} 2.0")
                .contains("edgerep_replica_refused_ops_total{" + r + "} 3.0")
                .contains("edgerep_replica_confirmed{" + r + "} 1.0")
                .contains("edgerep_origin_sequence{edgereplica=\"web\",namespace=\"media\",node=\"edge-a\"} 44.0")
                .contains(
                        "edgerep_origin_lost_records_total{edgereplica=\"web\",namespace=\"media\",node=\"edge-a\"} 1.0")
                .contains("edgerep_origin_replica_repairing{" + r + "} 1.0")
                .contains("edgerep_origin_replica_acked_sequence{" + r + "} 42.0")
                .contains("edgerep_origin_replica_shipped_ops_total{" + r + "} 40.0")
                .contains("edgerep_origin_replica_resyncs_total{" + r + "} 2.0")
                .contains("edgerep_origin_replica_resync_bytes_total{" + r + "} 8192.0")
                .contains("edgerep_origin_replica_verification_repairs_total{" + r + "} 1.0")
                .contains("edgerep_origin_replica_drifted_paths_total{" + r + "} 4.0")
                .contains("edgerep_origin_replica_in_sync{" + r + "} 0.0")
                .contains("edgerep_agent_operator_connected{node=\"edge-a\"} 1.0")
                .contains("edgerep_agent_loader_up{node=\"edge-a\"} 1.0")
                .contains("edgerep_agent_config_version{node=\"edge-a\"} 7.0");
    }

    @Test
    void valuesFollowTheSamplesAndGoneSeriesLeave() {
        meters.apply(sample(List.of(new NodeSample.Consumer("media/cams", counters("viewer/pod-1", 10, 3), 0, 0),
                new NodeSample.Consumer("media/cams", counters("viewer/pod-2", 1, 0), 0, 0)), true));
        int both = meters.size();
        meters.apply(sample(List.of(new NodeSample.Consumer("media/cams", counters("viewer/pod-1", 20, 3), 0, 0)),
                false));
        String s = scrape();
        assertThat(s).contains("edgerep_consumer_delivered_packets_total{consumer=\"viewer\",edgereplica=\"cams\","
                + "namespace=\"media\",node=\"edge-a\",pod=\"pod-1\"} 27.0").doesNotContain("pod=\"pod-2\"")
                .contains("edgerep_agent_loader_up{node=\"edge-a\"} 0.0");
        // one consumer's series: delivered packets and bytes, bitrate, and packets and bytes for each drop class
        assertThat(both - meters.size()).isEqualTo(3 + 2 * NodeMeters.DROP_CLASSES.size());
    }
}
