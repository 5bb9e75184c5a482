package io.edgerep.operator.plan;

import java.util.Collection;
import java.util.Optional;
import java.util.TreeSet;

import io.edgerep.api.v1alpha1.ConsumerSpec;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.StateSpec;
import io.edgerep.api.v1alpha1.StreamSpec;
import io.edgerep.operator.qoc.QocProfiles;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Pod;

/** Checks the schema cannot make: selectors, profiles, quantities, pod cardinality, port claims. */
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
     * @param pods the pods of the resource's namespace
     * @param claims the port claims of the other EdgeReplicas (any namespace)
     */
    public static Verdict validate(EdgeReplica er, Collection<Pod> pods, Collection<PortClaim> claims,
            QocProfiles.ConfigMaps configMaps) {
        StreamSpec stream = er.getSpec().getStream();
        StateSpec state = er.getSpec().getState();
        if (stream == null && state == null) {
            return Verdict.rejected("NothingToDo", "neither spec.stream nor spec.state is set");
        }
        if (stream != null) {
            for (ConsumerSpec c : stream.getConsumers()) {
                Optional<Verdict> v = selector("spec.stream.consumers[" + c.getName() + "].podSelector",
                        c.getPodSelector());
                if (v.isPresent()) {
                    return v.get();
                }
            }
            try {
                QocProfiles.resolve(er.getMetadata().getNamespace(), stream.getQocProfile(), configMaps);
            } catch (QocProfiles.UnknownProfileException e) {
                return Verdict.rejected(UNKNOWN_QOC_PROFILE, e.getMessage());
            } catch (IllegalArgumentException e) {
                return Verdict.rejected(INVALID_QOC_PROFILE, e.getMessage());
            }
            for (ConsumerSpec c : stream.getConsumers()) {
                if (c.getQoc() != null && c.getQoc().getMaxBitrate() != null) {
                    try {
                        Quantities.bitsPerSecond(c.getQoc().getMaxBitrate());
                    } catch (IllegalArgumentException e) {
                        return Verdict.rejected(INVALID_BITRATE, "consumer " + c.getName() + ": " + e.getMessage());
                    }
                }
            }
            if (stream.getIngress().getNodeName() != null) {
                for (ConsumerSpec c : stream.getConsumers()) {
                    if (c.getPort().equals(stream.getIngress().getPort())) {
                        for (Pod p : Planner.usablePods(pods, c.getPodSelector())) {
                            if (stream.getIngress().getNodeName().equals(PodFacts.node(p))
                                    && p.getSpec().getHostNetwork() == Boolean.TRUE) {
                                return Verdict.rejected(CONSUMER_PORT_CLASH, "consumer " + c.getName() + " pod "
                                        + p.getMetadata().getName()
                                        + " uses host networking on the ingress node and port "
                                        + c.getPort() + ", which would loop the stream into itself");
                            }
                        }
                    }
                }
            }
        }
        if (state != null) {
            Optional<Verdict> v = selector("spec.state.origin.podSelector", state.getOrigin().getPodSelector());
            if (v.isEmpty()) {
                v = selector("spec.state.replicas.podSelector", state.getReplicas().getPodSelector());
            }
            if (v.isPresent()) {
                return v.get();
            }
            try {
                if (Quantities.millis(state.getMaxLag()) <= 0) {
                    return Verdict.rejected(INVALID_MAX_LAG, "spec.state.maxLag must be longer than zero");
                }
            } catch (IllegalArgumentException e) {
                return Verdict.rejected(INVALID_MAX_LAG, "spec.state.maxLag: " + e.getMessage());
            }
            var origins = pods.stream().filter(PodFacts::alive)
                    .filter(p -> Selectors.matches(state.getOrigin().getPodSelector(), p.getMetadata().getLabels()))
                    .map(p -> p.getMetadata().getName()).sorted().toList();
            if (origins.size() > 1) {
                return Verdict.rejected(ORIGIN_AMBIGUOUS, "the origin selector matches " + origins.size()
                        + " pods (" + String.join(", ", origins.subList(0, Math.min(5, origins.size())))
                        + "); it must match exactly one");
            }
            if (origins.size() == 1) {
                var originPod = pods.stream().filter(p -> p.getMetadata().getName().equals(origins.get(0))).findFirst();
                if (originPod.isPresent() && Selectors.matches(state.getReplicas().getPodSelector(),
                        originPod.get().getMetadata().getLabels())) {
                    return Verdict.rejected(REPLICA_IS_ORIGIN, "the replica selector also selects the origin pod "
                            + origins.get(0));
                }
            }
        }
        if (stream != null) {
            PortClaim mine = claim(er, pods);
            for (PortClaim other : claims) {
                if (other.key().equals(mine.key()) || other.port() != mine.port()) {
                    continue;
                }
                var shared = new TreeSet<>(mine.nodes());
                shared.retainAll(other.nodes());
                if (!shared.isEmpty() && other.precedes(mine)) {
                    return Verdict.rejected(INGRESS_PORT_CONFLICT, "ingress port " + mine.port() + " on node "
                            + shared.first() + " is already claimed by EdgeReplica " + other.key());
                }
            }
        }
        return Verdict.ACCEPTED;
    }

    /** The port claim of a stream resource (its nodes resolved from the pods). */
    public static PortClaim claim(EdgeReplica er, Collection<Pod> pods) {
        StreamSpec stream = er.getSpec().getStream();
        String created = er.getMetadata().getCreationTimestamp() == null ? "" : er.getMetadata().getCreationTimestamp();
        return new PortClaim(Planner.key(er), created, stream.getIngress().getPort(),
                Planner.ingressNodes(stream, pods));
    }

    private static Optional<Verdict> selector(String field, LabelSelector sel) {
        Optional<String> bad = Selectors.malformed(sel);
        if (bad.isPresent()) {
            return Optional.of(Verdict.rejected(INVALID_SELECTOR, field + ": " + bad.get()));
        }
        Optional<String> never = Selectors.neverMatches(sel);
        return never.map(m -> Verdict.rejected(SELECTOR_NEVER_MATCHES, field + " can never match a pod: " + m));
    }
}
