// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The registry's gate: closed until every EdgeReplica the operator knows of has been planned once
 * since it started, so a restarting operator never sends an agent a config that lacks resources it
 * has not reconciled yet. Once open it stays open. The resources known come from the controller's
 * cache; until that is given, the gate only opens when told to.
 */
final class ConfigGate {

    private final Set<String> planned = ConcurrentHashMap.newKeySet();
    private volatile Supplier<Stream<String>> resources;
    private volatile boolean open;

    /** The keys ("namespace/name") of every resource the operator knows of now. */
    void watch(Supplier<Stream<String>> resourceKeys) {
        this.resources = resourceKeys;
    }

    /** The resource was planned (or its removal was). */
    void planned(String key) {
        planned.add(key);
    }

    /** The resource is gone. */
    void forget(String key) {
        planned.remove(key);
    }

    boolean isOpen() {
        return open;
    }

    /** Whether the gate is closed and may open: every resource known was planned. */
    boolean mayOpen() {
        Supplier<Stream<String>> known = resources;
        return !open && known != null && known.get().allMatch(planned::contains);
    }

    /** Opens the gate; false when it was open already. */
    boolean open() {
        if (open) {
            return false;
        }
        open = true;
        return true;
    }
}
