package io.edgerep.agent.state;

import java.util.function.Consumer;

import io.edgerep.proto.v1.StateBatch;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Runs a test's look at the replica right after each pushed batch is applied, on the replica's stream thread, before
 * the next batch: what it sees is the replica exactly as that batch left it, whatever the machine's speed.
 */
final class BatchWatcher implements ServerInterceptor {
    private volatile Consumer<StateBatch> after = b -> {
    };

    /** Runs look after every batch applied from now on (replacing the previous one). */
    void after(Consumer<StateBatch> look) {
        this.after = look;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
            ServerCallHandler<Q, A> next) {
        ServerCall.Listener<Q> l = next.startCall(call, headers);
        if (!call.getMethodDescriptor().getBareMethodName().equals("Push")) {
            return l;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(l) {
            @Override
            public void onMessage(Q message) {
                super.onMessage(message); // applied (and acked) before this returns: the service is synchronous
                if (message instanceof StateBatch b) {
                    after.accept(b);
                }
            }
        };
    }
}
