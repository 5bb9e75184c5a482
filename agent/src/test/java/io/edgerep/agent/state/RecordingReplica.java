// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.edgerep.proto.v1.StateBatch;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

/**
 * A replica's agent reduced to its applier, on loopback without TLS, for origin-side tests: every pushed batch is
 * kept, applied, and answered with the applier's ack (or what {@link #rewriteAcks} makes of it).
 */
final class RecordingReplica implements AutoCloseable {
    final StateApplier applier;
    final List<StateBatch> batches = new CopyOnWriteArrayList<>();
    volatile UnaryOperator<Ack> rewriteAcks = UnaryOperator.identity();
    private final List<StreamObserver<Ack>> open = new CopyOnWriteArrayList<>();
    private final Server server;
    private final ManagedChannel channel;

    RecordingReplica(StateApplier applier) throws IOException {
        this.applier = applier;
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new Service()).build().start();
        this.channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    /** A channel to it, as an origin's link holds one. */
    ManagedChannel channel() {
        return channel;
    }

    /** The kinds of the batches pushed so far, in order. */
    List<StateBatch.KindCase> kinds() {
        return batches.stream().map(StateBatch::getKindCase).toList();
    }

    private final class Service extends ReplicationGrpc.ReplicationImplBase {
        @Override
        public StreamObserver<StateBatch> push(StreamObserver<Ack> acks) {
            open.add(acks);
            return new StreamObserver<>() {
                @Override
                public void onNext(StateBatch b) {
                    batches.add(b);
                    acks.onNext(rewriteAcks.apply(applier.apply(b)));
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    acks.onCompleted();
                }
            };
        }

        @Override
        public void checksums(ChecksumsRequest req, StreamObserver<ChecksumsResponse> out) {
            try {
                out.onNext(applier.checksums(req.getPathsList(), req.getBlockSize()));
                out.onCompleted();
            } catch (IOException e) {
                out.onError(e);
            }
        }
    }

    /** Breaks every open push stream, as a network fault would; the replica keeps its state. */
    void breakStreams() {
        for (StreamObserver<Ack> a : open) {
            try {
                a.onError(io.grpc.Status.UNAVAILABLE.withDescription("broken by the test").asRuntimeException());
            } catch (RuntimeException e) {
                // already closed
            }
        }
        open.clear();
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
