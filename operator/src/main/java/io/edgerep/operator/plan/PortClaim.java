// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.Set;

/**
 * An accepted EdgeReplica's claim of an ingress port on nodes. Older resources win a conflict.
 *
 * @param key "namespace/name"
 * @param creation creation timestamp (RFC 3339, compares in time order)
 * @param port the ingress port
 * @param nodes the nodes the stream enters
 */
public record PortClaim(String key, String creation, int port, Set<String> nodes) {

    /** Whether this claim precedes the other (older, or same age and smaller key). */
    public boolean precedes(PortClaim other) {
        int c = creation.compareTo(other.creation);
        return c < 0 || (c == 0 && key.compareTo(other.key) < 0);
    }
}
