// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.status;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import io.edgerep.operator.OperatorSettings;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * Why a node involved in an EdgeReplica has no agent connected, from the agent pods the kubelet reports on it: a
 * missing image, a crash loop with its last exit, an unschedulable pod, or no pod at all. Read only for nodes
 * without an agent, so a healthy cluster never pays for it.
 */
public final class AgentPods implements Function<String, String> {

    private final KubernetesClient client;
    private final OperatorSettings settings;

    public AgentPods(KubernetesClient client, OperatorSettings settings) {
        this.client = client;
        this.settings = settings;
    }

    @Override
    public String apply(String node) {
        String[] label = settings.agentPodLabel().split("=", 2);
        try {
            List<Pod> pods = client.pods().inNamespace(settings.namespace()).withLabel(label[0], label[1])
                    .withField("spec.nodeName", node).list().getItems();
            return why(settings.namespace(), pods);
        } catch (KubernetesClientException e) {
            return "its agent pods cannot be read: " + e.getMessage();
        }
    }

    /** What the agent pods of one node say about themselves. */
    static String why(String namespace, List<Pod> pods) {
        if (pods.isEmpty()) {
            return "no agent pod runs there (the DaemonSet's events say why: kubectl describe ds -n " + namespace
                    + ")";
        }
        Pod pod = pods.get(0);
        String name = "agent pod " + pod.getMetadata().getName();
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            return name + " is terminating";
        }
        var status = pod.getStatus();
        List<String> causes = new ArrayList<>();
        if (status != null) {
            for (PodCondition c : status.getConditions() == null ? List.<PodCondition>of() : status.getConditions()) {
                if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus())) {
                    causes.add("unschedulable: " + c.getMessage());
                }
            }
            for (ContainerStatus c : containers(status.getInitContainerStatuses(), status.getContainerStatuses())) {
                String cause = container(c);
                if (cause != null) {
                    causes.add(cause);
                }
            }
        }
        if (causes.isEmpty()) {
            return name + " is " + (status == null ? "Pending" : status.getPhase())
                    + " but its agent has not connected to the operator";
        }
        return name + ": " + String.join("; ", causes);
    }

    private static List<ContainerStatus> containers(List<ContainerStatus> init, List<ContainerStatus> main) {
        List<ContainerStatus> all = new ArrayList<>();
        if (init != null) {
            all.addAll(init);
        }
        if (main != null) {
            all.addAll(main);
        }
        return all;
    }

    /** A container's trouble ("loader: CrashLoopBackOff (last exit 1: Error)"), or null when it has none. */
    private static String container(ContainerStatus c) {
        var waiting = c.getState() == null ? null : c.getState().getWaiting();
        if (waiting == null || waiting.getReason() == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(c.getName()).append(": ").append(waiting.getReason());
        if (waiting.getMessage() != null && !waiting.getMessage().isBlank()) {
            b.append(": ").append(waiting.getMessage());
        }
        var last = c.getLastState() == null ? null : c.getLastState().getTerminated();
        if (last != null) {
            b.append(" (last exit ").append(last.getExitCode());
            if (last.getReason() != null) {
                b.append(": ").append(last.getReason());
            }
            if (last.getMessage() != null && !last.getMessage().isBlank()) {
                b.append(": ").append(last.getMessage().strip());
            }
            b.append(')');
        }
        return b.toString();
    }
}
