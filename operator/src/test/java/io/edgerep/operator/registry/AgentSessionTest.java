// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.NodeStatus;

class AgentSessionTest {

    @Test
    void startsFromWhatTheAgentSaidItApplied() {
        var out = new AgentRegistryTest.Sink();
        var s = new AgentSession("n1", Hello.newBuilder().setNodeName("n1").setAppliedVersion(7).build(), out);
        assertThat(s.appliedVersion).isEqualTo(7);
        assertThat(s.sentVersion).as("nothing sent yet").isEqualTo(-1);
        assertThat(s.status).isEqualTo(NodeStatus.getDefaultInstance());
        assertThat(s.out).isSameAs(out);
    }
}
