// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.CRC32;

/**
 * Loader-wide numeric ids (1..65535) for keys, derived from the key itself so that a restarted agent finds what it
 * programmed before (adoption); collisions are resolved by probing in key order.
 */
public final class StableIds {
    static final int MAX = 65535;

    private StableIds() {
    }

    public static Map<String, Integer> assign(Collection<String> keys) {
        Map<String, Integer> out = new HashMap<>();
        Set<Integer> used = new HashSet<>();
        for (String k : new TreeSet<>(keys)) {
            int id = hash(k);
            while (used.contains(id)) {
                id = id % MAX + 1;
            }
            used.add(id);
            out.put(k, id);
        }
        return out;
    }

    static int hash(String key) {
        CRC32 c = new CRC32();
        c.update(key.getBytes(StandardCharsets.UTF_8));
        return (int) (c.getValue() % MAX) + 1;
    }
}
