// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.StreamConfig;

class NodeConfigAssemblerTest {

    static NodeItems stream(String key, int port) {
        var i = new NodeItems();
        i.streams().add(StreamConfig.newBuilder().setKey(key).setPort(port).build());
        return i;
    }

    @Test
    void versionMovesOnlyWhenContentChanges() {
        var items = new TreeMap<String, NodeItems>();
        items.put("b/x", stream("b/x", 2));
        items.put("a/x", stream("a/x", 1));
        NodeConfig v1 = NodeConfigAssembler.assemble("n1", items, null, 0);
        assertThat(v1.getVersion()).isEqualTo(1);
        assertThat(v1.getStreamsList()).extracting(StreamConfig::getKey).containsExactly("a/x", "b/x");

        NodeConfig same = NodeConfigAssembler.assemble("n1", items, v1, 0);
        assertThat(same).isSameAs(v1);

        items.put("a/x", stream("a/x", 3));
        NodeConfig v2 = NodeConfigAssembler.assemble("n1", items, v1, 0);
        assertThat(v2.getVersion()).isEqualTo(2);
        assertThat(NodeConfigAssembler.sameContent(v1, v2)).isFalse();
    }

    @Test
    void versionNeverReusesOneAnAgentApplied() {
        var items = new TreeMap<String, NodeItems>();
        items.put("a/x", stream("a/x", 1));
        // after an operator restart the agent reports it applied version 41
        NodeConfig c = NodeConfigAssembler.assemble("n1", items, null, 41);
        assertThat(c.getVersion()).isEqualTo(42);
        assertThat(c.getNodeName()).isEqualTo("n1");
    }
}
