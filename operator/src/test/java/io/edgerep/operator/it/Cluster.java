// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import java.util.Map;

import io.edgerep.operator.Fixtures;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/** What a kubelet and kubectl would do in the tests: namespaces, pods with status, tokens. */
public final class Cluster {

    private final KubernetesClient client;

    public Cluster(KubernetesClient client) {
        this.client = client;
    }

    /** A namespace with its default service account (no controller-manager creates it here). */
    public void namespace(String ns) {
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).serverSideApply();
        client.resource(new ServiceAccountBuilder().withNewMetadata().withName("default").withNamespace(ns)
                .endMetadata().build()).serverSideApply();
    }

    /** Creates a pod bound to a node and reports it Running and Ready with the IP, as a kubelet would. */
    public Pod runningPod(String ns, String name, String node, String ip, Map<String, String> labels) {
        Pod template = Fixtures.pod(ns, name, node, ip, labels);
        Pod created = client.pods().inNamespace(ns).resource(new PodBuilder().withMetadata(
                new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(ns)
                        .withLabels(labels).build())
                .withSpec(template.getSpec()).build()).create();
        return setStatus(created, template, ip);
    }

    public Pod setStatus(Pod pod, Pod template, String ip) {
        return client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                .editStatus(p -> new PodBuilder(p).withStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder(
                        template.getStatus()).withPodIP(ip).build()).build());
    }

    /** Moves a pod's reported IP (as after a sandbox restart). */
    public Pod changeIp(String ns, String name, String ip) {
        return client.pods().inNamespace(ns).withName(name).editStatus(p -> new PodBuilder(p).editStatus()
                .withPodIP(ip).withPodIPs().endStatus().build());
    }

    /** The agent service account and an agent pod on the node; returns a bound token for it. */
    public String agentToken(String node, String audience, String podName, Map<String, String> labels) {
        String ns = OperatorHarness.NAMESPACE;
        namespace(ns);
        client.resource(new ServiceAccountBuilder().withNewMetadata().withName("edgerep-agent").withNamespace(ns)
                .endMetadata().build()).serverSideApply();
        Pod pod = client.pods().inNamespace(ns).withName(podName).get();
        if (pod == null) {
            pod = client.pods().inNamespace(ns).resource(new PodBuilder().withNewMetadata().withName(podName)
                    .withNamespace(ns).withLabels(labels).endMetadata().withNewSpec().withNodeName(node)
                    .withServiceAccountName("edgerep-agent").addNewContainer().withName("agent").withImage("agent")
                    .endContainer().endSpec().build()).create();
        }
        return token("edgerep-agent", audience, pod);
    }

    public String token(String serviceAccount, String audience, Pod pod) {
        var req = new TokenRequestBuilder().withNewSpec().withAudiences(audience).withExpirationSeconds(3600L)
                .withNewBoundObjectRef().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName())
                .withUid(pod.getMetadata().getUid()).endBoundObjectRef().endSpec().build();
        return client.serviceAccounts().inNamespace(pod.getMetadata().getNamespace()).withName(serviceAccount)
                .tokenRequest(req).getStatus().getToken();
    }
}
