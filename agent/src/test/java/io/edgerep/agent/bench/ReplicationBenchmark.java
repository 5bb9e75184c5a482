// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.ByteString;

import io.edgerep.agent.FakeLoader;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.agent.state.ConfinedRoot;
import io.edgerep.agent.state.OpLog;
import io.edgerep.agent.state.OriginReplication;
import io.edgerep.agent.state.ReplicaLink;
import io.edgerep.agent.state.ReplicationService;
import io.edgerep.agent.state.StateApplier;
import io.edgerep.agent.tls.NodeIdentity;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.FileWrite;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.StateBatch;
import io.edgerep.proto.v1.StateEvent;
import io.edgerep.proto.v1.StateEventBatch;
import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;

/**
 * Origin-agent to replica-agent benchmark on one machine: captured write events enter through a loader gRPC stream,
 * are sequenced, pushed over mTLS and written into replica files. Measures capture-delivered to applied-on-replica
 * latency at fixed op rates, and the highest sustained rate with every op applied (none refused, none lost). Not part
 * of the test suite; run by bench/agent/run.
 */
class ReplicationBenchmark {
    static final int FILES = 16;
    static final int OP_BYTES = 128;

    @TempDir
    Path tmp;

    final class Rig implements AutoCloseable {
        final FakeLoader loader = new FakeLoader();
        final ManagedChannel loaderCh = LoaderChannels.open(loader.target());
        final Server server;
        final ManagedChannel ch;
        final OriginReplication origin;
        final ReplicaLink link;
        final StateEventPump pump;
        final StateApplier applier;
        long loaderSeq;
        /** The replica's ops that carry a captured write, by op seq: the write's loader seq. */
        final java.util.concurrent.ConcurrentSkipListMap<Long, Long> writeOfOp = new java.util.concurrent.ConcurrentSkipListMap<>();
        /** Loader seq of the last write the replica applied (ops apply in order: every one before it too). */
        volatile long writesApplied;
        volatile java.util.function.LongConsumer onWrites = s -> {
        };

        Rig(String name) throws Exception {
            TestCa ca = new TestCa("bench-ca");
            NodeTls a = ca.node("node-a");
            NodeTls b = ca.node("node-b");
            Path o = Files.createDirectories(tmp.resolve(name + "/o/data"));
            Path r = Files.createDirectories(tmp.resolve(name + "/r"));
            ReplicationService svc = new ReplicationService();
            applier = new StateApplier("bench/x", "r-0", new ConfinedRoot(r, List.of("/data")));
            svc.put(new ReplicationService.Replica(applier, "node-a"));
            // the origin adds ops of its own (each batch's attributes): writes are followed by their loader seq
            applier.onApplied(seq -> {
                var done = writeOfOp.headMap(seq, true);
                long last = done.values().stream().mapToLong(Long::longValue).max().orElse(0);
                done.clear();
                if (last > 0) {
                    writesApplied = last;
                    onWrites.accept(last);
                }
            });
            server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(b.serverContext())
                    .maxInboundMessageSize(64 << 20)
                    .addService(ServerInterceptors.intercept(svc, new NodeIdentity(), new WriteWatch()))
                    .build()
                    .start();
            ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).sslContext(a.clientContext())
                    .overrideAuthority("node-b").maxInboundMessageSize(64 << 20).build();
            OpLog log = new OpLog(tmp.resolve(name + "/spill"), 64 << 20, 1L << 30);
            origin = new OriginReplication("bench/x", new ConfinedRoot(o.getParent(), List.of("/data")), log);
            link = new ReplicaLink("bench/x", "r-0", log, origin.origin(), ch, ReplicaLink.Options.defaults()).start();
            origin.addLink(link);
            pump = new StateEventPump(loaderCh).start();
            pump.route(1, origin);
            origin.captureOn();
            long end = System.currentTimeMillis() + 10_000;
            while (!link.inSync() && System.currentTimeMillis() < end) {
                Thread.sleep(20); // initial (empty) resync and its verification
            }
            assertThat(link.inSync()).isTrue();
        }

        /** Notes, before the replica applies a batch, which of its ops carry which captured write. */
        final class WriteWatch implements ServerInterceptor {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call,
                        headers)) {
                    @Override
                    public void onMessage(Q m) {
                        if (m instanceof StateBatch b && b.hasOpBatch()) {
                            for (ReplicatedOp op : b.getOpBatch().getOpsList()) {
                                if (op.hasEvent() && op.getEvent().hasWrite()) {
                                    writeOfOp.put(op.getSeq(), op.getEvent().getSeq());
                                }
                            }
                        }
                        super.onMessage(m);
                    }
                };
            }
        }

        final java.nio.channels.FileChannel[] originFiles = new java.nio.channels.FileChannel[FILES];

        /** The origin's own write (what the application did), then the event the loader would deliver for it. */
        StateEvent event(long i) throws java.io.IOException {
            byte[] data = new byte[OP_BYTES];
            Arrays.fill(data, (byte) ('a' + (i % 26)));
            int f = (int) (i % FILES);
            if (originFiles[f] == null) {
                originFiles[f] = java.nio.channels.FileChannel.open(origin.origin().root().resolve("data/f" + f),
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
            }
            originFiles[f].write(java.nio.ByteBuffer.wrap(data), (i / FILES) * OP_BYTES);
            // stamped at the write's end on CLOCK_MONOTONIC, as the loader stamps a syscall's exit
            return StateEvent.newBuilder().setReplicationId(1).setSeq(++loaderSeq).setTimestampNs(System.nanoTime())
                    .setWrite(FileWrite.newBuilder()
                            .setPath("/data/f" + (i % FILES)).setOffset((i / FILES) * OP_BYTES)
                            .setData(ByteString.copyFrom(data)))
                    .build();
        }

        /** Replica tree equals origin tree (sizes and bytes of every file). */
        void assertIdentical() throws Exception {
            Path o = origin.origin().root().resolve("data");
            Path r = applier.root().root().resolve("data");
            for (int f = 0; f < FILES; f++) {
                if (Files.exists(o.resolve("f" + f))) {
                    assertThat(r.resolve("f" + f)).hasSameBinaryContentAs(o.resolve("f" + f));
                }
            }
        }

        @Override
        public void close() throws Exception {
            for (var c : originFiles) {
                if (c != null) {
                    c.close();
                }
            }
            pump.close();
            origin.close();
            ch.shutdownNow();
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            loaderCh.shutdownNow();
            loader.close();
        }
    }

    /** The loader's batching age the agent asks for (StreamStateEventsRequest.max_batch_age). */
    static final long BATCH_AGE_NS = 2_000_000;

    /** Latency at a fixed rate: ops are released as the loader would, in batches at most 2 ms old. */
    Map<String, Object> latency(int rate, int seconds) throws Exception {
        try (Rig rig = new Rig("lat" + rate)) {
            int n = rate * seconds;
            long[] released = new long[n + 1];
            long[] applied = new long[n + 1];
            long base = rig.applier.appliedSeq();
            long writeBase = rig.loaderSeq; // write i is loader seq writeBase + i
            rig.onWrites = w -> {
                long t = System.nanoTime();
                for (long s = Math.min(w - writeBase, n); s > 0 && applied[(int) s] == 0; s--) {
                    applied[(int) s] = t;
                }
            };
            long start = System.nanoTime();
            int next = 1;
            while (next <= n) {
                long now = System.nanoTime();
                int due = (int) Math.min(n, (now - start) * rate / 1_000_000_000L);
                if (due >= next) {
                    StateEventBatch.Builder b = StateEventBatch.newBuilder();
                    for (int i = next; i <= due; i++) {
                        b.addEvents(rig.event(i));
                        released[i] = start + i * 1_000_000_000L / rate; // when the app wrote it
                    }
                    rig.loader.push(b.build());
                    next = due + 1;
                }
                LockSupport.parkNanos(BATCH_AGE_NS);
            }
            System.out.printf("rate %d: released %d, in origin log %d, applied %d%n", rate, n,
                    rig.origin.log().lastSeq(),
                    rig.applier.appliedSeq() - base);
            long end = System.currentTimeMillis() + 30_000;
            while (applied[n] == 0 && System.currentTimeMillis() < end) {
                Thread.sleep(5);
            }
            assertThat(applied[n]).as("every op applied").isPositive();
            rig.assertIdentical();
            double[] ms = new double[n];
            for (int i = 1; i <= n; i++) {
                ms[i - 1] = (applied[i] - released[i]) / 1e6;
            }
            Arrays.sort(ms);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rate_ops_per_s", rate);
            r.put("ops", n);
            r.put("p50_ms", round(ms[n / 2]));
            r.put("p99_ms", round(ms[(int) (n * 0.99)]));
            r.put("max_ms", round(ms[n - 1]));
            r.put("refused", rig.applier.refusedOps());
            r.put("failed", rig.applier.failedOps());
            return r;
        }
    }

    /** Highest sustained rate: a backlog pushed as fast as the loader stream takes it, until all applied. */
    Map<String, Object> maxRate(int n) throws Exception {
        try (Rig rig = new Rig("max")) {
            long base = rig.loaderSeq; // write i is loader seq base + i
            List<StateEventBatch> batches = new ArrayList<>();
            for (int i = 1; i <= n; i += 512) {
                StateEventBatch.Builder b = StateEventBatch.newBuilder();
                for (int j = i; j < Math.min(n + 1, i + 512); j++) {
                    b.addEvents(rig.event(j));
                }
                batches.add(b.build());
            }
            long start = System.nanoTime();
            batches.forEach(rig.loader::push);
            long end = System.currentTimeMillis() + 120_000;
            while (rig.writesApplied - base < n && System.currentTimeMillis() < end) {
                Thread.sleep(2);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            long appliedOps = rig.writesApplied - base;
            assertThat(appliedOps).isEqualTo(n);
            rig.assertIdentical();
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("ops", n);
            r.put("seconds", round(secs));
            r.put("ops_per_s", Math.round(n / secs));
            r.put("applied", appliedOps);
            r.put("lost", n - appliedOps);
            r.put("refused", rig.applier.refusedOps());
            r.put("failed", rig.applier.failedOps());
            r.put("resyncs", rig.link.counters().resyncs());
            r.put("replica_identical", true);
            return r;
        }
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    @Test
    void run() throws Exception {
        int seconds = Integer.getInteger("bench.seconds", 10);
        int maxOps = Integer.getInteger("bench.maxOps", 1_000_000);
        latency(5000, 2); // warm-up: JIT and TLS, not reported
        List<Map<String, Object>> lat = new ArrayList<>();
        lat.add(latency(1000, seconds));
        lat.add(latency(10_000, seconds));
        Map<String, Object> max = maxRate(maxOps);
        StringBuilder table = new StringBuilder();
        table.append(String.format("%-28s %10s %10s %10s %10s%n", "origin -> replica (mTLS)", "ops", "p50 ms", "p99 ms",
                "max ms"));
        for (Map<String, Object> l : lat) {
            table.append(String.format("%-28s %10s %10s %10s %10s%n", "latency @ " + l.get("rate_ops_per_s") + " ops/s",
                    l.get("ops"), l.get("p50_ms"), l.get("p99_ms"), l.get("max_ms")));
        }
        table.append(String.format("%-28s %10s %10s ops/s, lost %s, refused %s, failed %s%n", "max sustained rate",
                max.get("ops"), max.get("ops_per_s"), max.get("lost"), max.get("refused"), max.get("failed")));
        System.out.println(table);
        StringBuilder json = new StringBuilder();
        json.append("{\n  \"benchmark\": \"agent-replication\",\n  \"time\": \"").append(Instant.now())
                .append("\",\n  \"cpus\": ").append(Runtime.getRuntime().availableProcessors())
                .append(",\n  \"loadavg_at_end\": \"").append(Files.readString(Path.of("/proc/loadavg")).trim())
                .append('"')
                .append(",\n  \"op_bytes\": ").append(OP_BYTES).append(",\n  \"latency\": [");
        for (int i = 0; i < lat.size(); i++) {
            json.append(i == 0 ? "\n    " : ",\n    ").append(toJson(lat.get(i)));
        }
        json.append("\n  ],\n  \"max_rate\": ").append(toJson(max))
                .append(",\n  \"targets\": {\"p50_ms\": 5, \"p99_ms\": 50,")
                .append(" \"ops_per_s\": 100000}\n}\n");
        String out = System.getProperty("bench.out");
        if (out != null) {
            Files.createDirectories(Path.of(out).getParent());
            Files.writeString(Path.of(out), json.toString());
            Files.writeString(Path.of(out.replace(".json", ".txt")), table.toString());
        }
        System.out.println(json);
    }

    static String toJson(Map<String, Object> m) {
        StringBuilder s = new StringBuilder("{");
        for (var e : m.entrySet()) {
            if (s.length() > 1) {
                s.append(", ");
            }
            s.append('"').append(e.getKey()).append("\": ").append(e.getValue());
        }
        return s.append('}').toString();
    }
}
