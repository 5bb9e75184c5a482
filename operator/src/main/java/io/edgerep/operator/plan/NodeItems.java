// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.ArrayList;
import java.util.List;

import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.proto.v1.StreamConfig;

/** The part of one node's config that one EdgeReplica contributes. */
public record NodeItems(List<StreamConfig> streams, List<StateOriginConfig> origins,
        List<StateReplicaConfig> replicas) {

    public NodeItems() {
        this(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    }

    public boolean isEmpty() {
        return streams.isEmpty() && origins.isEmpty() && replicas.isEmpty();
    }
}
