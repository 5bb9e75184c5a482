// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.NodeStatus;
import io.grpc.stub.StreamObserver;

/** An agent's stream as the registry keeps it: what it said, applied and reported, and what it was sent. */
final class AgentSession {
    final String node;
    final StreamObserver<ControllerMessage> out;
    final Hello hello;
    long appliedVersion;
    NodeStatus status = NodeStatus.getDefaultInstance();
    Counters counters = Counters.getDefaultInstance();
    long sentVersion = -1;
    /** System.nanoTime() when sentVersion went out, 0 once the agent reported it applied. */
    long sentAtNanos;

    AgentSession(String node, Hello hello, StreamObserver<ControllerMessage> out) {
        this.node = node;
        this.hello = hello;
        this.out = out;
        this.appliedVersion = hello.getAppliedVersion();
    }
}
