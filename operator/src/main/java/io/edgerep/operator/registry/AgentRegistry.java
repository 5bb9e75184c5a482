// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.edgerep.operator.metrics.OperatorMeters;
import io.edgerep.operator.plan.NodeConfigAssembler;
import io.edgerep.operator.plan.NodeFacts;
import io.edgerep.operator.plan.NodeItems;
import io.edgerep.proto.v1.AgentEvent;
import io.edgerep.proto.v1.ConsumerCounters;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.OriginProgress;
import io.edgerep.proto.v1.ReplicaProgress;
import io.edgerep.proto.v1.Teardown;
import io.edgerep.proto.v1.TeardownResult;
import io.grpc.stub.StreamObserver;

/**
 * The operator's memory of nodes: each node's desired NodeConfig (joined from every EdgeReplica's
 * items), the agent stream connected for it, and what the agent last reported. Configs are pushed
 * only after the operator has planned every resource once since it started (the {@link ConfigGate}:
 * {@link #update} and {@link #removeAndPending} count a resource as planned), so an agent never
 * receives a partial config from a half-started operator.
 */
@ApplicationScoped
public class AgentRegistry {

    private static final Logger LOG = Logger.getLogger(AgentRegistry.class);

    private final Map<String, Map<String, NodeItems>> desired = new HashMap<>();
    private final Map<String, NodeConfig> configs = new HashMap<>();
    private final Map<String, Map<String, Long>> required = new HashMap<>();
    private final Map<String, Map<String, Long>> removals = new HashMap<>();
    private final Map<String, Long> floors = new HashMap<>();
    private final Map<String, AgentSession> sessions = new HashMap<>();
    private final Map<String, String> endpoints = new TreeMap<>();
    private final List<Consumer<Set<String>>> listeners = new CopyOnWriteArrayList<>();
    private final ConfigGate gate = new ConfigGate();
    private final List<BiConsumer<String, AgentEvent>> eventListeners = new CopyOnWriteArrayList<>();
    private final Map<String, Long> lastEvent = new ConcurrentHashMap<>();
    private volatile OperatorMeters meters = OperatorMeters.none();
    /** Set once the release is being uninstalled: no config goes out any more, every agent is told to tear down. */
    private Teardown teardown;
    private final Map<String, CompletableFuture<TeardownResult>> teardowns = new TreeMap<>();

    /** Least spacing of Events with the same node, resource and reason. */
    static final long EVENT_INTERVAL_MS = 10_000;

    /** Where config pushes and their apply latency are counted; the connected agents are exported there too. */
    public void useMeters(OperatorMeters m) {
        this.meters = m;
        m.gauge("edgerep.operator.connected.agents", "Agents whose control stream is up", this,
                AgentRegistry::connectedAgents);
    }

    /** Called with (node, event) for agent events about resources that have items on that node. */
    public void addEventListener(BiConsumer<String, AgentEvent> listener) {
        eventListeners.add(listener);
    }

    /**
     * An agent's event: passed on only when the resource has items on (or is being removed from)
     * the node, at most once per {@value #EVENT_INTERVAL_MS} ms per node, resource and reason.
     */
    public boolean agentEvent(String node, StreamObserver<ControllerMessage> out, AgentEvent ev) {
        synchronized (this) {
            AgentSession s = sessions.get(node);
            if (s == null || s.out != out) {
                return false;
            }
            boolean concerns = desired.getOrDefault(ev.getKey(), Map.of()).containsKey(node)
                    || removals.getOrDefault(ev.getKey(), Map.of()).containsKey(node);
            if (!concerns) {
                return false;
            }
        }
        long now = System.currentTimeMillis();
        String k = node + "|" + ev.getKey() + "|" + ev.getReason();
        Long prev = lastEvent.get(k);
        if (prev != null && now - prev < EVENT_INTERVAL_MS) {
            return false;
        }
        lastEvent.put(k, now);
        eventListeners.forEach(l -> l.accept(node, ev));
        return true;
    }
    private volatile EndpointStore endpointStore;

    /** Loads the endpoints a previous run recorded and records new ones from now on. */
    public void useEndpointStore(EndpointStore store) {
        Map<String, String> known = store.load();
        synchronized (this) {
            known.forEach(endpoints::putIfAbsent);
        }
        endpointStore = store;
    }

    /** Called with the keys of resources whose node state changed (to re-reconcile them). */
    public void addListener(Consumer<Set<String>> listener) {
        listeners.add(listener);
    }

    /**
     * The keys ("namespace/name") of every EdgeReplica the operator knows of (its controller's
     * cache): the gate opens once each of them was planned.
     */
    public void useResourceKeys(Supplier<Stream<String>> keys) {
        gate.watch(keys);
    }

    /**
     * Sets a resource's items on every node (the resource counts as planned for the gate); returns
     * the nodes whose config changed.
     */
    public Set<String> update(String key, Map<String, NodeItems> items) {
        Set<String> changed = updateItems(key, items);
        gate.planned(key);
        checkGate();
        return changed;
    }

    private Set<String> updateItems(String key, Map<String, NodeItems> items) {
        Set<String> changed = new HashSet<>();
        synchronized (this) {
            Map<String, NodeItems> before = desired.getOrDefault(key, Map.of());
            Map<String, NodeItems> after = new TreeMap<>();
            items.forEach((n, i) -> {
                if (!i.isEmpty()) {
                    after.put(n, i);
                }
            });
            if (after.isEmpty()) {
                desired.remove(key);
            } else {
                desired.put(key, after);
            }
            Set<String> touched = new HashSet<>(before.keySet());
            touched.addAll(after.keySet());
            for (String node : touched) {
                NodeConfig prev = configs.get(node);
                NodeConfig next = NodeConfigAssembler.assemble(node, itemsOf(node), prev,
                        floors.getOrDefault(node, 0L));
                boolean itemsChanged = !Objects.equals(before.get(node), after.get(node));
                if (next != prev) {
                    configs.put(node, next);
                    changed.add(node);
                    push(node);
                }
                if (after.containsKey(node)) {
                    if (itemsChanged || !required.getOrDefault(node, Map.of()).containsKey(key)) {
                        required.computeIfAbsent(node, n -> new HashMap<>()).put(key, next.getVersion());
                    }
                    var r = removals.get(key);
                    if (r != null) {
                        r.remove(node);
                    }
                } else {
                    var req = required.get(node);
                    if (req != null) {
                        req.remove(key);
                    }
                    removals.computeIfAbsent(key, k -> new HashMap<>()).put(node, next.getVersion());
                }
            }
        }
        return changed;
    }

    private SortedMap<String, NodeItems> itemsOf(String node) {
        SortedMap<String, NodeItems> out = new TreeMap<>();
        desired.forEach((key, byNode) -> {
            NodeItems i = byNode.get(node);
            if (i != null) {
                out.put(key, i);
            }
        });
        return out;
    }

    /**
     * Removes a resource from every node (its removal counts as planned for the gate). Returns the
     * nodes that have not acknowledged the removal yet (empty when every node applied a config
     * without it).
     */
    public Set<String> removeAndPending(String key) {
        gate.planned(key);
        checkGate();
        synchronized (this) {
            if (desired.containsKey(key)) {
                updateItems(key, Map.of());
            }
            Set<String> pending = new HashSet<>();
            removals.getOrDefault(key, Map.of()).forEach((node, version) -> {
                AgentSession s = sessions.get(node);
                if (s == null || s.appliedVersion < version) {
                    pending.add(node);
                }
            });
            return pending;
        }
    }

    /** Forgets a resource whose removal is finished (or given up on). */
    public void forget(String key) {
        synchronized (this) {
            removals.remove(key);
        }
        gate.forget(key);
    }

    /** Opens the gate when every resource the operator knows of has been planned since it started. */
    public void checkGate() {
        if (gate.mayOpen()) {
            openGate();
        }
    }

    /** Opens the gate (every resource was planned once): pushes configs to every connected agent. */
    public synchronized void openGate() {
        if (!gate.open()) {
            return;
        }
        LOG.infof("every EdgeReplica planned: serving %d connected agent(s)", sessions.size());
        sessions.keySet().forEach(this::push);
    }

    /** Whether agents are given configs. */
    public boolean gateOpen() {
        return gate.isOpen();
    }

    /** An agent's stream said Hello; the previous stream of the node (if any) is replaced. */
    public void connected(String node, Hello hello, StreamObserver<ControllerMessage> out) {
        AgentSession old;
        boolean endpointChanged;
        synchronized (this) {
            old = sessions.put(node, new AgentSession(node, hello, out));
            floors.merge(node, hello.getAppliedVersion(), Math::max);
            String ep = hello.getReplicationEndpoint();
            endpointChanged = !ep.equals(endpoints.getOrDefault(node, ""));
            if (ep.isEmpty()) {
                endpoints.remove(node);
            } else {
                endpoints.put(node, ep);
            }
            if (endpointChanged) {
                LOG.debugf("node %s replication endpoint %s", node, ep);
            }
            push(node);
            if (teardown != null) {
                teardowns.computeIfAbsent(node, n -> new CompletableFuture<>());
            }
        }
        if (teardown != null) {
            // an agent that connects while the release goes away is torn down too (a second time is harmless)
            sendTeardown(session(node));
        }
        if (endpointChanged && endpointStore != null) {
            endpointStore.save(node, hello.getReplicationEndpoint().isEmpty() ? null : hello.getReplicationEndpoint());
        }
        if (old != null) {
            try {
                old.out.onCompleted();
            } catch (RuntimeException e) {
                LOG.debugf("closing the replaced stream of %s: %s", node, e);
            }
        }
        notifyKeys(node, true);
    }

    /** The stream of this node ended (if {@code out} is still the node's current stream). */
    public void disconnected(String node, StreamObserver<ControllerMessage> out) {
        synchronized (this) {
            AgentSession s = sessions.get(node);
            if (s == null || s.out != out) {
                return;
            }
            sessions.remove(node);
        }
        LOG.infof("agent of node %s disconnected", node);
        notifyKeys(node, false);
    }

    public void status(String node, StreamObserver<ControllerMessage> out, NodeStatus status) {
        synchronized (this) {
            AgentSession s = sessions.get(node);
            if (s == null || s.out != out) {
                return;
            }
            s.status = status;
            s.appliedVersion = Math.max(s.appliedVersion, status.getAppliedVersion());
            if (s.sentAtNanos != 0 && status.getAppliedVersion() >= s.sentVersion) {
                meters.applied(System.nanoTime() - s.sentAtNanos);
                s.sentAtNanos = 0;
            }
            floors.merge(node, status.getAppliedVersion(), Math::max);
        }
        notifyKeys(node, false);
    }

    public void counters(String node, StreamObserver<ControllerMessage> out, Counters counters) {
        synchronized (this) {
            AgentSession s = sessions.get(node);
            if (s == null || s.out != out) {
                return;
            }
            s.counters = counters;
        }
        notifyKeys(node, false);
    }

    private void push(String node) {
        AgentSession s = sessions.get(node);
        if (s == null || !gate.isOpen() || teardown != null) {
            return;
        }
        NodeConfig config = configs.get(node);
        if (config == null) {
            // a node nothing is planned for still gets its (empty) state, clearing leftovers
            config = NodeConfig.newBuilder().setNodeName(node)
                    .setVersion(Math.max(floors.getOrDefault(node, 0L), 0) + 1).build();
            configs.put(node, config);
        }
        if (s.sentVersion == config.getVersion()) {
            return;
        }
        s.sentVersion = config.getVersion();
        try {
            synchronized (s) {
                s.out.onNext(ControllerMessage.newBuilder().setConfig(config).build());
            }
            s.sentAtNanos = System.nanoTime();
            meters.pushed(node, true);
        } catch (RuntimeException e) {
            meters.pushed(node, false);
            LOG.warnf("pushing config %d to node %s failed: %s", config.getVersion(), node, e.getMessage());
        }
    }

    private void notifyKeys(String node, boolean all) {
        Set<String> keys = new HashSet<>();
        synchronized (this) {
            desired.forEach((key, byNode) -> {
                if (byNode.containsKey(node) || all) {
                    keys.add(key);
                }
            });
            removals.forEach((key, byNode) -> {
                if (byNode.containsKey(node)) {
                    keys.add(key);
                }
            });
        }
        if (!keys.isEmpty()) {
            listeners.forEach(l -> l.accept(keys));
        }
    }

    /** What a node reports about one resource. */
    public synchronized NodeView view(String key, String node) {
        AgentSession s = sessions.get(node);
        long req = required.getOrDefault(node, Map.of()).getOrDefault(key, 0L);
        if (s == null) {
            return new NodeView(node, false, 0, req, List.of(), List.of(), List.of(), null);
        }
        List<ItemResult> results = new ArrayList<>();
        if (s.status.getAppliedVersion() >= req) {
            for (ItemResult r : s.status.getItemsList()) {
                if (r.getKey().equals(key) || r.getKey().startsWith(key + "/")) {
                    results.add(r);
                }
            }
        }
        List<ConsumerCounters> cc = s.counters.getConsumersList().stream()
                .filter(c -> c.getStreamKey().equals(key)).toList();
        List<ReplicaProgress> rp = s.counters.getReplicasList().stream().filter(r -> r.getKey().equals(key)).toList();
        OriginProgress op = s.counters.getOriginsList().stream().filter(o -> o.getKey().equals(key)).findFirst()
                .orElse(null);
        return new NodeView(node, true, s.appliedVersion, req, results, cc, rp, op);
    }

    /** Replication endpoints the connected agents reported. */
    public synchronized NodeFacts facts() {
        return new NodeFacts(Map.copyOf(endpoints));
    }

    /**
     * Uninstall: no config is pushed any more and every connected agent (and any that connects later) is told to
     * remove everything of edgerep from its node. Returns each node's answer as it arrives; a node that never
     * answers (its agent went away) keeps an incomplete future.
     */
    public Map<String, CompletableFuture<TeardownResult>> teardown(String reason) {
        List<AgentSession> targets;
        synchronized (this) {
            if (teardown == null) {
                teardown = Teardown.newBuilder().setReason(reason).build();
            }
            targets = new ArrayList<>(sessions.values());
            targets.forEach(s -> teardowns.computeIfAbsent(s.node, n -> new CompletableFuture<>()));
        }
        LOG.infof("tearing down %d node(s): %s", targets.size(), reason);
        targets.forEach(this::sendTeardown);
        synchronized (this) {
            return Map.copyOf(teardowns);
        }
    }

    /** Whether the release is being uninstalled. */
    public synchronized boolean tornDown() {
        return teardown != null;
    }

    private synchronized AgentSession session(String node) {
        return sessions.get(node);
    }

    private void sendTeardown(AgentSession s) {
        Teardown t;
        synchronized (this) {
            t = teardown;
        }
        if (s == null || t == null) {
            return;
        }
        try {
            synchronized (s) {
                s.out.onNext(ControllerMessage.newBuilder().setTeardown(t).build());
            }
        } catch (RuntimeException e) {
            LOG.warnf("sending teardown to node %s failed: %s", s.node, e.getMessage());
        }
    }

    /** An agent's answer to Teardown (if {@code out} is still the node's current stream). */
    public void teardownResult(String node, StreamObserver<ControllerMessage> out, TeardownResult result) {
        CompletableFuture<TeardownResult> f;
        synchronized (this) {
            AgentSession s = sessions.get(node);
            if (s == null || s.out != out) {
                return;
            }
            f = teardowns.computeIfAbsent(node, n -> new CompletableFuture<>());
        }
        if (result.getOk()) {
            LOG.infof("node %s torn down: %s", node, result.getRemovedList());
        } else {
            LOG.warnf("node %s could not tear down: %s", node, result.getError());
        }
        f.complete(result);
    }

    /** The current desired config of a node (tests, diagnostics). */
    public synchronized NodeConfig config(String node) {
        return configs.get(node);
    }

    /** Every connected node as {@link NodeStates} shows it, in node order. */
    public synchronized List<NodeStates.Node> nodeStates() {
        List<NodeStates.Node> out = new ArrayList<>();
        new TreeMap<>(sessions).forEach((node, s) -> out.add(new NodeStates.Node(node, s.hello, true,
                s.appliedVersion, configs.get(node), s.status, s.counters)));
        return out;
    }

    public synchronized int connectedAgents() {
        return sessions.size();
    }

    public synchronized Set<String> connectedNodes() {
        return Set.copyOf(sessions.keySet());
    }
}
