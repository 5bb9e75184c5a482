// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.agent.metrics.NodeSample;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.proto.v1.ReplicaTarget;
import io.edgerep.proto.v1.StateOriginConfig;
import io.edgerep.proto.v1.StateReplicaConfig;
import io.edgerep.wire.ProtoTime;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;

/**
 * Keeps the node's state replication in line with its config: one {@link OriginReplication} per origin key (fed by
 * the loader's events, pushing over mTLS to each replica's agent), one {@link StateApplier} per replica registered in
 * the {@link ReplicationService}. Unchanged items are left running untouched.
 */
public final class StateReplicationManager implements StateWiring, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StateReplicationManager.class);

    private record OriginState(OriginReplication replication, int id, Path root, List<String> paths,
            Map<String, ManagedChannel> channels, Map<String, String> endpoints) {
    }

    /** A replica's position is saved once no batch changed its files for this long. */
    static final long CHECKPOINT_IDLE_MS = 500;

    private final ReplicationService service;
    private final StateEventPump pump;
    private final Path stateDir;
    private final Supplier<NodeTls> tls;
    private final long memLimit;
    private final long diskLimit;
    private final Map<String, OriginState> origins = new HashMap<>();
    private final Map<String, Long> reported = new HashMap<>(); // counter name -> value already turned into events

    public StateReplicationManager(ReplicationService service, StateEventPump pump, Path stateDir,
            Supplier<NodeTls> tls,
            long memLimitBytes, long diskLimitBytes) {
        this.service = service;
        this.pump = pump;
        this.stateDir = stateDir;
        this.tls = tls;
        this.memLimit = memLimitBytes;
        this.diskLimit = diskLimitBytes;
    }

    @Override
    public synchronized void origin(StateOriginConfig cfg, int replicationId, Path root) throws Exception {
        OriginState st = origins.get(cfg.getKey());
        if (st != null && (!st.root.equals(root) || !st.paths.equals(cfg.getPathsList()) || st.id != replicationId)) {
            stopOrigin(cfg.getKey());
            st = null;
        }
        if (st == null) {
            String dir = cfg.getKey().replaceAll("[^A-Za-z0-9_.-]", "_");
            OpLog log = new OpLog(stateDir.resolve("spill").resolve(dir), memLimit, diskLimit);
            OriginReplication o = new OriginReplication(cfg.getKey(), new ConfinedRoot(root, cfg.getPathsList()), log);
            st = new OriginState(o, replicationId, root, List.copyOf(cfg.getPathsList()), new HashMap<>(),
                    new HashMap<>());
            origins.put(cfg.getKey(), st);
            pump.route(replicationId, o);
            LOG.infof("origin %s: replication id %d, root %s, paths %s", cfg.getKey(), replicationId, root,
                    cfg.getPathsList());
        }
        Set<String> want = new HashSet<>();
        for (ReplicaTarget t : cfg.getReplicasList()) {
            String pod = t.getPod().getName();
            want.add(pod);
            if (t.getAgentEndpoint().equals(st.endpoints.get(pod)) && st.replication.links().containsKey(pod)) {
                continue;
            }
            NodeTls t0 = tls.get();
            if (t0 == null) {
                throw new IllegalStateException("no node certificate yet");
            }
            ManagedChannel ch = NettyChannelBuilder.forTarget(t.getAgentEndpoint()).sslContext(t0.clientContext())
                    .overrideAuthority(t.getPod().getNode()).maxInboundMessageSize(64 << 20).build();
            ManagedChannel old = st.channels.put(pod, ch);
            st.endpoints.put(pod, t.getAgentEndpoint());
            st.replication.addLink(new ReplicaLink(cfg.getKey(), pod, st.replication.log(), st.replication.origin(), ch,
                    ReplicaLink.Options.defaults().verifyingEvery(verifyIntervalMs(cfg))).start());
            if (old != null) {
                old.shutdownNow();
            }
        }
        st.replication.links().values().forEach(l -> l.verifyEvery(verifyIntervalMs(cfg)));
        for (String pod : new ArrayList<>(st.replication.links().keySet())) {
            if (!want.contains(pod)) {
                st.replication.removeLink(pod);
                ManagedChannel ch = st.channels.remove(pod);
                st.endpoints.remove(pod);
                if (ch != null) {
                    ch.shutdownNow();
                }
            }
        }
    }

    /** The config's whole-tree verification interval; the default when an older operator sends none. */
    static long verifyIntervalMs(StateOriginConfig cfg) {
        if (!cfg.hasVerifyInterval()) {
            return ReplicaLink.Options.DEFAULT_VERIFY_INTERVAL_MS;
        }
        return ProtoTime.millis(cfg.getVerifyInterval());
    }

    @Override
    public synchronized void traced(String key) {
        OriginState st = origins.get(key);
        if (st != null) {
            st.replication.captureOn();
        }
    }

    @Override
    public synchronized void replica(StateReplicaConfig cfg, Path root) {
        String pod = cfg.getPod().getName();
        ReplicationService.Replica have = service.replicas().get(new ReplicaId(cfg.getKey(), pod));
        if (have != null && have.originNode().equals(cfg.getOriginNode()) && have.applier().root().root().equals(root)
                && have.applier().root().prefixes().equals(new ConfinedRoot(root, cfg.getPathsList()).prefixes())) {
            return;
        }
        if (have != null) {
            have.applier().dropCheckpoint(); // another root or origin: its position means nothing for the new one
        }
        service.put(new ReplicationService.Replica(new StateApplier(cfg.getKey(), pod, new ConfinedRoot(root,
                cfg.getPathsList()), checkpointFile(cfg.getKey(), pod)), cfg.getOriginNode()));
    }

    @Override
    public synchronized void retain(Set<String> originKeys, Set<ReplicaId> replicas) {
        for (String k : new ArrayList<>(origins.keySet())) {
            if (!originKeys.contains(k)) {
                stopOrigin(k);
            }
        }
        for (ReplicaId id : new ArrayList<>(service.replicas().keySet())) {
            if (!replicas.contains(id)) {
                ReplicationService.Replica r = service.replicas().get(id);
                service.remove(id);
                r.applier().dropCheckpoint();
            }
        }
    }

    private void stopOrigin(String key) {
        OriginState st = origins.remove(key);
        if (st != null) {
            pump.unroute(st.id);
            st.replication.close();
            st.channels.values().forEach(ManagedChannel::shutdownNow);
        }
    }

    /** Where a replica's position is saved. */
    Path checkpointFile(String key, String pod) {
        return stateDir.resolve("replicas")
                .resolve((key + "__" + pod).replaceAll("[^A-Za-z0-9_.-]", "_") + ".position");
    }

    /**
     * Periodic housekeeping: trims every origin's buffer to what all its replicas acked, saves the position of every
     * replica idle for {@link #CHECKPOINT_IDLE_MS}.
     */
    public synchronized void tick() {
        origins.values().forEach(o -> o.replication.trim());
        service.replicas().values().forEach(r -> r.applier().checkpointIfIdle(CHECKPOINT_IDLE_MS));
    }

    public synchronized List<OriginProgress> originProgress() {
        List<OriginProgress> out = new ArrayList<>();
        for (OriginState o : origins.values()) {
            OriginProgress.Builder b = OriginProgress.newBuilder().setKey(o.replication.key())
                    .setLastSeq(o.replication.log().lastSeq()).setLostRecords(o.replication.lostRecords());
            for (ReplicaLink l : o.replication.links().values()) {
                b.addDrift(io.edgerep.proto.v1.ReplicaDrift.newBuilder().setPod(l.pod())
                        .setDriftedPaths(l.counters().driftedPaths()).setRepairing(l.drifting()));
            }
            out.add(b.build());
        }
        return out;
    }

    public List<ReplicaProgress> replicaProgress() {
        List<ReplicaProgress> out = new ArrayList<>();
        for (ReplicationService.Replica r : service.replicas().values()) {
            StateApplier a = r.applier();
            out.add(ReplicaProgress.newBuilder().setKey(a.key()).setPod(a.pod()).setAppliedSeq(a.reportedSeq())
                    .setLag(ProtoTime.duration(a.reportedLagMs())).setResyncs(a.resyncs()).setRefusedOps(a.refusedOps())
                    .setConfirmed(a.confirmed()).build());
        }
        return out;
    }

    /** What each origin on this node has sent to each of its replicas, for metrics. */
    public synchronized List<NodeSample.Link> linkSamples() {
        List<NodeSample.Link> out = new ArrayList<>();
        for (OriginState o : origins.values()) {
            for (ReplicaLink l : o.replication.links().values()) {
                LinkCounters c = l.counters();
                out.add(new NodeSample.Link(l.key(), l.pod(), l.ackedSeq(), c.sentOps(), c.resyncs(),
                        c.resyncedBytes(), c.verifyRepairs(), c.driftedPaths(), l.inSync()));
            }
        }
        return out;
    }

    /** Origin-side figures for metrics: resynced bytes and resyncs summed over links. */
    public synchronized long resyncedBytes() {
        return origins.values().stream().flatMap(o -> o.replication.links().values().stream())
                .mapToLong(l -> l.counters().resyncedBytes()).sum();
    }

    public synchronized long bufferedBytes() {
        return origins.values().stream()
                .mapToLong(o -> o.replication.log().memBytes() + o.replication.log().diskBytes())
                .sum();
    }

    /**
     * Events for the operator about what happened since the last call: completed resyncs (with the bytes they sent),
     * refused ops and refused peers. Coalesced: one event per key and kind per call.
     */
    public synchronized List<io.edgerep.proto.v1.AgentEvent> drainEvents() {
        List<io.edgerep.proto.v1.AgentEvent> out = new ArrayList<>();
        for (OriginState o : origins.values()) {
            for (ReplicaLink l : o.replication.links().values()) {
                long n = l.counters().resyncs();
                String id = "resyncs " + l.id();
                if (n > reported.getOrDefault(id, 0L)) {
                    reported.put(id, n);
                    out.add(event(l.key(), false, "Resynced",
                            String.format("replica %s resynced (%d resyncs, %d bytes sent in "
                                    + "total)", l.pod(), n, l.counters().resyncedBytes())));
                }
            }
        }
        for (OriginState o : origins.values()) {
            for (ReplicaLink l : o.replication.links().values()) {
                long n = l.counters().driftedPaths();
                String id = "drift " + l.id();
                if (n > reported.getOrDefault(id, 0L)) {
                    out.add(event(l.key(), true, "Drift", String.format("replica %s differed from the origin in %d "
                            + "path(s) no captured write explains (another container, kubectl cp, a change on the "
                            + "replica): %s; repairing", l.pod(), n - reported.getOrDefault(id, 0L), l.lastDrift())));
                    reported.put(id, n);
                }
            }
        }
        for (ReplicationService.Replica r : service.replicas().values()) {
            StateApplier a = r.applier();
            String id = "refused " + new ReplicaId(a.key(), a.pod());
            long n = a.refusedOps();
            if (n > reported.getOrDefault(id, 0L)) {
                out.add(event(a.key(), true, "OpsRefused",
                        String.format("replica %s refused %d ops whose paths leave the "
                                + "replicated paths", a.pod(), n - reported.getOrDefault(id, 0L))));
                reported.put(id, n);
            }
        }
        long peers = service.refusedPeers();
        if (peers > reported.getOrDefault("peers", 0L)) {
            out.add(event("", true, "PeerRefused",
                    String.format("%d pushes from nodes that are not the origin were refused",
                            peers - reported.getOrDefault("peers", 0L))));
            reported.put("peers", peers);
        }
        return out;
    }

    private static io.edgerep.proto.v1.AgentEvent event(String key, boolean warning, String reason, String message) {
        return io.edgerep.proto.v1.AgentEvent.newBuilder().setKey(key).setWarning(warning).setReason(reason)
                .setMessage(message).build();
    }

    public ReplicationService service() {
        return service;
    }

    @Override
    public synchronized void close() {
        for (String k : new ArrayList<>(origins.keySet())) {
            stopOrigin(k);
        }
        // a clean stop saves every replica's position, idle or not (nothing applies any more)
        service.replicas().values().forEach(r -> r.applier().checkpointIfIdle(0));
    }
}
