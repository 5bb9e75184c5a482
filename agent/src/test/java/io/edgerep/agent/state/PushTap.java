// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import io.edgerep.proto.v1.StateBatch;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Runs test code around each pushed batch on the replica's stream thread: the service applies (and acks) a batch
 * before its handler returns, and the next batch waits, so what the tap sees after {@code apply} is the replica
 * exactly as that batch left it, whatever the machine's speed.
 */
abstract class PushTap implements ServerInterceptor {
    /** Around one batch; must call apply once. */
    abstract void around(StateBatch batch, Runnable apply);

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
                if (message instanceof StateBatch b) {
                    around(b, () -> super.onMessage(message));
                } else {
                    super.onMessage(message);
                }
            }
        };
    }
}
