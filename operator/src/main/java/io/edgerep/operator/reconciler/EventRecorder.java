// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.reconciler;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;

/** Writes core/v1 Events about a resource; a failure to write one is logged, never fatal. */
public final class EventRecorder {

    private static final Logger LOG = Logger.getLogger(EventRecorder.class);

    private final KubernetesClient client;

    public EventRecorder(KubernetesClient client) {
        this.client = client;
    }

    public void record(HasMetadata about, boolean warning, String reason, String message) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        var e = new EventBuilder().withNewMetadata()
                .withName(about.getMetadata().getName() + "." + UUID.randomUUID().toString().substring(0, 8))
                .withNamespace(about.getMetadata().getNamespace()).endMetadata()
                .withNewInvolvedObject().withApiVersion(about.getApiVersion()).withKind(about.getKind())
                .withName(about.getMetadata().getName()).withNamespace(about.getMetadata().getNamespace())
                .withUid(about.getMetadata().getUid()).endInvolvedObject()
                .withType(warning ? "Warning" : "Normal").withReason(reason)
                .withMessage(message.length() > 1024 ? message.substring(0, 1024) : message)
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .withNewSource().withComponent("edgerep-operator").endSource()
                .build();
        try {
            client.v1().events().inNamespace(about.getMetadata().getNamespace()).resource(e).create();
        } catch (RuntimeException ex) {
            LOG.warnf("cannot record event %s on %s: %s", reason, about.getMetadata().getName(), ex.getMessage());
        }
    }
}
