// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.control;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.edgerep.agent.retry.Backoff;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.Pki;
import io.edgerep.proto.v1.AgentControlGrpc;
import io.edgerep.proto.v1.AgentEvent;
import io.edgerep.proto.v1.AgentMessage;
import io.edgerep.proto.v1.BootstrapRequest;
import io.edgerep.proto.v1.BootstrapResponse;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.Teardown;
import io.edgerep.proto.v1.TeardownResult;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;

/**
 * The agent's link to the operator: obtains (and renews at two thirds of its lifetime) the node certificate through
 * {@code Bootstrap} with the projected service-account token, then keeps one mTLS {@code Connect} stream: Hello first,
 * every NodeConfig received is applied (latest wins) and answered with a NodeStatus, counters go up coalesced at a
 * fixed interval, events as they come. On any failure it reconnects with capped exponential backoff and jitter; what
 * was applied stays applied while the operator is away.
 */
public final class OperatorLink implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OperatorLink.class);

    /** What the link needs from the rest of the agent. */
    public interface Handler {
        /** Applies a full config; returns its status. */
        NodeStatus apply(NodeConfig config);

        /** Everything of Hello but node name and applied version. */
        Hello.Builder hello();

        /** Current counters (sent only when they changed since the last send). */
        Counters counters();

        /** Removes everything of edgerep from the node (the release is uninstalled); returns what happened. */
        TeardownResult teardown(Teardown teardown);
    }

    /** Where and who. */
    public record Options(String target, String operatorName, String nodeName, Supplier<String> token,
            List<X509Certificate> ca, long backoffBaseMs, long backoffCapMs, long countersIntervalMs) {
    }

    private final Options opt;
    private final Handler handler;
    private final Backoff backoff;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile NodeTls tls;
    private volatile long renewAtMs = Long.MAX_VALUE;
    private volatile long appliedVersion;
    private volatile NodeStatus lastStatus;
    private volatile boolean connected;
    private volatile String lastError = "";
    private final AtomicReference<StreamObserver<AgentMessage>> out = new AtomicReference<>();
    private volatile java.util.function.Consumer<NodeTls> onCertificate = t -> {
    };
    private final BlockingQueue<AgentEvent> events = new LinkedBlockingQueue<>(1000);
    private final AtomicReference<NodeStatus> unsolicited = new AtomicReference<>();
    private final AtomicLong connects = new AtomicLong();
    private final AtomicLong attempts = new AtomicLong();
    private final AtomicLong bootstraps = new AtomicLong();
    private final AtomicLong configsApplied = new AtomicLong();
    private final AtomicLong countersSent = new AtomicLong();

    public OperatorLink(Options opt, Handler handler) {
        this(opt, handler, null);
    }

    /** With a certificate already at hand (no bootstrap until it nears expiry). */
    public OperatorLink(Options opt, Handler handler, NodeTls initial) {
        this.opt = opt;
        this.handler = handler;
        this.backoff = new Backoff(opt.backoffBaseMs(), opt.backoffCapMs());
        this.tls = initial;
        if (initial != null) {
            renewAtMs = renewAt(initial.cert());
        }
        this.thread = new Thread(this::run, "operator-link");
        this.thread.setDaemon(true);
    }

    /** Called with every new node certificate (and the initial one at start). */
    public OperatorLink onCertificate(java.util.function.Consumer<NodeTls> c) {
        onCertificate = c;
        if (tls != null) {
            c.accept(tls);
        }
        return this;
    }

    public OperatorLink start() {
        thread.start();
        return this;
    }

    /**
     * Reports a status the agent reached on its own (its loader went away or came back) for the config it applied
     * last; sent at once when connected. A newer one replaces one not sent yet, and a config applied meanwhile
     * supersedes it.
     */
    public void status(NodeStatus st) {
        if (st.getAppliedVersion() == appliedVersion) {
            unsolicited.set(st);
        }
    }

    /** Queues an event for the operator (dropped when the queue is full). */
    public void event(AgentEvent e) {
        events.offer(e);
    }

    private void run() {
        while (running) {
            attempts.incrementAndGet();
            try {
                if (tls == null || System.currentTimeMillis() >= renewAtMs) {
                    bootstrap();
                }
                session();
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                lastError = e.toString();
                if (running) {
                    LOG.infof("operator link: %s", e.getMessage());
                }
            } finally {
                connected = false;
                out.set(null);
            }
            if (!running) {
                return;
            }
            try {
                Thread.sleep(backoff.next());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void bootstrap() throws Exception {
        KeyPair kp = Pki.newKeyPair();
        ManagedChannel ch = NettyChannelBuilder.forTarget(opt.target()).sslContext(NodeTls.anonymousClient(opt.ca()))
                .overrideAuthority(opt.operatorName()).build();
        try {
            BootstrapResponse r = AgentControlGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .bootstrap(BootstrapRequest.newBuilder().setNodeName(opt.nodeName()).setToken(opt.token().get())
                            .setCsrPem(Pki.csrPem(kp, opt.nodeName())).build());
            X509Certificate cert = NodeTls.parseCerts(r.getCertificatePem()).get(0);
            List<X509Certificate> ca = r.getCaPem().isEmpty() ? opt.ca() : NodeTls.parseCerts(r.getCaPem());
            cert.checkValidity();
            if (!cert.getPublicKey().equals(kp.getPublic())) {
                throw new IllegalStateException("the operator signed another key");
            }
            tls = new NodeTls(kp.getPrivate(), cert, ca);
            renewAtMs = renewAt(cert);
            bootstraps.incrementAndGet();
            onCertificate.accept(tls);
            LOG.infof("node certificate for %s until %s", tls.nodeName(), cert.getNotAfter());
        } finally {
            ch.shutdownNow();
        }
    }

    static long renewAt(X509Certificate cert) {
        long from = cert.getNotBefore().getTime();
        long to = cert.getNotAfter().getTime();
        return from + (to - from) * 2 / 3;
    }

    private void session() throws Exception {
        NodeTls t = tls;
        ManagedChannel ch = NettyChannelBuilder.forTarget(opt.target()).sslContext(t.clientContext())
                .overrideAuthority(opt.operatorName()).maxInboundMessageSize(64 << 20).build();
        BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        try {
            StreamObserver<AgentMessage> o = AgentControlGrpc.newStub(ch).connect(new StreamObserver<>() {
                @Override
                public void onNext(ControllerMessage m) {
                    if (m.hasConfig()) {
                        inbox.add(m.getConfig());
                    } else if (m.hasTeardown()) {
                        inbox.add(m.getTeardown());
                    }
                }

                @Override
                public void onError(Throwable e) {
                    inbox.add(e);
                }

                @Override
                public void onCompleted() {
                    inbox.add(new IllegalStateException("the operator closed the stream"));
                }
            });
            out.set(o);
            send(AgentMessage.newBuilder().setHello(handler.hello().setNodeName(opt.nodeName())
                    .setAppliedVersion(appliedVersion)).build());
            long nextCounters = System.currentTimeMillis() + opt.countersIntervalMs();
            Counters lastSent = null;
            while (running) {
                long wait = Math.max(1, nextCounters - System.currentTimeMillis());
                Object m = inbox.poll(Math.min(wait, 100), TimeUnit.MILLISECONDS);
                if (m instanceof Throwable e) {
                    throw new Exception("stream ended: " + e.getMessage(), e);
                }
                if (m instanceof NodeConfig cfg) {
                    // latest wins: skip configs already superseded in the inbox
                    while (inbox.peek() instanceof NodeConfig newer) {
                        inbox.poll();
                        cfg = newer;
                    }
                    if (!connected) {
                        connected = true;
                        connects.incrementAndGet();
                        backoff.reset();
                    }
                    NodeStatus st = handler.apply(cfg);
                    appliedVersion = cfg.getVersion();
                    lastStatus = st;
                    configsApplied.incrementAndGet();
                    send(AgentMessage.newBuilder().setStatus(st).build());
                }
                if (m instanceof Teardown down) {
                    send(AgentMessage.newBuilder().setTeardownResult(handler.teardown(down)).build());
                }
                NodeStatus own = unsolicited.getAndSet(null);
                if (own != null && own.getAppliedVersion() == appliedVersion) {
                    lastStatus = own;
                    send(AgentMessage.newBuilder().setStatus(own).build());
                }
                AgentEvent ev;
                while ((ev = events.poll()) != null) {
                    send(AgentMessage.newBuilder().setEvent(ev).build());
                }
                if (System.currentTimeMillis() >= nextCounters) {
                    nextCounters += opt.countersIntervalMs();
                    Counters c = handler.counters();
                    if (lastSent == null || !c.toBuilder().clearReadAt().build()
                            .equals(lastSent.toBuilder().clearReadAt().build())) {
                        send(AgentMessage.newBuilder().setCounters(c).build());
                        countersSent.incrementAndGet();
                        lastSent = c;
                    }
                }
                if (System.currentTimeMillis() >= renewAtMs) {
                    LOG.info("node certificate due for renewal; reconnecting");
                    return;
                }
            }
        } finally {
            StreamObserver<AgentMessage> o = out.getAndSet(null);
            if (o != null) {
                try {
                    o.onCompleted();
                } catch (RuntimeException e) {
                    // already broken
                }
            }
            ch.shutdownNow();
        }
    }

    private void send(AgentMessage m) {
        StreamObserver<AgentMessage> o = out.get();
        if (o != null) {
            synchronized (o) {
                o.onNext(m);
            }
        }
    }

    public boolean connected() {
        return connected;
    }

    public long appliedVersion() {
        return appliedVersion;
    }

    public NodeStatus lastStatus() {
        return lastStatus;
    }

    public String lastError() {
        return lastError;
    }

    public long connects() {
        return connects.get();
    }

    public long attempts() {
        return attempts.get();
    }

    public long bootstraps() {
        return bootstraps.get();
    }

    public long configsApplied() {
        return configsApplied.get();
    }

    public long countersSent() {
        return countersSent.get();
    }

    public NodeTls tls() {
        return tls;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(3000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
