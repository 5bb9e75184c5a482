// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The operator's own Deployment as the owner of what the operator creates at run time (the CA Secret, the agents'
 * endpoint ConfigMap): the garbage collector removes them when {@code helm uninstall} deletes the Deployment, while a
 * rollout restart or {@code helm upgrade}, which keep the Deployment, keep them.
 */
public final class ReleaseOwner {
    private static final Logger LOG = Logger.getLogger(ReleaseOwner.class);

    /** No owner: outside a cluster install (tests, a hand-run operator). */
    public static final ReleaseOwner NONE = new ReleaseOwner(null, null, Optional.empty());

    private final KubernetesClient client;
    private final String namespace;
    private final Optional<String> deployment;
    private volatile OwnerReference reference;

    public ReleaseOwner(KubernetesClient client, String namespace, Optional<String> deployment) {
        this.client = client;
        this.namespace = namespace;
        this.deployment = deployment.filter(d -> !d.isBlank());
    }

    /** The owner reference, read once; empty when no Deployment is configured or it cannot be read. */
    public Optional<OwnerReference> reference() {
        if (reference == null && deployment.isPresent()) {
            try {
                Deployment d = client.apps().deployments().inNamespace(namespace).withName(deployment.get()).get();
                if (d != null) {
                    reference = of(d);
                } else {
                    LOG.warnf("Deployment %s/%s not found: created objects get no owner", namespace, deployment.get());
                }
            } catch (RuntimeException e) {
                LOG.warnf("cannot read Deployment %s/%s: %s", namespace, deployment.get(), e.getMessage());
            }
        }
        return Optional.ofNullable(reference);
    }

    /** A non-controlling owner reference to d that does not block its deletion. */
    static OwnerReference of(Deployment d) {
        return new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("Deployment")
                .withName(d.getMetadata().getName()).withUid(d.getMetadata().getUid()).withController(false)
                .withBlockOwnerDeletion(false).build();
    }

    /** meta with owner added to its owner references (once). */
    public static ObjectMeta adopt(ObjectMeta meta, Optional<OwnerReference> owner) {
        if (owner.isEmpty()) {
            return meta;
        }
        List<OwnerReference> refs = new ArrayList<>(
                meta.getOwnerReferences() == null ? List.of() : meta.getOwnerReferences());
        if (refs.stream().noneMatch(r -> owner.get().getUid().equals(r.getUid()))) {
            refs.add(owner.get());
        }
        meta.setOwnerReferences(refs);
        return meta;
    }
}
