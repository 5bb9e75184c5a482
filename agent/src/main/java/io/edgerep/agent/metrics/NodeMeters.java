// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.metrics;

import java.util.List;

import io.edgerep.agent.metrics.Series.Kind;
import io.edgerep.proto.v1.ConsumerCounterSet;
import io.edgerep.proto.v1.FrameClass;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaDrift;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.wire.ProtoTime;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * Turns a {@link NodeSample} into Prometheus series, named after Prometheus' conventions ({@code edgerep_} prefix,
 * base units, {@code _total} counters) and labelled with the node, the EdgeReplica's namespace and name, and the
 * consumer or replica pod. docs/OPERATING.md lists every series; a test checks the list against a scrape.
 */
public final class NodeMeters {
    /** Frame classes a drop is counted under, by FrameClass number; the label value is the enum's suffix. */
    static final List<FrameClass> DROP_CLASSES = List.of(FrameClass.FRAME_CLASS_UNKNOWN,
            FrameClass.FRAME_CLASS_REFERENCE, FrameClass.FRAME_CLASS_DIFFERENTIAL, FrameClass.FRAME_CLASS_DISPOSABLE,
            FrameClass.FRAME_CLASS_NON_VIDEO);

    private final Series series;
    private final String node;

    public NodeMeters(MeterRegistry registry, String node) {
        this.series = new Series(registry);
        this.node = node;
    }

    /** Replaces every series with what {@code s} holds. */
    public void apply(NodeSample s) {
        series.begin();
        Tags n = Tags.of("node", node);
        series.set(Kind.GAUGE, "edgerep.agent.operator.connected", null,
                "1 while the agent's control stream to the operator is up", n, s.operatorConnected() ? 1 : 0);
        series.set(Kind.GAUGE, "edgerep.agent.loader.up", null,
                "1 when the loader answered the last counter read", n, s.loaderUp() ? 1 : 0);
        series.set(Kind.GAUGE, "edgerep.agent.config.version", null, "NodeConfig version last applied", n,
                s.appliedConfigVersion());
        s.consumers().forEach(this::consumer);
        s.replicas().forEach(this::replica);
        s.origins().forEach(this::origin);
        s.links().forEach(this::link);
        series.end();
    }

    /** Series exported now. */
    public int size() {
        return series.size();
    }

    private void consumer(NodeSample.Consumer c) {
        ConsumerCounterSet k = c.counters();
        String name = k.getName();
        int slash = name.indexOf('/');
        Tags t = resource(c.streamKey()).and("consumer", slash < 0 ? name : name.substring(0, slash), "pod",
                slash < 0 ? "" : name.substring(slash + 1));
        series.set(Kind.COUNTER, "edgerep.consumer.delivered.packets", null,
                "Stream packets the kernel delivered to the consumer pod", t, sum(k.getDeliveredPacketsList()));
        series.set(Kind.COUNTER, "edgerep.consumer.delivered.bytes", null,
                "Bytes of stream packets delivered to the consumer pod", t, sum(k.getDeliveredBytesList()));
        for (FrameClass fc : DROP_CLASSES) {
            Tags ct = t.and("class", label(fc));
            series.set(Kind.COUNTER, "edgerep.consumer.dropped.packets", null,
                    "Packets the consumer's QoC policy dropped, by frame class", ct,
                    at(k.getDroppedPacketsList(), fc));
            series.set(Kind.COUNTER, "edgerep.consumer.dropped.bytes", null,
                    "Bytes of packets the consumer's QoC policy dropped, by frame class", ct,
                    at(k.getDroppedBytesList(), fc));
        }
        series.set(Kind.GAUGE, "edgerep.consumer.bitrate.bits.per.second", null,
                "Delivered bitrate over the last counter interval", t, c.bitrateBps());
        if (c.budgetBps() > 0) {
            series.set(Kind.GAUGE, "edgerep.consumer.budget.bits.per.second", null,
                    "Bitrate the consumer's QoC policy holds it to (absent: no budget)", t, c.budgetBps());
        }
    }

    private void replica(ReplicaProgress r) {
        Tags t = resource(r.getKey()).and("pod", r.getPod());
        series.set(Kind.GAUGE, "edgerep.replica.applied.sequence", null,
                "Highest origin sequence number the replica has applied", t, r.getAppliedSeq());
        series.set(Kind.GAUGE, "edgerep.replica.lag.seconds", null,
                "Capture-to-apply delay of the last batch applied (unconfirmed: time since it became so)", t,
                ProtoTime.millis(r.getLag()) / 1000.0);
        series.set(Kind.COUNTER, "edgerep.replica.resyncs", null, "Whole-tree resyncs the replica completed", t,
                r.getResyncs());
        series.set(Kind.COUNTER, "edgerep.replica.refused.ops", null,
                "Ops the replica refused (outside the replicated paths, failed to apply)", t, r.getRefusedOps());
        series.set(Kind.GAUGE, "edgerep.replica.confirmed", null,
                "1 when the origin confirmed the replica's content since its last resync or repair", t,
                r.getConfirmed() ? 1 : 0);
    }

    private void origin(OriginProgress o) {
        Tags t = resource(o.getKey());
        series.set(Kind.GAUGE, "edgerep.origin.sequence", null, "Highest sequence number the origin assigned", t,
                o.getLastSeq());
        series.set(Kind.COUNTER, "edgerep.origin.lost.records", null,
                "Capture records the kernel could not deliver (each led to a resync)", t, o.getLostRecords());
        for (ReplicaDrift d : o.getDriftList()) {
            series.set(Kind.GAUGE, "edgerep.origin.replica.repairing", null,
                    "1 while drift the last verification found is not repaired and confirmed", t.and("pod", d.getPod()),
                    d.getRepairing() ? 1 : 0);
        }
    }

    private void link(NodeSample.Link l) {
        Tags t = resource(l.key()).and("pod", l.pod());
        series.set(Kind.GAUGE, "edgerep.origin.replica.acked.sequence", null,
                "Highest sequence number the replica acknowledged to the origin", t, l.ackedSeq());
        series.set(Kind.COUNTER, "edgerep.origin.replica.shipped.ops", null, "Sequenced ops sent to the replica", t,
                l.sentOps());
        series.set(Kind.COUNTER, "edgerep.origin.replica.resyncs", null, "Whole-tree resyncs sent to the replica", t,
                l.resyncs());
        series.set(Kind.COUNTER, "edgerep.origin.replica.resync.bytes", null,
                "Bytes of file content shipped to the replica by resyncs and repairs", t, l.resyncedBytes());
        series.set(Kind.COUNTER, "edgerep.origin.replica.verification.repairs", null,
                "Verifications that found the replica different and repaired it", t, l.verifyRepairs());
        series.set(Kind.COUNTER, "edgerep.origin.replica.drifted.paths", null,
                "Paths found different where no captured op explained it (each repaired)", t, l.driftedPaths());
        series.set(Kind.GAUGE, "edgerep.origin.replica.in.sync", null,
                "1 when the replica acknowledged everything the origin holds", t, l.inSync() ? 1 : 0);
    }

    /** namespace and edgereplica labels from a "namespace/name" key. */
    private Tags resource(String key) {
        int slash = key.indexOf('/');
        return Tags.of("node", node, "namespace", slash < 0 ? "" : key.substring(0, slash), "edgereplica",
                slash < 0 ? key : key.substring(slash + 1));
    }

    static String label(FrameClass fc) {
        return fc.name().substring("FRAME_CLASS_".length()).toLowerCase(java.util.Locale.ROOT);
    }

    private static long sum(List<Long> l) {
        return l.stream().mapToLong(Long::longValue).sum();
    }

    private static long at(List<Long> l, FrameClass fc) {
        return fc.getNumber() < l.size() ? l.get(fc.getNumber()) : 0;
    }
}
