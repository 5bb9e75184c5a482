// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

/** One replica of one EdgeReplica: its key ("namespace/name") and the replica pod's name. */
public record ReplicaId(String key, String pod) {
    /** "namespace/name/pod", as item results and logs name a replica. */
    @Override
    public String toString() {
        return key + "/" + pod;
    }
}
