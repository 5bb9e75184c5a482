// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * The paths ops touched since the last verification, which the next one compares. Past a bound it stops counting and
 * says "everything" instead, so a busy origin never holds an unbounded set.
 */
final class TouchedPaths {
    private final int max;
    private final Set<String> paths = new HashSet<>();
    private boolean all;

    TouchedPaths(int max) {
        this.max = max;
    }

    void add(Collection<String> more) {
        if (all) {
            return;
        }
        paths.addAll(more);
        if (paths.size() > max) {
            everything();
        }
    }

    /** The next verification compares the whole tree. */
    void everything() {
        paths.clear();
        all = true;
    }

    /** The paths to compare (null: the whole tree), and a fresh start. */
    Set<String> take() {
        Set<String> out = all ? null : new HashSet<>(paths);
        clear();
        return out;
    }

    void clear() {
        paths.clear();
        all = false;
    }
}
