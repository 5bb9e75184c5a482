// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import static io.edgerep.operator.plan.SemanticValidator.CONSUMER_PORT_CLASH;
import static io.edgerep.operator.plan.SemanticValidator.INVALID_BITRATE;
import static io.edgerep.operator.plan.SemanticValidator.INVALID_QOC_PROFILE;
import static io.edgerep.operator.plan.SemanticValidator.UNKNOWN_QOC_PROFILE;

import java.util.Collection;
import java.util.Optional;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.qoc.QocProfile;
import io.edgerep.operator.qoc.QocProfiles;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * The stream half of {@link SemanticValidator}: consumer selectors, the QoC profile (resolved
 * here, once), bitrates, and a host-network consumer on the ingress node and port. The port claims
 * of other resources are {@link SemanticValidator}'s.
 */
final class StreamValidator {

    private StreamValidator() {
    }

    /**
     * @param namespace the resource's namespace (where a custom profile's ConfigMap lives)
     * @param pods the pods of that namespace
     * @return the rejection, or the accepted stream with its resolved profile
     */
    static Validation validate(String namespace, StreamSpec stream, Collection<Pod> pods,
            QocProfiles.ConfigMaps configMaps) {
        for (ConsumerSpec c : stream.getConsumers()) {
            Optional<Verdict> v = SemanticValidator.selector("spec.stream.consumers[" + c.getName() + "].podSelector",
                    c.getPodSelector());
            if (v.isPresent()) {
                return Validation.rejected(v.get());
            }
        }
        QocProfile profile;
        try {
            profile = QocProfiles.resolve(namespace, stream.getQocProfile(), configMaps);
        } catch (QocProfiles.UnknownProfileException e) {
            return Validation.rejected(Verdict.rejected(UNKNOWN_QOC_PROFILE, e.getMessage()));
        } catch (IllegalArgumentException e) {
            return Validation.rejected(Verdict.rejected(INVALID_QOC_PROFILE, e.getMessage()));
        }
        Optional<Verdict> v = bitrates(stream).or(() -> hostNetworkLoop(stream, pods));
        return v.map(Validation::rejected).orElseGet(() -> Validation.accepted(profile));
    }

    private static Optional<Verdict> bitrates(StreamSpec stream) {
        for (ConsumerSpec c : stream.getConsumers()) {
            if (c.getQoc() != null && c.getQoc().getMaxBitrate() != null) {
                try {
                    Quantities.bitsPerSecond(c.getQoc().getMaxBitrate());
                } catch (IllegalArgumentException e) {
                    return Optional.of(Verdict.rejected(INVALID_BITRATE,
                            "consumer " + c.getName() + ": " + e.getMessage()));
                }
            }
        }
        return Optional.empty();
    }

    /** A host-network consumer pod on the pinned ingress node, on the ingress port, would loop the stream. */
    private static Optional<Verdict> hostNetworkLoop(StreamSpec stream, Collection<Pod> pods) {
        String ingressNode = stream.getIngress().getNodeName();
        if (ingressNode == null) {
            return Optional.empty();
        }
        for (ConsumerSpec c : stream.getConsumers()) {
            if (!c.getPort().equals(stream.getIngress().getPort())) {
                continue;
            }
            for (Pod p : Planner.usablePods(pods, c.getPodSelector())) {
                if (ingressNode.equals(PodFacts.node(p)) && p.getSpec().getHostNetwork() == Boolean.TRUE) {
                    return Optional.of(Verdict.rejected(CONSUMER_PORT_CLASH, "consumer " + c.getName() + " pod "
                            + p.getMetadata().getName() + " uses host networking on the ingress node and port "
                            + c.getPort() + ", which would loop the stream into itself"));
                }
            }
        }
        return Optional.empty();
    }
}
