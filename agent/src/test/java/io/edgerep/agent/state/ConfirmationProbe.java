// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import io.edgerep.proto.v1.StateBatch;

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
final class ConfirmationProbe extends PushTap {
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
    void around(StateBatch batch, Runnable apply) {
        StateApplier a = applier.get();
        boolean before = a.confirmed();
        apply.run();
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
}
