// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.reconciler;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.api.v1alpha1.EdgeReplicaStatus;
import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.ReleaseOwner;
import io.edgerep.operator.metrics.OperatorMeters;
import io.edgerep.operator.plan.PlanInputs;
import io.edgerep.operator.plan.Planner;
import io.edgerep.operator.plan.PortClaim;
import io.edgerep.operator.plan.ResourcePlan;
import io.edgerep.operator.plan.SemanticValidator;
import io.edgerep.operator.plan.Validation;
import io.edgerep.operator.plan.Verdict;
import io.edgerep.operator.qoc.QocProfiles;
import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.operator.registry.EndpointStore;
import io.edgerep.operator.registry.NodeView;
import io.edgerep.operator.status.AgentPods;
import io.edgerep.operator.status.Conditions;
import io.edgerep.operator.status.StatusAggregator;
import io.edgerep.operator.status.StatusPacer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Reconciles EdgeReplicas: validates, plans each node's items, hands them to the agent registry,
 * and reports what the nodes did. Pods, QoC profile ConfigMaps and agent reports re-trigger the
 * resources they concern. Never waits: anything pending is picked up by a later event or a
 * rescheduled run.
 */
@ControllerConfiguration(name = EdgeReplicaReconciler.NAME)
public class EdgeReplicaReconciler implements Reconciler<EdgeReplica>, Cleaner<EdgeReplica> {

    public static final String NAME = "edgereplica";
    private static final Logger LOG = Logger.getLogger(EdgeReplicaReconciler.class);

    /** Safety-net re-run while a resource is not Ready. */
    static final Duration RECHECK = Duration.ofSeconds(10);

    private final AgentRegistry registry;
    private final OperatorSettings settings;
    private final EventRecorder events;
    private final Clock clock;
    private final StatusPacer pacer;
    private volatile OperatorMeters meters = OperatorMeters.none();
    /** Why a node has no agent connected; nothing to say without a cluster to ask. */
    private volatile Function<String, String> absence = node -> "";

    private final Map<String, Set<String>> selectedPods = new ConcurrentHashMap<>();
    private final Map<String, Instant> cleanupStarted = new ConcurrentHashMap<>();

    private volatile IndexerResourceCache<EdgeReplica> primaries;
    private volatile InformerEventSource<Pod, EdgeReplica> pods;
    private volatile InformerEventSource<ConfigMap, EdgeReplica> profiles;
    private final SimpleInboundEventSource<EdgeReplica> agentEvents = new SimpleInboundEventSource<>("agents");

    @Inject
    public EdgeReplicaReconciler(KubernetesClient client, AgentRegistry registry, OperatorSettings settings,
            MeterRegistry meterRegistry, ReleaseOwner owner) {
        this(registry, settings, new EventRecorder(client), Clock.systemUTC());
        meters = new OperatorMeters(meterRegistry);
        absence = new AgentPods(client, settings);
        registry.useMeters(meters);
        // endpoints recorded by the previous run, so the first plans equal the last ones
        registry.useEndpointStore(new EndpointStore(client, settings.namespace(), "edgerep-agents", owner));
    }

    public EdgeReplicaReconciler(AgentRegistry registry, OperatorSettings settings, EventRecorder events, Clock clock) {
        this.registry = registry;
        this.settings = settings;
        this.events = events;
        this.clock = clock;
        this.pacer = new StatusPacer(clock);
        registry.addEventListener((node, ev) -> {
            int slash = ev.getKey().indexOf('/');
            var cache = primaries;
            if (slash < 0 || cache == null) {
                return;
            }
            cache.get(new ResourceID(ev.getKey().substring(slash + 1), ev.getKey().substring(0, slash)))
                    .ifPresent(er -> events.record(er, ev.getWarning(),
                            ev.getReason().matches("^[A-Z][A-Za-z0-9]{0,127}$") ? ev.getReason() : "AgentEvent",
                            "node " + node + ": " + ev.getMessage()));
        });
        registry.addListener(keys -> keys.forEach(k -> {
            int slash = k.indexOf('/');
            agentEvents.propagateEvent(new ResourceID(k.substring(slash + 1), k.substring(0, slash)));
        }));
    }

    @Override
    public List<EventSource<?, EdgeReplica>> prepareEventSources(EventSourceContext<EdgeReplica> context) {
        var cache = context.getPrimaryCache();
        primaries = cache;
        // the registry's gate opens once every resource in the cache was planned
        registry.useResourceKeys(() -> cache.list().map(Planner::key));
        pods = new InformerEventSource<>(InformerEventSourceConfiguration.from(Pod.class, EdgeReplica.class)
                .withName("pods").withNamespacesInheritedFromController()
                .withSecondaryToPrimaryMapper(this::podToPrimaries).build(), context);
        profiles = new InformerEventSource<>(InformerEventSourceConfiguration.from(ConfigMap.class, EdgeReplica.class)
                .withName("qoc-profiles").withNamespacesInheritedFromController()
                .withLabelSelector(QocProfiles.PROFILE_LABEL)
                .withSecondaryToPrimaryMapper(this::profileToPrimaries).build(), context);
        return List.of(pods, profiles, agentEvents);
    }

    /** A pod concerns every resource that selects it now or selected it at the last plan. */
    Set<ResourceID> podToPrimaries(Pod pod) {
        String ns = pod.getMetadata().getNamespace();
        String name = pod.getMetadata().getName();
        Set<ResourceID> out = new HashSet<>();
        primaries.list(er -> ns.equals(er.getMetadata().getNamespace())).forEach(er -> {
            if (PlanInputs.selects(er, pod) || selectedPods.getOrDefault(Planner.key(er), Set.of()).contains(name)) {
                out.add(ResourceID.fromResource(er));
            }
        });
        return out;
    }

    Set<ResourceID> profileToPrimaries(ConfigMap cm) {
        String ns = cm.getMetadata().getNamespace();
        Set<ResourceID> out = new HashSet<>();
        primaries.list(er -> ns.equals(er.getMetadata().getNamespace()) && er.getSpec().getStream() != null
                && cm.getMetadata().getName().equals(er.getSpec().getStream().getQocProfile()))
                .forEach(er -> out.add(ResourceID.fromResource(er)));
        return out;
    }

    @Override
    public UpdateControl<EdgeReplica> reconcile(EdgeReplica er, Context<EdgeReplica> context) {
        return meters.reconcile(() -> reconcileNow(er));
    }

    private UpdateControl<EdgeReplica> reconcileNow(EdgeReplica er) {
        String key = Planner.key(er);
        Instant now = clock.instant();
        List<Pod> nsPods = pods.list(er.getMetadata().getNamespace()).toList();
        QocProfiles.ConfigMaps cms = (n, name) -> profiles.get(new ResourceID(name, n));

        Validation validation = SemanticValidator.validate(er, nsPods, claimsOfOthers(er), cms);
        Verdict verdict = validation.verdict();
        ResourcePlan plan = validation.accepted()
                ? Planner.plan(er, nsPods, registry.facts(), validation.profile())
                : ResourcePlan.none(key, er.getMetadata().getGeneration());
        registry.update(key, plan.nodes());
        selectedPods.put(key, selected(plan));

        EdgeReplicaStatus status = StatusAggregator.aggregate(er, verdict, plan, views(key, plan), now, absence);
        announce(er, verdict);
        boolean ready = Conditions.isTrue(status.getConditions(), EdgeReplicaStatus.READY);
        StatusPacer.Pace pace = pacer.pace(key, er.getMetadata().getGeneration(), er.getStatus(), status);
        if (pace.action() == StatusPacer.Action.UNCHANGED) {
            return again(UpdateControl.noUpdate(), verdict, ready);
        }
        if (pace.action() == StatusPacer.Action.WAIT) {
            UpdateControl<EdgeReplica> later = UpdateControl.noUpdate();
            later.rescheduleAfter(pace.waitMillis());
            return later;
        }
        return again(UpdateControl.patchStatus(statusPatch(er, status)), verdict, ready);
    }

    /** A patch that carries only the status. */
    private static EdgeReplica statusPatch(EdgeReplica er, EdgeReplicaStatus status) {
        EdgeReplica patch = new EdgeReplica();
        patch.setMetadata(new ObjectMetaBuilder().withName(er.getMetadata().getName())
                .withNamespace(er.getMetadata().getNamespace()).build());
        patch.setStatus(status);
        return patch;
    }

    /** The pods the plan uses: consumers, replicas and the origin (a change to one of them concerns us). */
    private static Set<String> selected(ResourcePlan plan) {
        Set<String> sel = new HashSet<>();
        plan.consumers().values().forEach(sel::addAll);
        sel.addAll(plan.replicaPods().keySet());
        if (plan.originPod() != null) {
            sel.add(plan.originPod());
        }
        return sel;
    }

    /** What each node the resource involves (its items' nodes and its replicas' nodes) reports. */
    private Map<String, NodeView> views(String key, ResourcePlan plan) {
        Map<String, NodeView> views = new TreeMap<>();
        Set<String> involved = new HashSet<>(plan.nodes().keySet());
        involved.addAll(plan.replicaPods().values());
        for (String node : involved) {
            views.put(node, registry.view(key, node));
        }
        return views;
    }

    private static UpdateControl<EdgeReplica> again(UpdateControl<EdgeReplica> c, Verdict verdict, boolean ready) {
        if (!verdict.accepted()) {
            // only a port conflict can clear without an event on this resource (the other one going away)
            if (SemanticValidator.INGRESS_PORT_CONFLICT.equals(verdict.reason())) {
                c.rescheduleAfter(RECHECK.toMillis());
            }
            return c;
        }
        if (!ready) {
            c.rescheduleAfter(RECHECK.toMillis());
        }
        return c;
    }

    /** An Event when the acceptance verdict changes (not on every run). */
    private void announce(EdgeReplica er, Verdict verdict) {
        var prev = er.getStatus() == null
                ? Optional.<Condition>empty()
                : Conditions.find(er.getStatus().getConditions(), EdgeReplicaStatus.ACCEPTED);
        boolean changed = prev.isEmpty() || !prev.get().getReason().equals(verdict.reason())
                || !prev.get().getStatus().equals(verdict.accepted() ? "True" : "False")
                || !Objects.equals(prev.get().getObservedGeneration(), er.getMetadata().getGeneration());
        if (changed && !verdict.accepted()) {
            events.record(er, true, verdict.reason(), verdict.message());
        }
    }

    /** Port claims of the other stream resources that have not been rejected for another reason. */
    private Collection<PortClaim> claimsOfOthers(EdgeReplica er) {
        List<PortClaim> claims = new ArrayList<>();
        String key = Planner.key(er);
        primaries.list(o -> o.getSpec() != null && o.getSpec().getStream() != null
                && o.getMetadata().getDeletionTimestamp() == null && !key.equals(Planner.key(o)))
                .forEach(o -> {
                    var acc = o.getStatus() == null
                            ? Optional.<Condition>empty()
                            : Conditions.find(o.getStatus().getConditions(), EdgeReplicaStatus.ACCEPTED);
                    if (acc.isPresent() && "False".equals(acc.get().getStatus())
                            && !SemanticValidator.INGRESS_PORT_CONFLICT.equals(acc.get().getReason())) {
                        return;
                    }
                    claims.add(SemanticValidator.claim(o, pods.list(o.getMetadata().getNamespace()).toList()));
                });
        return claims;
    }

    @Override
    public DeleteControl cleanup(EdgeReplica er, Context<EdgeReplica> context) {
        String key = Planner.key(er);
        Set<String> pending = registry.removeAndPending(key);
        selectedPods.remove(key);
        pacer.forget(key);
        if (pending.isEmpty()) {
            return removed(key);
        }
        Instant now = clock.instant();
        Instant started = cleanupStarted.computeIfAbsent(key, k -> now);
        if (Duration.between(started, now).compareTo(settings.finalizerTimeout()) >= 0) {
            events.record(er, true, "CleanupGivenUp", "node(s) " + String.join(", ", new TreeSet<>(pending))
                    + " did not acknowledge the removal within " + settings.finalizerTimeout().toSeconds()
                    + "s; removing the finalizer anyway");
            LOG.warnf("%s: gave up waiting for %s to acknowledge removal", key, pending);
            return removed(key);
        }
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(500);
    }

    private DeleteControl removed(String key) {
        registry.forget(key);
        cleanupStarted.remove(key);
        return DeleteControl.defaultDelete();
    }
}
