// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.metrics;

import java.util.List;

import io.edgerep.proto.v1.ConsumerCounterSet;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaProgress;

/** What one node knows at one moment, as its metrics export it. */
public record NodeSample(boolean operatorConnected, boolean loaderUp, long appliedConfigVersion,
        List<Consumer> consumers, List<ReplicaProgress> replicas, List<OriginProgress> origins, List<Link> links) {

    /**
     * One consumer of a stream: the loader's counters (lists indexed by FrameClass number), the delivered bitrate
     * over the last interval and the budget its policy holds it to (0: none).
     */
    public record Consumer(String streamKey, ConsumerCounterSet counters, long bitrateBps, long budgetBps) {
    }

    /** What the origin's agent has sent to one replica pod. */
    public record Link(String key, String pod, long ackedSeq, long sentOps, long resyncs, long resyncedBytes,
            long verifyRepairs, long driftedPaths, boolean inSync) {
    }
}
