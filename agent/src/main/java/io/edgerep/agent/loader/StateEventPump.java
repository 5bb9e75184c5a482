// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.loader;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.edgerep.agent.retry.Backoff;
import io.edgerep.proto.v1.GetCapabilitiesRequest;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.StateEvent;
import io.edgerep.proto.v1.StateEventBatch;
import io.edgerep.proto.v1.StreamStateEventsRequest;
import io.edgerep.wire.ProtoTime;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.ManagedChannel;

/**
 * Drains the loader's {@code StreamStateEvents} and hands each replication id's events, in order, to its
 * {@link CaptureSink} (an origin). Reconnects with capped backoff; a broken stream counts as lost capture (records may have
 * been missed, and a restarted loader has no traces), so every origin waits for its trace to be confirmed again
 * ({@link #onConnect}) and then resyncs its replicas.
 */
public final class StateEventPump implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StateEventPump.class);

    private final Channel channel;
    private final LoaderGrpc.LoaderBlockingStub stub;
    private final Map<Integer, CaptureSink> origins = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Context.CancellableContext current;
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong unrouted = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong connects = new AtomicLong();
    private volatile Consumer<String> onLost = why -> {
    };
    private volatile Runnable onConnect = () -> {
    };

    public StateEventPump(Channel loader) {
        this.channel = loader;
        this.stub = LoaderGrpc.newBlockingStub(loader);
        this.thread = new Thread(this::run, "state-event-pump");
        this.thread.setDaemon(true);
    }

    public StateEventPump start() {
        thread.start();
        return this;
    }

    public void route(int replicationId, CaptureSink origin) {
        origins.put(replicationId, origin);
    }

    public void unroute(int replicationId) {
        origins.remove(replicationId);
    }

    /**
     * Runs after every (re)connection to the loader, on a thread of its own: a loader that restarted lost its traces,
     * so the agent sets them again and then tells each origin that capture is on.
     */
    public void onConnect(Runnable hook) {
        this.onConnect = hook;
    }

    /** Runs once each time an open connection to the loader breaks, with the reason, on the pump's thread. */
    public void onLost(Consumer<String> hook) {
        this.onLost = hook;
    }

    private void run() {
        Backoff backoff = new Backoff(100, 1000); // a local socket: retrying each second costs nothing
        while (running) {
            Context.CancellableContext ctx = Context.current().withCancellation();
            current = ctx;
            boolean[] opened = {false};
            String lostReason = "the loader ended its event stream";
            if (channel instanceof ManagedChannel m) {
                m.resetConnectBackoff(); // a restarted loader is dialled on our schedule, not the channel's (≤ 2 min)
            }
            try {
                ctx.run(() -> {
                    // the loader answers before the stream counts as open (a blocking stream says nothing until
                    // its first batch, which may never come while nothing is traced)
                    stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                            .getCapabilities(GetCapabilitiesRequest.getDefaultInstance());
                    Iterator<StateEventBatch> it = stub.streamStateEvents(StreamStateEventsRequest.newBuilder()
                            .setMaxBatchEvents(512).setMaxBatchAge(ProtoTime.duration(2)).build());
                    opened[0] = true;
                    connects.incrementAndGet();
                    Thread t = new Thread(onConnect, "loader-connected");
                    t.setDaemon(true);
                    t.start();
                    while (it.hasNext()) {
                        dispatch(it.next());
                    }
                });
                backoff.reset();
            } catch (RuntimeException e) {
                lostReason = String.valueOf(e.getMessage());
                if (running) {
                    LOG.infof("loader state event stream: %s; reconnecting", e.getMessage());
                }
            } finally {
                ctx.cancel(null);
            }
            if (!running) {
                return;
            }
            reconnects.incrementAndGet();
            if (opened[0]) {
                for (CaptureSink o : origins.values()) {
                    o.captureLost(); // events may be lost while disconnected, the traces too if the loader restarted
                }
                try {
                    onLost.accept(lostReason);
                } catch (RuntimeException e) {
                    LOG.warnf("reporting the lost loader: %s", e.toString());
                }
            }
            try {
                Thread.sleep(backoff.next());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Times the event stream was opened (the first connection included). */
    public long connects() {
        return connects.get();
    }

    void dispatch(StateEventBatch b) {
        batches.incrementAndGet();
        Map<Integer, List<StateEvent>> byId = new HashMap<>();
        for (StateEvent e : b.getEventsList()) {
            byId.computeIfAbsent(e.getReplicationId(), k -> new ArrayList<>()).add(e);
        }
        for (Integer id : b.getLostRecordsMap().keySet()) {
            byId.computeIfAbsent(id, k -> new ArrayList<>());
        }
        for (Map.Entry<Integer, List<StateEvent>> e : byId.entrySet()) {
            CaptureSink o = origins.get(e.getKey());
            if (o == null) {
                unrouted.addAndGet(e.getValue().size());
                continue;
            }
            events.addAndGet(e.getValue().size());
            o.accept(e.getValue(), b.getLostRecordsOrDefault(e.getKey(), 0L));
        }
    }

    public long batches() {
        return batches.get();
    }

    public long events() {
        return events.get();
    }

    public long unrouted() {
        return unrouted.get();
    }

    @Override
    public void close() {
        running = false;
        Context.CancellableContext c = current;
        if (c != null) {
            c.cancel(null);
        }
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
