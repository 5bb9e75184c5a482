// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.util.function.LongSupplier;

import io.edgerep.proto.v1.NodeStatus;

/**
 * Programs a stream again when the way to one of its consumers changes under it: a pod's route moves to another
 * interface, its neighbour entry gets another MAC, the bridge learns it on another port, or it has no way at all any
 * more. The kernel sends each copy where it was told, so without this the copies of a moved consumer would go on
 * leaving through the old way, counted as delivered. The operator sends a config only when the resource changes, so
 * nothing else would notice. Not while the loader is gone: the agent applies the config again when it comes back.
 */
public final class RouteWatch {
    /** How often the kernel's routes and neighbours are compared with what was programmed. */
    static final long INTERVAL_MS = 2000;

    private final NodeReconciler reconciler;
    private final LongSupplier clock;
    private long dueMs;

    public RouteWatch(NodeReconciler reconciler, LongSupplier clock) {
        this.reconciler = reconciler;
        this.clock = clock;
    }

    /** Called every second or so; the status of the new apply when it differs from the last one, else null. */
    public synchronized NodeStatus tick(boolean loaderUp) {
        long now = clock.getAsLong();
        if (!loaderUp || now < dueMs) {
            return null;
        }
        dueMs = now + INTERVAL_MS;
        if (!reconciler.routesChanged()) {
            return null;
        }
        NodeStatus before = reconciler.lastStatus();
        NodeStatus st = reconciler.reapply();
        return st == null || st.equals(before) ? null : st;
    }
}
