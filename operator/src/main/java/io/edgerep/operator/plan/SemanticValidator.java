// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.plan;

import java.util.Collection;
import java.util.Optional;
import java.util.TreeSet;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.qoc.QocProfile;
import io.edgerep.operator.qoc.QocProfiles;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * Checks the schema cannot make: selectors, profiles, quantities, pod cardinality, port claims.
 * The reasons are the Accepted condition's.
 */
public final class SemanticValidator {

    public static final String INVALID_SELECTOR = "InvalidSelector";
    public static final String SELECTOR_NEVER_MATCHES = "SelectorNeverMatches";
    public static final String UNKNOWN_QOC_PROFILE = "UnknownQocProfile";
    public static final String INVALID_QOC_PROFILE = "InvalidQocProfile";
    public static final String INVALID_BITRATE = "InvalidBitrate";
    public static final String INVALID_MAX_LAG = "InvalidMaxLag";
    public static final String ORIGIN_AMBIGUOUS = "OriginAmbiguous";
    public static final String REPLICA_IS_ORIGIN = "ReplicaSelectsOrigin";
    public static final String INGRESS_PORT_CONFLICT = "IngressPortConflict";
    public static final String CONSUMER_PORT_CLASH = "ConsumerPortClash";

    private SemanticValidator() {
    }

    /**
     * The spec's stream half ({@link StreamValidator}), then its state half ({@link StateValidator}),
     * then the stream's ingress port against the claims of the others; the first problem rejects.
     *
     * @param pods the pods of the resource's namespace
     * @param claims the port claims of the other EdgeReplicas (any namespace)
     * @return the verdict and, when accepted, the stream's resolved QoC profile
     */
    public static Validation validate(EdgeReplica er, Collection<Pod> pods, Collection<PortClaim> claims,
            QocProfiles.ConfigMaps configMaps) {
        StreamSpec stream = er.getSpec().getStream();
        StateSpec state = er.getSpec().getState();
        if (stream == null && state == null) {
            return Validation.rejected(
                    Verdict.rejected("NothingToDo", "neither spec.stream nor spec.state is set"));
        }
        QocProfile profile = null;
        if (stream != null) {
            Validation v = StreamValidator.validate(er.getMetadata().getNamespace(), stream, pods, configMaps);
            if (!v.accepted()) {
                return v;
            }
            profile = v.profile();
        }
        if (state != null) {
            Optional<Verdict> v = StateValidator.validate(state, pods);
            if (v.isPresent()) {
                return Validation.rejected(v.get());
            }
        }
        if (stream != null) {
            Optional<Verdict> v = portConflict(claim(er, pods), claims);
            if (v.isPresent()) {
                return Validation.rejected(v.get());
            }
        }
        return Validation.accepted(profile);
    }

    /** An older claim of the same ingress port on a node this resource's stream enters too. */
    private static Optional<Verdict> portConflict(PortClaim mine, Collection<PortClaim> claims) {
        for (PortClaim other : claims) {
            if (other.key().equals(mine.key()) || other.port() != mine.port()) {
                continue;
            }
            var shared = new TreeSet<>(mine.nodes());
            shared.retainAll(other.nodes());
            if (!shared.isEmpty() && other.precedes(mine)) {
                return Optional.of(Verdict.rejected(INGRESS_PORT_CONFLICT, "ingress port " + mine.port()
                        + " on node " + shared.first() + " is already claimed by EdgeReplica " + other.key()));
            }
        }
        return Optional.empty();
    }

    /** The port claim of a stream resource (its nodes resolved from the pods). */
    public static PortClaim claim(EdgeReplica er, Collection<Pod> pods) {
        StreamSpec stream = er.getSpec().getStream();
        String created = er.getMetadata().getCreationTimestamp() == null ? "" : er.getMetadata().getCreationTimestamp();
        return new PortClaim(Planner.key(er), created, stream.getIngress().getPort(),
                Planner.ingressNodes(stream, pods));
    }

    /** A malformed selector, or one that can never match a pod, rejects the spec. */
    static Optional<Verdict> selector(String field, LabelSelector sel) {
        Optional<String> bad = Selectors.malformed(sel);
        if (bad.isPresent()) {
            return Optional.of(Verdict.rejected(INVALID_SELECTOR, field + ": " + bad.get()));
        }
        Optional<String> never = Selectors.neverMatches(sel);
        return never.map(m -> Verdict.rejected(SELECTOR_NEVER_MATCHES, field + " can never match a pod: " + m));
    }
}
