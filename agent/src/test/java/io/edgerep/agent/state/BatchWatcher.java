// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.function.Consumer;

import io.edgerep.proto.v1.StateBatch;

/** Looks at the replica right after each pushed batch is applied, before the next (see {@link PushTap}). */
final class BatchWatcher extends PushTap {
    private volatile Consumer<StateBatch> after = b -> {
    };

    /** Runs look after every batch applied from now on (replacing the previous one). */
    void after(Consumer<StateBatch> look) {
        this.after = look;
    }

    @Override
    void around(StateBatch batch, Runnable apply) {
        apply.run();
        after.accept(batch);
    }
}
