// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import io.edgerep.proto.v1.ControllerMessage;
import io.grpc.stub.StreamObserver;

/** An agent's stream for registry tests that look at the registry, not at what the agent was sent. */
public final class DiscardingStream implements StreamObserver<ControllerMessage> {
    @Override
    public void onNext(ControllerMessage m) {
    }

    @Override
    public void onError(Throwable t) {
    }

    @Override
    public void onCompleted() {
    }
}
