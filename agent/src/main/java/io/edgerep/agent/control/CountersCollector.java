// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.edgerep.agent.metrics.NodeSample;
import io.edgerep.agent.state.StateReplicationManager;
import io.edgerep.proto.v1.ConsumerCounterSet;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.FrameClass;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.ReadStreamCountersRequest;
import io.edgerep.proto.v1.StreamCounters;
import io.edgerep.wire.ProtoTime;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;

/** Reads the loader's per-consumer counters and the state replication progress into one Counters message. */
public final class CountersCollector {
    private final LoaderGrpc.LoaderBlockingStub loader;
    private final NodeReconciler reconciler;
    private final StateReplicationManager state;
    private final Map<String, long[]> lastBytes = new HashMap<>(); // key -> {bytes, timeMs}
    private volatile LoaderRead lastRead = new LoaderRead(false, List.of());

    /** The loader's answer to the last read: whether it answered, and each consumer's counters. */
    public record LoaderRead(boolean ok, List<NodeSample.Consumer> consumers) {
    }

    public CountersCollector(Channel loader, NodeReconciler reconciler, StateReplicationManager state) {
        this.loader = LoaderGrpc.newBlockingStub(loader);
        this.reconciler = reconciler;
        this.state = state;
    }

    public synchronized Counters collect() {
        long now = System.currentTimeMillis();
        Counters.Builder b = Counters.newBuilder().setReadAt(ProtoTime.timestamp(now));
        List<NodeSample.Consumer> read = new ArrayList<>();
        try {
            List<StreamCounters> sc = loader.withDeadlineAfter(5, TimeUnit.SECONDS)
                    .readStreamCounters(ReadStreamCountersRequest.getDefaultInstance()).getStreamsList();
            Map<Integer, String> keys = reconciler.streamKeys();
            for (StreamCounters s : sc) {
                String sk = keys.get(s.getStreamId());
                if (sk == null) {
                    continue;
                }
                for (ConsumerCounterSet c : s.getConsumersList()) {
                    ConsumerCounters cc = consumer(sk, c, now);
                    b.addConsumers(cc);
                    read.add(new NodeSample.Consumer(sk, c, cc.getBitrateBps(),
                            reconciler.budgets().getOrDefault(sk + "/" + c.getName(), 0L)));
                }
            }
            lastRead = new LoaderRead(true, List.copyOf(read));
        } catch (StatusRuntimeException e) {
            // loader away: send what the agent itself knows; the kernel's counters last read stay exported
            lastRead = new LoaderRead(false, lastRead.consumers());
        }
        if (state != null) {
            b.addAllReplicas(state.replicaProgress()).addAllOrigins(state.originProgress());
        }
        return b.build();
    }

    /** What the last {@link #collect()} read from the loader. */
    public LoaderRead lastRead() {
        return lastRead;
    }

    private ConsumerCounters consumer(String streamKey, ConsumerCounterSet c, long now) {
        long packets = c.getDeliveredPacketsList().stream().mapToLong(Long::longValue).sum();
        long bytes = c.getDeliveredBytesList().stream().mapToLong(Long::longValue).sum();
        String k = streamKey + "/" + c.getName();
        long[] last = lastBytes.put(k, new long[]{bytes, now});
        long bps = 0;
        if (last != null && now > last[1] && bytes >= last[0]) {
            bps = (bytes - last[0]) * 8000 / (now - last[1]);
        }
        return ConsumerCounters.newBuilder().setStreamKey(streamKey).setConsumerKey(c.getName())
                .setDeliveredPackets(packets)
                .setDeliveredBytes(bytes)
                .setDroppedReference(at(c.getDroppedPacketsList(), FrameClass.FRAME_CLASS_REFERENCE))
                .setDroppedDifferential(at(c.getDroppedPacketsList(), FrameClass.FRAME_CLASS_DIFFERENTIAL))
                .setDroppedDisposable(at(c.getDroppedPacketsList(), FrameClass.FRAME_CLASS_DISPOSABLE))
                .setBitrateBps(bps)
                .build();
    }

    private static long at(List<Long> l, FrameClass fc) {
        return fc.getNumber() < l.size() ? l.get(fc.getNumber()) : 0;
    }
}
