// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;

import io.edgerep.proto.v1.PodRef;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;

/** What the planner reads from a Pod. */
public final class PodFacts {

    /** Stable order: by name. */
    public static final Comparator<Pod> BY_NAME = Comparator.comparing(p -> p.getMetadata().getName());

    private PodFacts() {
    }

    /** Running, scheduled, with an IP, Ready, and not being deleted: it can receive traffic or writes. */
    public static boolean usable(Pod pod) {
        if (pod.getMetadata().getDeletionTimestamp() != null || pod.getSpec() == null
                || pod.getSpec().getNodeName() == null || pod.getStatus() == null
                || pod.getStatus().getPodIP() == null || pod.getStatus().getPodIP().isEmpty()
                || !"Running".equals(pod.getStatus().getPhase())) {
            return false;
        }
        return pod.getStatus().getConditions() != null && pod.getStatus().getConditions().stream()
                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    /** Not being deleted and not finished: counts for "does the origin selector match more than one pod". */
    public static boolean alive(Pod pod) {
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return pod.getMetadata().getDeletionTimestamp() == null && !"Succeeded".equals(phase)
                && !"Failed".equals(phase);
    }

    public static String node(Pod pod) {
        return pod.getSpec().getNodeName();
    }

    public static String hostIp(Pod pod) {
        return pod.getStatus().getHostIP() == null ? "" : pod.getStatus().getHostIP();
    }

    public static PodRef ref(Pod pod) {
        Map<String, String> ids = new TreeMap<>();
        if (pod.getStatus().getContainerStatuses() != null) {
            for (ContainerStatus cs : pod.getStatus().getContainerStatuses()) {
                if (cs.getContainerID() != null) {
                    ids.put(cs.getName(), cs.getContainerID());
                }
            }
        }
        return PodRef.newBuilder()
                .setNamespace(pod.getMetadata().getNamespace())
                .setName(pod.getMetadata().getName())
                .setUid(pod.getMetadata().getUid() == null ? "" : pod.getMetadata().getUid())
                .setIp(pod.getStatus().getPodIP())
                .setNode(pod.getSpec().getNodeName())
                .putAllContainerIds(ids)
                .build();
    }

    /** The named container, or the pod's first one. */
    public static String container(Pod pod, String requested) {
        if (requested != null && !requested.isEmpty()) {
            return requested;
        }
        return pod.getSpec().getContainers() == null || pod.getSpec().getContainers().isEmpty()
                ? ""
                : pod.getSpec().getContainers().get(0).getName();
    }
}
