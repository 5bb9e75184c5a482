package io.edgerep.agent.state;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Catches the replica at the moment it takes the origin's confirmation: the push batch after which the replica's
 * applier turns confirmed. The check runs on the replica's stream thread before the replica applies anything more,
 * so what it sees on the replica is exactly the content the confirmation vouched for, at the confirmed sequence.
 * One-shot: armed by {@link #arm}, it fires on the first confirmation after that.
 *
 * <p>
 * The check is told the confirmed sequence and returns what it found (a description of every difference, empty when
 * none); a check that throws completes the result exceptionally.
 */
final class ConfirmationProbe implements ServerInterceptor {
    private final Supplier<StateApplier> applier;
    private volatile LongFunction<String> check;
    private volatile CompletableFuture<Result> result = new CompletableFuture<>();

    /** What the check found at a confirmation. */
    record Result(long confirmedSeq, String differences) {
    }

    ConfirmationProbe(Supplier<StateApplier> applier) {
        this.applier = applier;
    }

    /** Runs check at the next confirmation the replica takes; returns its outcome. */
    CompletableFuture<Result> arm(LongFunction<String> check) {
        result = new CompletableFuture<>();
        this.check = check;
        return result;
    }

    /** Waits for the armed check's outcome. */
    Result await(long timeoutMs) throws Exception {
        return result.get(timeoutMs, TimeUnit.MILLISECONDS);
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
                StateApplier a = applier.get();
                boolean before = a.confirmed();
                super.onMessage(message); // applied (and acked) before this returns: the service is synchronous
                LongFunction<String> c = check;
                if (c != null && !before && a.confirmed()) {
                    check = null;
                    long seq = a.appliedSeq();
                    try {
                        result.complete(new Result(seq, c.apply(seq)));
                    } catch (Throwable t) {
                        result.completeExceptionally(t);
                    }
                }
            }
        };
    }
}
