// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent;

import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLSession;

import io.edgerep.agent.tls.NodeIdentity;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.Pki;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.AgentControlGrpc;
import io.edgerep.proto.v1.AgentMessage;
import io.edgerep.proto.v1.BootstrapRequest;
import io.edgerep.proto.v1.BootstrapResponse;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.wire.ProtoTime;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;

/**
 * An in-process operator for tests: signs CSRs for a known token, accepts Connect only from a client certificate
 * whose CN equals the Hello's node name, sends each node its config on connect and whenever the test changes it, and
 * records statuses, counters and connection attempts.
 */
public final class FakeOperator implements AutoCloseable {
    static final Context.Key<String> PEER = Context.key("peer-cn");

    private final TestCa ca;
    private final NodeTls serverTls;
    private final Map<String, String> tokens = new ConcurrentHashMap<>();
    private final Map<String, NodeConfig> configs = new ConcurrentHashMap<>();
    private final Map<String, StreamObserver<ControllerMessage>> streams = new ConcurrentHashMap<>();
    public final List<NodeStatus> statuses = new CopyOnWriteArrayList<>();
    public final List<Counters> counters = new CopyOnWriteArrayList<>();
    public final List<Hello> hellos = new CopyOnWriteArrayList<>();
    public final List<Long> connectAttemptsMs = Collections.synchronizedList(new ArrayList<>());
    public final List<String> refusals = new CopyOnWriteArrayList<>();
    /** When each bootstrap was refused (System.nanoTime()), in order. */
    public final List<Long> bootstrapRefusalNanos = new CopyOnWriteArrayList<>();
    public volatile Duration certLifetime = Duration.ofHours(1);
    private Server server;

    public FakeOperator(TestCa ca, NodeTls serverTls) {
        this.ca = ca;
        this.serverTls = serverTls;
    }

    public FakeOperator start(int port) throws Exception {
        var ssl = GrpcSslContexts.configure(SslContextBuilder.forServer(serverTls.key(), serverTls.cert()))
                .trustManager(ca.cert).clientAuth(ClientAuth.OPTIONAL).build();
        long end = System.currentTimeMillis() + 5000;
        while (true) {
            try {
                server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).sslContext(ssl)
                        .addService(ServerInterceptors.intercept(new Service(), new PeerCapture())).build().start();
                return this;
            } catch (java.io.IOException e) {
                if (System.currentTimeMillis() > end) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    public int port() {
        return server.getPort();
    }

    public String target() {
        return "127.0.0.1:" + port();
    }

    public void token(String node, String token) {
        tokens.put(node, token);
    }

    /** Sets a node's config and sends it if the node is connected. */
    public void config(NodeConfig cfg) {
        configs.put(cfg.getNodeName(), cfg);
        StreamObserver<ControllerMessage> s = streams.get(cfg.getNodeName());
        if (s != null) {
            synchronized (s) {
                s.onNext(ControllerMessage.newBuilder().setConfig(cfg).build());
            }
        }
    }

    public void stop() throws InterruptedException {
        streams.clear();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    static final class PeerCapture implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata h,
                ServerCallHandler<Q, R> next) {
            SSLSession s = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            String cn = s == null ? null : NodeIdentity.nodeOf(s);
            return Contexts.interceptCall(Context.current().withValue(PEER, cn), call, h, next);
        }
    }

    final class Service extends AgentControlGrpc.AgentControlImplBase {
        @Override
        public void bootstrap(BootstrapRequest r, StreamObserver<BootstrapResponse> o) {
            if (!r.getToken().equals(tokens.get(r.getNodeName()))) {
                bootstrapRefusalNanos.add(System.nanoTime());
                refusals.add("bootstrap " + r.getNodeName());
                o.onError(Status.UNAUTHENTICATED.withDescription("token not valid for node " + r.getNodeName())
                        .asRuntimeException());
                return;
            }
            try {
                X509Certificate c = ca.signCsr(r.getCsrPem(), r.getNodeName(), certLifetime);
                o.onNext(BootstrapResponse.newBuilder().setCertificatePem(Pki.pem(c)).setCaPem(Pki.pem(ca.cert))
                        .setNotAfter(ProtoTime.timestamp(c.getNotAfter().getTime())).build());
                o.onCompleted();
            } catch (Exception e) {
                o.onError(Status.INVALID_ARGUMENT.withDescription(e.toString()).asRuntimeException());
            }
        }

        @Override
        public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> o) {
            connectAttemptsMs.add(System.currentTimeMillis());
            String peer = PEER.get();
            return new StreamObserver<>() {
                String node;

                @Override
                public void onNext(AgentMessage m) {
                    if (node == null) {
                        if (!m.hasHello()) {
                            o.onError(Status.INVALID_ARGUMENT.withDescription("Hello first").asRuntimeException());
                            return;
                        }
                        if (peer == null || !peer.equals(m.getHello().getNodeName())) {
                            refusals.add("connect " + peer + " as " + m.getHello().getNodeName());
                            o.onError(Status.PERMISSION_DENIED
                                    .withDescription("certificate of " + peer + " cannot act for "
                                            + m.getHello().getNodeName())
                                    .asRuntimeException());
                            return;
                        }
                        node = peer;
                        hellos.add(m.getHello());
                        streams.put(node, o);
                        NodeConfig cfg = configs.get(node);
                        if (cfg != null) {
                            synchronized (o) {
                                o.onNext(ControllerMessage.newBuilder().setConfig(cfg).build());
                            }
                        }
                        return;
                    }
                    if (m.hasStatus()) {
                        statuses.add(m.getStatus());
                    } else if (m.hasCounters()) {
                        counters.add(m.getCounters());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    if (node != null) {
                        streams.remove(node, o);
                    }
                }

                @Override
                public void onCompleted() {
                    if (node != null) {
                        streams.remove(node, o);
                    }
                    o.onCompleted();
                }
            };
        }
    }
}
