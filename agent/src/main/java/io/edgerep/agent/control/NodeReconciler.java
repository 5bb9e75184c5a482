// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.pods.RouteResolver;
import io.edgerep.agent.state.ReplicaId;
import io.edgerep.agent.state.StateWiring;
import io.edgerep.proto.v1.ConsumerConfig;
import io.edgerep.proto.v1.ConsumerResult;
import io.edgerep.proto.v1.Datapath;
import io.edgerep.proto.v1.EnsureReplicatorRequest;
import io.edgerep.proto.v1.EnsureReplicatorResponse;
import io.edgerep.proto.v1.ItemKind;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.ListStreamsRequest;
import io.edgerep.proto.v1.ListStreamsResponse;
import io.edgerep.proto.v1.ListTracesRequest;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.PodRef;
import io.edgerep.proto.v1.RemoveReplicatorRequest;
import io.edgerep.proto.v1.RemoveStreamRequest;
import io.edgerep.proto.v1.RemoveTraceRequest;
import io.edgerep.proto.v1.ReplicatorConsumer;
import io.edgerep.proto.v1.ReplicatorStream;
import io.edgerep.proto.v1.SetStreamRequest;
import io.edgerep.proto.v1.SetStreamResponse;
import io.edgerep.proto.v1.SetTraceRequest;
import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.proto.v1.StreamConfig;
import io.edgerep.proto.v1.TeardownRequest;
import io.edgerep.proto.v1.TeardownResponse;
import io.edgerep.proto.v1.TeardownResult;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;

/**
 * Turns a full {@link NodeConfig} into loader state by diffing it against what the loader reports: only what differs
 * is called, every item gets a result, and an item that fails does not stop the others. Applying the same config twice
 * makes no mutating call the second time.
 */
public final class NodeReconciler {
    private static final Logger LOG = Logger.getLogger(NodeReconciler.class);
    /**
     * A loader's first SetTrace may wait for the state program's compile (11-22 s measured on a loaded 2-core
     * machine): a shorter deadline failed the origin for good, as nothing applies the same config again.
     */
    static final long TRACE_DEADLINE_S = 120;

    private final LoaderGrpc.LoaderBlockingStub loader;
    private final PodFacts pods;
    private final StateWiring state;
    private final Path procRoot;
    private long mutatingCalls;
    private NodeConfig last;
    private NodeStatus lastStatus;
    private volatile Map<Integer, String> streamKeys = Map.of();
    private volatile Map<String, Long> budgets = Map.of();
    private boolean tornDown;
    /** The way out of the node of each consumer the last apply programmed, by the IP it was resolved for. */
    private Map<String, RouteResolver.Egress> routes = Map.of();
    /** What the loader warned about each consumer of a stream when it was last programmed, by stream id. */
    private final Map<Integer, Map<String, ConsumerResult>> warnings = new HashMap<>();
    private long routeChanges;

    public NodeReconciler(Channel loader, PodFacts pods, StateWiring state, Path procRoot) {
        this.loader = LoaderGrpc.newBlockingStub(loader);
        this.pods = pods;
        this.state = state;
        this.procRoot = procRoot;
    }

    /** Stream id to StreamConfig key, as last applied. */
    public Map<Integer, String> streamKeys() {
        return streamKeys;
    }

    /**
     * Bitrate budget in bits per second of each consumer whose policy holds one, by "streamKey/consumerKey", as last
     * applied.
     */
    public Map<String, Long> budgets() {
        return budgets;
    }

    /**
     * Whether the way out of the node of a consumer the last apply programmed has changed since: its route, the
     * neighbour's MAC, the bridge port that learned it, or no way at all any more. Only the kernel's tables are read;
     * consumers that did not resolve are not looked at ({@link FailedItemRetry} tries them again).
     */
    public synchronized boolean routesChanged() {
        for (Map.Entry<String, RouteResolver.Egress> e : routes.entrySet()) {
            Optional<RouteResolver.Egress> now;
            try {
                now = pods.egress(e.getKey());
            } catch (Exception ex) {
                now = Optional.empty();
            }
            if (!now.equals(Optional.of(e.getValue()))) {
                routeChanges++;
                LOG.infof("the way to consumer %s changed: was %s, now %s", e.getKey(), e.getValue(),
                        now.map(Object::toString).orElse("none"));
                return true;
            }
        }
        return false;
    }

    /** Changes of a programmed consumer's way out of the node seen by {@link #routesChanged()}, since start. */
    public synchronized long routeChanges() {
        return routeChanges;
    }

    /** Loader calls that changed something, since start. */
    public synchronized long mutatingCalls() {
        return mutatingCalls;
    }

    private LoaderGrpc.LoaderBlockingStub call() {
        return loader.withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /** The status of the last config applied; null when none was. */
    public synchronized NodeStatus lastStatus() {
        return lastStatus;
    }

    /**
     * Applies the last config again (e.g. the loader restarted and lost its traces); null when none was applied yet.
     */
    public synchronized NodeStatus reapply() {
        return last == null || tornDown ? null : apply(last);
    }

    /**
     * Uninstall: replication stops and the loader removes every attachment, trace and pin of the node. From then on
     * configs are not applied (the release is going away; a restarted agent serves again). A rolling restart never
     * gets here: the operator sends Teardown only when its release is uninstalled.
     */
    public synchronized TeardownResult teardown(String reason) {
        LOG.infof("tearing down for uninstall (%s)", reason);
        tornDown = true;
        routes = Map.of();
        state.retain(Set.of(), Set.of());
        try {
            TeardownResponse r = loader.withDeadlineAfter(TRACE_DEADLINE_S, TimeUnit.SECONDS)
                    .teardown(TeardownRequest.getDefaultInstance());
            LOG.infof("torn down: %s", r.getRemovedList().isEmpty() ? "nothing was left" : r.getRemovedList());
            return TeardownResult.newBuilder().setOk(true).addAllRemoved(r.getRemovedList()).build();
        } catch (StatusRuntimeException e) {
            LOG.warnf("teardown: the loader failed: %s", e.getStatus());
            return TeardownResult.newBuilder().setOk(false).setError("the loader: " + e.getStatus()).build();
        }
    }

    /**
     * What the node reports while its loader is gone, from the last status: stream items stay applied but degraded
     * (the kernel keeps forwarding with what was programmed, nobody can change it), origins fail (their writes are
     * not captured); replicas do not need the loader. Null when nothing was applied yet.
     */
    public synchronized NodeStatus loaderLost(String why) {
        if (lastStatus == null) {
            return null;
        }
        NodeStatus.Builder b = lastStatus.toBuilder().clearItems();
        for (ItemResult r : lastStatus.getItemsList()) {
            switch (r.getKind()) {
                case ITEM_KIND_STREAM, ITEM_KIND_CONSUMER -> b.addItems(r.getOk()
                        ? r.toBuilder().setDegraded(true).setReason("LoaderUnavailable").setMessage(
                                "the loader is gone (" + why + "); the kernel forwards with the state last programmed")
                                .build()
                        : r);
                case ITEM_KIND_STATE_ORIGIN -> b.addItems(fail(r.getKind(), r.getKey(), "LoaderUnavailable",
                        "the loader is gone (" + why + "); the origin's writes are not captured"));
                default -> b.addItems(r);
            }
        }
        return b.build();
    }

    public synchronized NodeStatus apply(NodeConfig cfg) {
        if (tornDown) {
            LOG.infof("config %d not applied: the node was torn down for uninstall", cfg.getVersion());
            return NodeStatus.newBuilder().setAppliedVersion(cfg.getVersion()).build();
        }
        last = cfg;
        List<ItemResult> results = new ArrayList<>();
        try {
            applyStreams(cfg, results);
        } catch (StatusRuntimeException e) {
            // the loader is unreachable: every stream item fails, state items still go on
            for (StreamConfig s : cfg.getStreamsList()) {
                results.add(fail(ItemKind.ITEM_KIND_STREAM, s.getKey(), "LoaderUnavailable", e.getStatus().toString()));
            }
        }
        applyState(cfg, results);
        lastStatus = NodeStatus.newBuilder().setAppliedVersion(cfg.getVersion()).addAllItems(results).build();
        return lastStatus;
    }

    private void applyStreams(NodeConfig cfg, List<ItemResult> results) {
        ListStreamsResponse actual = call().listStreams(ListStreamsRequest.getDefaultInstance());
        Map<String, EnsureReplicatorResponse> haveRep = new HashMap<>();
        for (int i = 0; i < actual.getReplicatorsCount() && i < actual.getReplicatorInterfacesCount(); i++) {
            haveRep.put(actual.getReplicatorInterfaces(i), actual.getReplicators(i));
        }
        Map<Integer, ReplicatorStream> haveStreams = new HashMap<>();
        for (ReplicatorStream s : actual.getStreamsList()) {
            haveStreams.put(s.getStreamId(), s);
        }

        // replicators: one per ingress interface, the first stream's datapath wins
        Map<String, Datapath> wantRep = new LinkedHashMap<>();
        for (StreamConfig s : cfg.getStreamsList()) {
            wantRep.putIfAbsent(s.getInterface(), dp(s.getDatapath()));
        }
        Map<String, String> repError = new HashMap<>();
        Map<String, EnsureReplicatorResponse> repState = new HashMap<>();
        for (Map.Entry<String, Datapath> e : wantRep.entrySet()) {
            EnsureReplicatorResponse have = haveRep.get(e.getKey());
            if (have != null && (have.getDatapath() == e.getValue() || !have.getFallbackReason().isEmpty())) {
                repState.put(e.getKey(), have);
                continue;
            }
            try {
                mutatingCalls++;
                repState.put(e.getKey(), call().ensureReplicator(
                        EnsureReplicatorRequest.newBuilder().setInterface(e.getKey()).setDatapath(e.getValue())
                                .build()));
            } catch (StatusRuntimeException ex) {
                repError.put(e.getKey(), ex.getStatus().getCode() + ": " + ex.getStatus().getDescription());
            }
        }

        Map<String, Integer> ids = StableIds.assign(cfg.getStreamsList().stream().map(StreamConfig::getKey).toList());
        Map<Integer, String> keys = new HashMap<>();
        ids.forEach((k, v) -> keys.put(v, k));
        streamKeys = Map.copyOf(keys);
        Map<String, RouteResolver.Egress> resolved = new HashMap<>();
        Map<String, Long> bps = new HashMap<>();
        cfg.getStreamsList().forEach(s -> s.getConsumersList().stream()
                .filter(c -> c.getPolicy().getRateBytesPerSec() > 0)
                .forEach(c -> bps.put(s.getKey() + "/" + c.getKey(), c.getPolicy().getRateBytesPerSec() * 8)));
        budgets = Map.copyOf(bps);
        Set<Integer> keep = new HashSet<>();
        for (StreamConfig s : cfg.getStreamsList()) {
            int id = ids.get(s.getKey());
            keep.add(id);
            if (repError.containsKey(s.getInterface())) {
                results.add(fail(ItemKind.ITEM_KIND_STREAM, s.getKey(), "ReplicatorFailed",
                        repError.get(s.getInterface())));
                continue;
            }
            ReplicatorStream.Builder spec = ReplicatorStream.newBuilder().setStreamId(id).setInterface(s.getInterface())
                    .setIpProtocol(s.getIpProtocol()).setPort(s.getPort())
                    .setInspection(s.getInspection());
            Map<String, ItemResult> consumerResults = new LinkedHashMap<>();
            for (ConsumerConfig c : s.getConsumersList()) {
                String ck = s.getKey() + "/" + c.getKey();
                try {
                    Optional<ReplicatorConsumer> cs = replicatorConsumer(c, resolved);
                    if (cs.isEmpty()) {
                        consumerResults.put(ck, fail(ItemKind.ITEM_KIND_CONSUMER, ck, "PodNotResolved",
                                "no direct route or no neighbour entry for " + target(c)));
                    } else {
                        spec.addConsumers(cs.get());
                        consumerResults.put(ck, ok(ItemKind.ITEM_KIND_CONSUMER, ck));
                    }
                } catch (Exception e) {
                    consumerResults.put(ck, fail(ItemKind.ITEM_KIND_CONSUMER, ck, "PodNotResolved", e.toString()));
                }
            }
            ReplicatorStream want = spec.build();
            ItemResult.Builder sr = ItemResult.newBuilder().setKind(ItemKind.ITEM_KIND_STREAM).setKey(s.getKey())
                    .setOk(true);
            EnsureReplicatorResponse rep = repState.get(s.getInterface());
            if (rep != null && !rep.getFallbackReason().isEmpty()) {
                sr.setDegraded(true).setReason("XdpFellBackToTc").setMessage(rep.getFallbackReason());
            }
            if (!want.equals(haveStreams.get(id))) {
                try {
                    mutatingCalls++;
                    SetStreamResponse resp = call().setStream(SetStreamRequest.newBuilder().setStream(want).build());
                    Map<String, ConsumerResult> warned = new HashMap<>();
                    for (ConsumerResult r : resp.getConsumersList()) {
                        String ck = s.getKey() + "/" + r.getName();
                        if (!r.getOk()) {
                            consumerResults.put(ck,
                                    fail(ItemKind.ITEM_KIND_CONSUMER, ck, "ConsumerRejected", r.getError()));
                        } else if (!r.getWarning().isEmpty()) {
                            warned.put(ck, r);
                        }
                    }
                    warnings.put(id, warned);
                } catch (StatusRuntimeException e) {
                    sr.setOk(false).setReason("SetStreamFailed").setMessage(e.getStatus().toString());
                }
            }
            // a warning holds as long as what it was given for is programmed, not only on the call that said it
            warnings.getOrDefault(id, Map.of()).forEach((ck, w) -> consumerResults.computeIfPresent(ck,
                    (k, r) -> r.getOk()
                            ? r.toBuilder().setDegraded(true).setReason(w.getWarningReason()).setMessage(w.getWarning())
                                    .build()
                            : r));
            results.add(sr.build());
            results.addAll(consumerResults.values());
        }
        routes = Map.copyOf(resolved);
        warnings.keySet().retainAll(keep);
        for (Integer id : haveStreams.keySet()) {
            if (!keep.contains(id)) {
                try {
                    mutatingCalls++;
                    call().removeStream(RemoveStreamRequest.newBuilder().setStreamId(id).build());
                } catch (StatusRuntimeException e) {
                    LOG.warnf("removing stream %d: %s", id, e.getStatus());
                }
            }
        }
        for (String iface : haveRep.keySet()) {
            if (!wantRep.containsKey(iface)) {
                try {
                    mutatingCalls++;
                    call().removeReplicator(RemoveReplicatorRequest.newBuilder().setInterface(iface).build());
                } catch (StatusRuntimeException e) {
                    LOG.warnf("removing replicator on %s: %s", iface, e.getStatus());
                }
            }
        }
    }

    private static String target(ConsumerConfig c) {
        return c.getViaNodeIp().isEmpty() ? c.getPod().getIp() : c.getViaNodeIp();
    }

    /** The kernel's view of a consumer: local pods get their port and MAC, remote ones leave through the FIB. */
    private Optional<ReplicatorConsumer> replicatorConsumer(ConsumerConfig c, Map<String, RouteResolver.Egress> seen)
            throws Exception {
        ReplicatorConsumer.Builder b = ReplicatorConsumer.newBuilder().setName(c.getKey()).setDstIp(c.getPod().getIp())
                .setDstPort(c.getPort()).setPolicy(c.getPolicy());
        Optional<RouteResolver.Egress> e = pods.egress(target(c));
        // a pod of this node is reached directly; a route through a gateway (the default route, once the pod's own
        // route went with its veth) would send its copies to the gateway's MAC
        if (e.isEmpty() || (c.getViaNodeIp().isEmpty() && !e.get().via().isEmpty())) {
            return Optional.empty();
        }
        seen.put(target(c), e.get());
        b.setEgressInterface(e.get().iface());
        if (c.getViaNodeIp().isEmpty()) {
            b.setDstMac(e.get().mac());
        }
        return Optional.of(b.build());
    }

    private void applyState(NodeConfig cfg, List<ItemResult> results) {
        Map<String, Integer> ids = StableIds
                .assign(cfg.getStateOriginsList().stream().map(StateOriginConfig::getKey).toList());
        Set<Integer> keepTraces = new HashSet<>();
        Map<Integer, SetTraceRequest> haveTraces = new HashMap<>();
        boolean loaderUp = true;
        try {
            for (SetTraceRequest t : call().listTraces(ListTracesRequest.getDefaultInstance()).getTracesList()) {
                haveTraces.put(t.getReplicationId(), t);
            }
        } catch (StatusRuntimeException e) {
            loaderUp = false;
        }
        Set<String> origins = new HashSet<>();
        for (StateOriginConfig o : cfg.getStateOriginsList()) {
            int id = ids.get(o.getKey());
            keepTraces.add(id);
            origins.add(o.getKey());
            try {
                CgroupResolver.Container c = container(o.getPod(), o.getContainer());
                Path root = c.root(procRoot)
                        .orElseThrow(() -> new IllegalStateException("origin container has no process"));
                SetTraceRequest want = SetTraceRequest.newBuilder().setReplicationId(id).addCgroupIds(c.cgroupId())
                        .addAllPrefixes(o.getPathsList()).setRoot(root.toString()).build();
                state.origin(o, id, root);
                if (!loaderUp) {
                    results.add(fail(ItemKind.ITEM_KIND_STATE_ORIGIN, o.getKey(), "LoaderUnavailable", "cannot trace"));
                    continue;
                }
                if (!want.equals(haveTraces.get(id))) {
                    mutatingCalls++;
                    loader.withDeadlineAfter(TRACE_DEADLINE_S, TimeUnit.SECONDS).setTrace(want);
                }
                // only now: a resync snapshot taken before the trace was in place would miss writes
                state.traced(o.getKey());
                results.add(ok(ItemKind.ITEM_KIND_STATE_ORIGIN, o.getKey()));
            } catch (StatusRuntimeException e) {
                results.add(
                        fail(ItemKind.ITEM_KIND_STATE_ORIGIN, o.getKey(), "SetTraceFailed", e.getStatus().toString()));
            } catch (Exception e) {
                results.add(fail(ItemKind.ITEM_KIND_STATE_ORIGIN, o.getKey(), "PodNotResolved", e.getMessage()));
            }
        }
        if (loaderUp) {
            for (Integer id : haveTraces.keySet()) {
                if (!keepTraces.contains(id)) {
                    try {
                        mutatingCalls++;
                        call().removeTrace(RemoveTraceRequest.newBuilder().setReplicationId(id).build());
                    } catch (StatusRuntimeException e) {
                        LOG.warnf("removing trace %d: %s", id, e.getStatus());
                    }
                }
            }
        }
        Set<ReplicaId> replicas = new HashSet<>();
        for (StateReplicaConfig r : cfg.getStateReplicasList()) {
            ReplicaId rid = new ReplicaId(r.getKey(), r.getPod().getName());
            replicas.add(rid);
            try {
                CgroupResolver.Container c = container(r.getPod(), r.getContainer());
                Path root = c.root(procRoot)
                        .orElseThrow(() -> new IllegalStateException("replica container has no process"));
                state.replica(r, root);
                results.add(ok(ItemKind.ITEM_KIND_STATE_REPLICA, rid.toString()));
            } catch (Exception e) {
                results.add(fail(ItemKind.ITEM_KIND_STATE_REPLICA, rid.toString(),
                        "PodNotResolved",
                        String.valueOf(e.getMessage())));
            }
        }
        state.retain(origins, replicas);
    }

    private CgroupResolver.Container container(PodRef pod, String container) throws Exception {
        String cid = pod.getContainerIdsMap().get(container);
        if (cid == null || cid.isEmpty()) {
            throw new IllegalStateException(
                    "pod " + pod.getNamespace() + "/" + pod.getName() + " has no container " + container);
        }
        return pods.container(cid).orElseThrow(() -> new IllegalStateException("no cgroup for container " + cid));
    }

    private static Datapath dp(Datapath d) {
        return d == Datapath.DATAPATH_UNSPECIFIED ? Datapath.DATAPATH_TC : d;
    }

    static ItemResult ok(ItemKind kind, String key) {
        return ItemResult.newBuilder().setKind(kind).setKey(key).setOk(true).build();
    }

    static ItemResult fail(ItemKind kind, String key, String reason, String message) {
        return ItemResult.newBuilder().setKind(kind).setKey(key).setOk(false).setReason(reason)
                .setMessage(message == null ? "" : message).build();
    }
}
