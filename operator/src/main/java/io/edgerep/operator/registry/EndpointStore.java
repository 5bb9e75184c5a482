// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import java.util.Map;

import org.jboss.logging.Logger;

import io.edgerep.operator.ReleaseOwner;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * Remembers each node's replication endpoint (reported in the agent's Hello) in a ConfigMap, so a
 * restarted operator plans the same configs before every agent has reconnected.
 */
public class EndpointStore {

    private static final Logger LOG = Logger.getLogger(EndpointStore.class);

    private final KubernetesClient client;
    private final String namespace;
    private final String name;

    private final ReleaseOwner owner;

    public EndpointStore(KubernetesClient client, String namespace, String name) {
        this(client, namespace, name, ReleaseOwner.NONE);
    }

    /** The ConfigMap this creates is owned by owner, so it goes with the release. */
    public EndpointStore(KubernetesClient client, String namespace, String name, ReleaseOwner owner) {
        this.client = client;
        this.namespace = namespace;
        this.name = name;
        this.owner = owner;
    }

    public Map<String, String> load() {
        ConfigMap cm = client.configMaps().inNamespace(namespace).withName(name).get();
        return cm == null || cm.getData() == null ? Map.of() : Map.copyOf(cm.getData());
    }

    /** Records one node's endpoint; failures are logged (the agent's next Hello records it again). */
    public void save(String node, String endpoint) {
        try {
            var res = client.configMaps().inNamespace(namespace).withName(name);
            if (res.get() == null) {
                try {
                    ConfigMap cm = new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(namespace)
                            .addToLabels("app.kubernetes.io/part-of", "edgerep").endMetadata()
                            .withData(Map.of(node, endpoint)).build();
                    ReleaseOwner.adopt(cm.getMetadata(), owner.reference());
                    res.create(cm);
                    return;
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409) {
                        throw e;
                    }
                }
            }
            String value = endpoint == null
                    ? "null"
                    : "\"" + endpoint.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
            res.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"data\":{\"" + node + "\":" + value + "}}");
        } catch (RuntimeException e) {
            LOG.warnf("cannot record the replication endpoint of node %s: %s", node, e.getMessage());
        }
    }
}
