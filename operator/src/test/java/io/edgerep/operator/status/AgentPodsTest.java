// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;

/** What the Programmed condition says about a node without an agent, from the pods the kubelet reports. */
class AgentPodsTest {

    static Pod pod(String phase, ContainerStatus... containers) {
        return new PodBuilder().withNewMetadata().withName("edgerep-agent-x1").endMetadata().withNewStatus()
                .withPhase(phase).withContainerStatuses(containers).endStatus().build();
    }

    static ContainerStatus running(String name) {
        return new ContainerStatusBuilder().withName(name).withNewState().withNewRunning().endRunning().endState()
                .build();
    }

    @Test
    void aMissingImageIsNamedWithTheKubeletsMessage() {
        var agent = new ContainerStatusBuilder().withName("agent").withNewState().withNewWaiting()
                .withReason("ImagePullBackOff").withMessage("Back-off pulling image \"edgerep/agent:nope\"")
                .endWaiting().endState().build();
        assertThat(AgentPods.why("edgerep-system", List.of(pod("Pending", agent, running("loader")))))
                .isEqualTo("agent pod edgerep-agent-x1: agent: ImagePullBackOff: Back-off pulling image "
                        + "\"edgerep/agent:nope\"");
    }

    @Test
    void aCrashLoopCarriesTheLastExit() {
        var loader = new ContainerStatusBuilder().withName("loader").withNewState().withNewWaiting()
                .withReason("CrashLoopBackOff").withMessage("back-off 40s restarting failed container").endWaiting()
                .endState().withNewLastState().withNewTerminated().withExitCode(1).withReason("Error")
                .withMessage("no BTF at /sys/kernel/btf/vmlinux\n").endTerminated().endLastState().build();
        assertThat(AgentPods.why("ns", List.of(pod("Running", running("agent"), loader))))
                .isEqualTo("agent pod edgerep-agent-x1: loader: CrashLoopBackOff: back-off 40s restarting failed "
                        + "container (last exit 1: Error: no BTF at /sys/kernel/btf/vmlinux)");
    }

    @Test
    void noPodUnschedulableOrJustNotConnected() {
        assertThat(AgentPods.why("edgerep-system", List.of()))
                .isEqualTo("no agent pod runs there (the DaemonSet's events say why: kubectl describe ds -n "
                        + "edgerep-system)");
        Pod unschedulable = new PodBuilder(pod("Pending")).editStatus().addNewCondition().withType("PodScheduled")
                .withStatus("False").withMessage("0/1 nodes are available: 1 Insufficient memory.").endCondition()
                .endStatus().build();
        assertThat(AgentPods.why("ns", List.of(unschedulable)))
                .isEqualTo("agent pod edgerep-agent-x1: unschedulable: 0/1 nodes are available: 1 Insufficient "
                        + "memory.");
        assertThat(AgentPods.why("ns", List.of(pod("Running", running("agent"), running("loader")))))
                .isEqualTo("agent pod edgerep-agent-x1 is Running but its agent has not connected to the operator");
    }
}
