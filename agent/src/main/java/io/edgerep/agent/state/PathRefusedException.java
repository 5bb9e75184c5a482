// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;

/** An op path that leaves the replicated paths of a replica root; the op is refused and counted. */
public final class PathRefusedException extends IOException {
    private static final long serialVersionUID = 1L;

    public PathRefusedException(String message) {
        super(message);
    }
}
