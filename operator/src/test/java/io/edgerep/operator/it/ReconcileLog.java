// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;

/**
 * Which resource versions the operator finished reconciling, and how many cleanup passes, per resource name: a test
 * waits for the reconcile (or cleanup) in question instead of sleeping, then looks at what it did.
 */
public final class ReconcileLog implements Metrics {
    private final Map<String, Set<String>> finished = new ConcurrentHashMap<>();
    private final Map<String, java.util.concurrent.atomic.AtomicLong> cleanups = new ConcurrentHashMap<>();

    @Override
    public <T> T timeControllerExecution(ControllerExecution<T> execution) throws Exception {
        T out = execution.execute();
        if ("cleanup".equals(execution.name())) {
            var id = execution.resourceID();
            cleanups.computeIfAbsent(id.getNamespace().orElse("") + "/" + id.getName(),
                    k -> new java.util.concurrent.atomic.AtomicLong()).incrementAndGet();
        }
        return out;
    }

    /** Cleanup runs (finalizer passes) of namespace/name that have finished. */
    public long cleanups(String namespace, String name) {
        var n = cleanups.get(namespace + "/" + name);
        return n == null ? 0 : n.get();
    }

    @Override
    public void finishedReconciliation(HasMetadata resource, Map<String, Object> metadata) {
        finished.computeIfAbsent(resource.getMetadata().getNamespace() + "/" + resource.getMetadata().getName(),
                k -> ConcurrentHashMap.newKeySet()).add(resource.getMetadata().getResourceVersion());
    }

    /** Whether a reconcile of namespace/name at resourceVersion has finished. */
    public boolean finished(String namespace, String name, String resourceVersion) {
        return finished.getOrDefault(namespace + "/" + name, Set.of()).contains(resourceVersion);
    }
}
