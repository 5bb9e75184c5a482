// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.wiring;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.ReleaseOwner;
import io.fabric8.kubernetes.client.KubernetesClient;

/** Builds {@link OperatorSettings} from {@code edgerep.*} configuration. */
public class OperatorBeans {

    @Produces
    @Singleton
    OperatorSettings settings(
            @ConfigProperty(name = "edgerep.namespace", defaultValue = "edgerep-system") String namespace,
            @ConfigProperty(name = "edgerep.ca.secret", defaultValue = "edgerep-ca") String caSecret,
            @ConfigProperty(name = "edgerep.agent.audience", defaultValue = "edgerep-agent") String audience,
            @ConfigProperty(name = "edgerep.agent.service-account", defaultValue = "edgerep-agent") String sa,
            @ConfigProperty(name = "edgerep.agent.pod-label", defaultValue = "app.kubernetes.io/name=edgerep-agent") String label,
            @ConfigProperty(name = "edgerep.agent.cert-lifetime", defaultValue = "PT1H") Duration lifetime,
            @ConfigProperty(name = "edgerep.grpc.host", defaultValue = "0.0.0.0") String host,
            @ConfigProperty(name = "edgerep.grpc.port", defaultValue = "9443") int port,
            @ConfigProperty(name = "edgerep.grpc.server-names", defaultValue = "edgerep-operator,edgerep-operator.edgerep-system.svc,localhost,127.0.0.1") List<String> names,
            @ConfigProperty(name = "edgerep.finalizer.timeout", defaultValue = "PT30S") Duration finalizerTimeout) {
        return new OperatorSettings(namespace, caSecret, audience, sa, label, lifetime, host, port, names,
                finalizerTimeout);
    }

    @Produces
    @Singleton
    ReleaseOwner owner(KubernetesClient client, OperatorSettings settings,
            @ConfigProperty(name = "edgerep.owner.deployment") Optional<String> deployment) {
        return new ReleaseOwner(client, settings.namespace(), deployment);
    }
}
