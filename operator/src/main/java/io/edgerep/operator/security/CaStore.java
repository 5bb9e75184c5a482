// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.security;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import org.jboss.logging.Logger;

import io.edgerep.operator.ReleaseOwner;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * Keeps the CA in a Secret (type kubernetes.io/tls: tls.crt, tls.key), so every operator replica
 * and every restart uses the same CA. A Secret created by the user (e.g. by cert-manager) is used
 * as it is; when none exists, a new CA is created and stored.
 */
public final class CaStore {

    private static final Logger LOG = Logger.getLogger(CaStore.class);

    private CaStore() {
    }

    public static CertificateAuthority loadOrCreate(KubernetesClient client, String namespace, String name) {
        return loadOrCreate(client, namespace, name, ReleaseOwner.NONE);
    }

    /** As above; a Secret this creates is owned by owner (so it goes with the release), one it finds is left as is. */
    public static CertificateAuthority loadOrCreate(KubernetesClient client, String namespace, String name,
            ReleaseOwner owner) {
        Secret existing = client.secrets().inNamespace(namespace).withName(name).get();
        if (existing != null) {
            return fromSecret(existing);
        }
        CertificateAuthority ca = CertificateAuthority.create("edgerep-ca");
        Secret s = new SecretBuilder().withNewMetadata().withName(name).withNamespace(namespace)
                .addToLabels("app.kubernetes.io/part-of", "edgerep").endMetadata()
                .withType("kubernetes.io/tls")
                .withData(Map.of("tls.crt", b64(CertificateAuthority.pem(ca.caCertificate())),
                        "tls.key", b64(CertificateAuthority.pkcs8Pem(ca.caKey()))))
                .build();
        ReleaseOwner.adopt(s.getMetadata(), owner.reference());
        try {
            client.secrets().inNamespace(namespace).resource(s).create();
            LOG.infof("created CA Secret %s/%s", namespace, name);
            return ca;
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                // another replica created it first: use theirs
                return fromSecret(client.secrets().inNamespace(namespace).withName(name).get());
            }
            throw e;
        }
    }

    static CertificateAuthority fromSecret(Secret s) {
        String crt = text(s, "tls.crt");
        String key = text(s, "tls.key");
        return new CertificateAuthority(CertificateAuthority.parseCert(crt), CertificateAuthority.parseKey(key));
    }

    private static String text(Secret s, String key) {
        String v = s.getData() == null ? null : s.getData().get(key);
        if (v == null) {
            throw new IllegalStateException("CA Secret " + s.getMetadata().getName() + " lacks " + key);
        }
        return new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8);
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
