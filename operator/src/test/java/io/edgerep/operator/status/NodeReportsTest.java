// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static io.edgerep.operator.status.StatusFixtures.applied;
import static io.edgerep.operator.status.StatusFixtures.degraded;
import static io.edgerep.operator.status.StatusFixtures.disconnected;
import static io.edgerep.operator.status.StatusFixtures.failed;
import static io.edgerep.operator.status.StatusFixtures.planOn;
import static io.edgerep.operator.status.StatusFixtures.stillApplying;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.edgerep.proto.v1.ItemResult;

class NodeReportsTest {

    @Test
    void sortsEachPlannedNodeIntoWhatItReports() {
        var plan = planOn(List.of("a", "b", "c", "d", "e"));
        var r = NodeReports.of(plan, Map.of("a", disconnected("a"), "c", stillApplying("c"),
                "d", applied("d", failed("AttachFailed"), degraded("XdpFellBackToTc")),
                "e", applied("e", ItemResult.newBuilder().setKey("v/x").setOk(true).build(), degraded(""))));
        assertThat(r.disconnected()).as("no view and a view of no agent").containsExactly("a", "b");
        assertThat(r.pending()).containsExactly("c");
        assertThat(r.failed()).containsExactly("d: v/x AttachFailed m");
        assertThat(r.degraded()).containsExactly("d: v/x XdpFellBackToTc m", "e: v/x  m");
        assertThat(r.degradedReason()).as("the first degraded item's").isEqualTo("XdpFellBackToTc");
        assertThat(r.fellBackToTc()).isTrue();
    }

    @Test
    void aDegradedItemWithoutAReasonIsItemDegraded() {
        var r = NodeReports.of(planOn(List.of("n1")), Map.of("n1", applied("n1", degraded(""))));
        assertThat(r.degradedReason()).isEqualTo("ItemDegraded");
        assertThat(r.fellBackToTc()).isFalse();
    }

    @Test
    void nodesOutsideThePlanAreNotReported() {
        var r = NodeReports.of(planOn(List.of("n1")), Map.of("n1", applied("n1"), "n9", disconnected("n9")));
        assertThat(r).isEqualTo(StatusFixtures.NOTHING_TO_REPORT);
    }
}
