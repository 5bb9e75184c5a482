package io.edgerep.agent.loader;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import io.edgerep.agent.state.OriginReplication;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.StateEvent;
import io.edgerep.proto.v1.StateEventBatch;
import io.edgerep.proto.v1.StreamStateEventsRequest;
import io.grpc.Channel;
import io.grpc.Context;

/**
 * Drains the loader's {@code StreamStateEvents} and hands each replication id's events, in order, to its
 * {@link OriginReplication}. Reconnects with capped backoff; a reconnect counts as possible loss, so every origin
 * resyncs its replicas (captures may have been missed while the stream was down).
 */
public final class StateEventPump implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StateEventPump.class);

    private final LoaderGrpc.LoaderBlockingStub stub;
    private final Map<Integer, OriginReplication> origins = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Context.CancellableContext current;
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong unrouted = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();

    public StateEventPump(Channel loader) {
        this.stub = LoaderGrpc.newBlockingStub(loader);
        this.thread = new Thread(this::run, "state-event-pump");
        this.thread.setDaemon(true);
    }

    public StateEventPump start() {
        thread.start();
        return this;
    }

    public void route(int replicationId, OriginReplication origin) {
        origins.put(replicationId, origin);
    }

    public void unroute(int replicationId) {
        origins.remove(replicationId);
    }

    private void run() {
        long backoff = 100;
        boolean first = true;
        while (running) {
            Context.CancellableContext ctx = Context.current().withCancellation();
            current = ctx;
            try {
                ctx.run(() -> {
                    Iterator<StateEventBatch> it = stub.streamStateEvents(StreamStateEventsRequest.newBuilder()
                            .setMaxBatchEvents(512).setMaxBatchAgeMs(2).build());
                    while (it.hasNext()) {
                        dispatch(it.next());
                    }
                });
                backoff = 100;
            } catch (RuntimeException e) {
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
            if (!first) {
                for (OriginReplication o : origins.values()) {
                    o.accept(List.of(), 1); // events may have been captured and lost while disconnected
                }
            }
            first = false;
            try {
                Thread.sleep(backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, 5000);
        }
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
            OriginReplication o = origins.get(e.getKey());
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
