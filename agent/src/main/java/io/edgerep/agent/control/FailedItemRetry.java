// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.util.List;
import java.util.function.LongSupplier;

import org.jboss.logging.Logger;

import io.edgerep.agent.retry.Backoff;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.NodeStatus;

/**
 * Applies the node's last config again while some of its items failed, at growing intervals: a pod whose container
 * was not running yet, a loader still compiling a program, an interface that came up late. The operator sends a config
 * only when it changes, so nothing else would try again; applying the same config calls the loader only for what
 * differs. Not while the loader is gone: the agent applies the config again when it comes back.
 */
public final class FailedItemRetry {
    private static final Logger LOG = Logger.getLogger(FailedItemRetry.class);
    /** First retry after about a second, doubling up to a minute. */
    static final long BASE_MS = 1000;
    static final long CAP_MS = 60_000;

    private final NodeReconciler reconciler;
    private final Backoff backoff = new Backoff(BASE_MS, CAP_MS);
    private final LongSupplier clock;
    /** The applied config version the schedule is for; null when nothing failed. */
    private Long version;
    private long dueMs;

    public FailedItemRetry(NodeReconciler reconciler, LongSupplier clock) {
        this.reconciler = reconciler;
        this.clock = clock;
    }

    /** Called every second or so; the status of a retry when it changed anything, else null. */
    public synchronized NodeStatus tick(boolean loaderUp) {
        NodeStatus last = reconciler.lastStatus();
        List<String> failed = failed(last);
        if (!loaderUp || failed.isEmpty()) {
            version = null;
            return null;
        }
        long now = clock.getAsLong();
        if (version == null || version != last.getAppliedVersion()) { // a new config failed: start the schedule
            version = last.getAppliedVersion();
            backoff.reset();
            dueMs = now + backoff.next();
            return null;
        }
        if (now < dueMs) {
            return null;
        }
        NodeStatus st = reconciler.reapply();
        dueMs = now + backoff.next();
        if (st == null || st.equals(last)) {
            return null;
        }
        List<String> still = failed(st);
        LOG.infof("config %d applied again: %d of %d failed items now hold%s", st.getAppliedVersion(),
                failed.size() - still.stream().filter(failed::contains).count(), failed.size(),
                still.isEmpty() ? "" : "; still failing: " + still);
        return st;
    }

    private static List<String> failed(NodeStatus st) {
        return st == null
                ? List.of()
                : st.getItemsList().stream().filter(i -> !i.getOk()).map(ItemResult::getKey).toList();
    }
}
