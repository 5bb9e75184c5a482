// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.edgerep.proto.v1.ConsumerResult;
import io.edgerep.proto.v1.Datapath;
import io.edgerep.proto.v1.EnsureReplicatorRequest;
import io.edgerep.proto.v1.EnsureReplicatorResponse;
import io.edgerep.proto.v1.GetCapabilitiesRequest;
import io.edgerep.proto.v1.GetCapabilitiesResponse;
import io.edgerep.proto.v1.KernelCapabilities;
import io.edgerep.proto.v1.ListStreamsRequest;
import io.edgerep.proto.v1.ListStreamsResponse;
import io.edgerep.proto.v1.ListTracesRequest;
import io.edgerep.proto.v1.ListTracesResponse;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.ReadStreamCountersRequest;
import io.edgerep.proto.v1.ReadStreamCountersResponse;
import io.edgerep.proto.v1.RemoveReplicatorRequest;
import io.edgerep.proto.v1.RemoveReplicatorResponse;
import io.edgerep.proto.v1.RemoveStreamRequest;
import io.edgerep.proto.v1.RemoveStreamResponse;
import io.edgerep.proto.v1.RemoveTraceRequest;
import io.edgerep.proto.v1.RemoveTraceResponse;
import io.edgerep.proto.v1.ReplicatorStream;
import io.edgerep.proto.v1.SetStreamRequest;
import io.edgerep.proto.v1.SetStreamResponse;
import io.edgerep.proto.v1.SetTraceRequest;
import io.edgerep.proto.v1.SetTraceResponse;
import io.edgerep.proto.v1.StateEventBatch;
import io.edgerep.proto.v1.StreamStateEventsRequest;
import io.edgerep.proto.v1.TeardownRequest;
import io.edgerep.proto.v1.TeardownResponse;
import io.edgerep.proto.v1.XdpMode;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * An in-process loader for tests, speaking loader.proto over loopback TCP: keeps streams, replicators and traces in
 * memory as the real one keeps them in the kernel, records every mutating call, can be told to fail for chosen
 * interfaces or consumers, and serves state events a test pushes into it.
 */
public final class FakeLoader extends LoaderGrpc.LoaderImplBase implements AutoCloseable {
    public final Map<String, EnsureReplicatorResponse> replicators = new ConcurrentHashMap<>();
    public final Map<Integer, ReplicatorStream> streams = new ConcurrentHashMap<>();
    public final Map<Integer, SetTraceRequest> traces = new ConcurrentHashMap<>();
    public final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    public final Set<String> failInterfaces = ConcurrentHashMap.newKeySet();
    public final Set<String> failConsumers = ConcurrentHashMap.newKeySet();
    /** Consumer name -> a warning the loader gives with an ok result (an egress MTU below the ingress's). */
    public final Map<String, String> warnConsumers = new ConcurrentHashMap<>();
    public final Set<String> noXdpInterfaces = ConcurrentHashMap.newKeySet();
    private final BlockingQueue<StateEventBatch> events = new LinkedBlockingQueue<>();
    private final Server server;

    public FakeLoader() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(this)
                .maxInboundMessageSize(64 << 20).build().start();
    }

    public String target() {
        return "127.0.0.1:" + server.getPort();
    }

    public void push(StateEventBatch b) {
        events.add(b);
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Override
    public void getCapabilities(GetCapabilitiesRequest r, StreamObserver<GetCapabilitiesResponse> o) {
        o.onNext(GetCapabilitiesResponse.newBuilder().setLoaderVersion("fake-1")
                .setKernel(
                        KernelCapabilities.newBuilder().setKernelRelease("6.1.0-test").setBtf(true).setCgroupV2(true))
                .build());
        o.onCompleted();
    }

    @Override
    public void ensureReplicator(EnsureReplicatorRequest r, StreamObserver<EnsureReplicatorResponse> o) {
        calls.add("EnsureReplicator " + r.getInterface() + " " + r.getDatapath());
        if (failInterfaces.contains(r.getInterface())) {
            o.onError(Status.NOT_FOUND.withDescription("no interface " + r.getInterface()).asRuntimeException());
            return;
        }
        EnsureReplicatorResponse.Builder b = EnsureReplicatorResponse.newBuilder().setIfindex(10 + replicators.size())
                .setDatapath(r.getDatapath())
                .setXdpMode(r.getDatapath() == Datapath.DATAPATH_XDP
                        ? XdpMode.XDP_MODE_GENERIC
                        : XdpMode.XDP_MODE_NONE);
        if (r.getDatapath() == Datapath.DATAPATH_XDP && noXdpInterfaces.contains(r.getInterface())) {
            b.setDatapath(Datapath.DATAPATH_TC).setXdpMode(XdpMode.XDP_MODE_NONE)
                    .setFallbackReason("no XDP on this device");
        }
        replicators.put(r.getInterface(), b.build());
        o.onNext(b.build());
        o.onCompleted();
    }

    @Override
    public void removeReplicator(RemoveReplicatorRequest r, StreamObserver<RemoveReplicatorResponse> o) {
        calls.add("RemoveReplicator " + r.getInterface());
        replicators.remove(r.getInterface());
        o.onNext(RemoveReplicatorResponse.getDefaultInstance());
        o.onCompleted();
    }

    @Override
    public void teardown(TeardownRequest r, StreamObserver<TeardownResponse> o) {
        calls.add("Teardown");
        TeardownResponse.Builder b = TeardownResponse.newBuilder();
        new TreeMap<>(streams).keySet().forEach(id -> b.addRemoved("stream " + id));
        new TreeMap<>(replicators).keySet().forEach(i -> b.addRemoved("replicator " + i));
        new TreeMap<>(traces).keySet().forEach(id -> b.addRemoved("trace " + id));
        streams.clear();
        replicators.clear();
        traces.clear();
        o.onNext(b.build());
        o.onCompleted();
    }

    @Override
    public void setStream(SetStreamRequest r, StreamObserver<SetStreamResponse> o) {
        calls.add("SetStream " + r.getStream().getStreamId() + " " + r.getStream().getPort());
        if (!replicators.containsKey(r.getStream().getInterface())) {
            o.onError(Status.FAILED_PRECONDITION.withDescription("no replicator on " + r.getStream().getInterface())
                    .asRuntimeException());
            return;
        }
        SetStreamResponse.Builder resp = SetStreamResponse.newBuilder();
        ReplicatorStream.Builder kept = r.getStream().toBuilder().clearConsumers();
        for (var c : r.getStream().getConsumersList()) {
            boolean fail = failConsumers.contains(c.getName());
            String warn = warnConsumers.getOrDefault(c.getName(), "");
            resp.addConsumers(ConsumerResult.newBuilder().setName(c.getName()).setOk(!fail)
                    .setError(fail ? "egress interface " + c.getEgressInterface() + " not found" : "")
                    .setWarning(warn).setWarningReason(warn.isEmpty() ? "" : "EgressMtuTooSmall"));
            if (!fail) {
                kept.addConsumers(c);
            }
        }
        streams.put(r.getStream().getStreamId(), kept.build());
        o.onNext(resp.build());
        o.onCompleted();
    }

    @Override
    public void removeStream(RemoveStreamRequest r, StreamObserver<RemoveStreamResponse> o) {
        calls.add("RemoveStream " + r.getStreamId());
        streams.remove(r.getStreamId());
        o.onNext(RemoveStreamResponse.getDefaultInstance());
        o.onCompleted();
    }

    @Override
    public void listStreams(ListStreamsRequest r, StreamObserver<ListStreamsResponse> o) {
        ListStreamsResponse.Builder b = ListStreamsResponse.newBuilder().addAllStreams(new TreeMap<>(streams).values());
        for (var e : new TreeMap<>(replicators).entrySet()) {
            b.addReplicators(e.getValue()).addReplicatorInterfaces(e.getKey());
        }
        o.onNext(b.build());
        o.onCompleted();
    }

    @Override
    public void readStreamCounters(ReadStreamCountersRequest r, StreamObserver<ReadStreamCountersResponse> o) {
        o.onNext(ReadStreamCountersResponse.getDefaultInstance());
        o.onCompleted();
    }

    @Override
    public void setTrace(SetTraceRequest r, StreamObserver<SetTraceResponse> o) {
        calls.add("SetTrace " + r.getReplicationId());
        traces.put(r.getReplicationId(), r);
        o.onNext(SetTraceResponse.getDefaultInstance());
        o.onCompleted();
    }

    @Override
    public void removeTrace(RemoveTraceRequest r, StreamObserver<RemoveTraceResponse> o) {
        calls.add("RemoveTrace " + r.getReplicationId());
        traces.remove(r.getReplicationId());
        o.onNext(RemoveTraceResponse.getDefaultInstance());
        o.onCompleted();
    }

    @Override
    public void listTraces(ListTracesRequest r, StreamObserver<ListTracesResponse> o) {
        o.onNext(ListTracesResponse.newBuilder().addAllTraces(new TreeMap<>(traces).values()).build());
        o.onCompleted();
    }

    @Override
    public void streamStateEvents(StreamStateEventsRequest r, StreamObserver<StateEventBatch> o) {
        ServerCallStreamObserver<StateEventBatch> so = (ServerCallStreamObserver<StateEventBatch>) o;
        try {
            while (!so.isCancelled()) {
                StateEventBatch b = events.poll(50, TimeUnit.MILLISECONDS);
                if (b != null) {
                    o.onNext(b);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // client went away
        }
    }
}
