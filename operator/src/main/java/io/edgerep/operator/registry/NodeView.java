// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import java.util.List;

import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaProgress;

/**
 * What one node reports about one EdgeReplica.
 *
 * @param node node name
 * @param connected an agent of the node holds a stream now
 * @param appliedVersion highest NodeConfig version the agent reported applied
 * @param requiredVersion the NodeConfig version that carries the resource's current items
 * @param results item results of the applied version for this resource
 * @param consumers latest consumer counters for this resource
 * @param replicas latest replica progress for this resource
 * @param origin latest origin progress for this resource, or null
 */
public record NodeView(String node, boolean connected, long appliedVersion, long requiredVersion,
        List<ItemResult> results, List<ConsumerCounters> consumers, List<ReplicaProgress> replicas,
        OriginProgress origin) {

    public boolean applied() {
        return connected && appliedVersion >= requiredVersion && requiredVersion > 0;
    }
}
