// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.nio.file.Path;
import java.util.Set;

import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;

/** The agent-to-agent half of state items: origins that push and replicas that accept. */
public interface StateWiring {
    /** Ensures the origin side of a key pushes to the configured replicas, reading files under root. */
    void origin(StateOriginConfig cfg, int replicationId, Path root) throws Exception;

    /** The loader traces the origin of key now (its trace was just set or found in place). */
    default void traced(String key) {
    }

    /** Ensures a replica accepts pushes from the configured origin node into root. */
    void replica(StateReplicaConfig cfg, Path root) throws Exception;

    /** Stops every origin and replica not named. */
    void retain(Set<String> originKeys, Set<ReplicaId> replicas);

    /** Does nothing: a node without state replication. */
    StateWiring NONE = new StateWiring() {
        @Override
        public void origin(StateOriginConfig cfg, int replicationId, Path root) {
        }

        @Override
        public void replica(StateReplicaConfig cfg, Path root) {
        }

        @Override
        public void retain(Set<String> originKeys, Set<ReplicaId> replicas) {
        }
    };
}
