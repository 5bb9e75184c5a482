// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.function.Consumer;

import io.edgerep.proto.v1.StateBatch;

/**
 * Looks at the replica right after each pushed batch is applied, before the next, and may act before one is applied
 * (before the replica acks it, so before the origin goes on; see {@link PushTap}).
 */
final class BatchWatcher extends PushTap {
    private volatile Consumer<StateBatch> before = b -> {
    };
    private volatile Consumer<StateBatch> after = b -> {
    };

    /** Runs act before every batch is applied from now on (replacing the previous one). */
    void before(Consumer<StateBatch> act) {
        this.before = act;
    }

    /** Runs look after every batch applied from now on (replacing the previous one). */
    void after(Consumer<StateBatch> look) {
        this.after = look;
    }

    @Override
    void around(StateBatch batch, Runnable apply) {
        before.accept(batch);
        apply.run();
        after.accept(batch);
    }
}
