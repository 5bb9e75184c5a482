// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import org.jboss.logging.Logger;

import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.security.BootstrapVerifier;
import io.edgerep.operator.security.CertificateAuthority;
import io.edgerep.proto.v1.AgentControlGrpc;
import io.edgerep.proto.v1.AgentMessage;
import io.edgerep.proto.v1.BootstrapRequest;
import io.edgerep.proto.v1.BootstrapResponse;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.wire.ProtoTime;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * AgentControl: Bootstrap (token → node certificate) and Connect (one stream per node). The node of
 * a stream is the identity of the verified client certificate; a Hello naming another node ends
 * the stream.
 */
public class AgentControlService extends AgentControlGrpc.AgentControlImplBase {

    private static final Logger LOG = Logger.getLogger(AgentControlService.class);

    /** The node identity of the caller's certificate, set by {@link #identityInterceptor()}. */
    static final Context.Key<String> NODE = Context.key("edgerep-node");

    private final AgentRegistry registry;
    private final CertificateAuthority ca;
    private final BootstrapVerifier verifier;
    private final OperatorSettings settings;

    public AgentControlService(AgentRegistry registry, CertificateAuthority ca, BootstrapVerifier verifier,
            OperatorSettings settings) {
        this.registry = registry;
        this.ca = ca;
        this.verifier = verifier;
        this.settings = settings;
    }

    /** Puts the node of the peer's verified certificate (if any) into the call context. */
    public static ServerInterceptor identityInterceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
                String node = peerNode(ssl).orElse(null);
                return Contexts.interceptCall(Context.current().withValue(NODE, node), call, headers, next);
            }
        };
    }

    static Optional<String> peerNode(SSLSession ssl) {
        if (ssl == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = ssl.getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
                return Optional.empty();
            }
            leaf.checkValidity();
            return CertificateAuthority.nodeOf(leaf);
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        } catch (java.security.cert.CertificateException e) {
            return Optional.empty();
        }
    }

    @Override
    public void bootstrap(BootstrapRequest request, StreamObserver<BootstrapResponse> response) {
        try {
            verifier.verify(request.getNodeName(), request.getToken());
            X509Certificate cert = ca.issueNode(request.getCsrPem(), request.getNodeName(), settings.certLifetime());
            LOG.infof("issued a certificate for node %s until %s", request.getNodeName(), cert.getNotAfter());
            response.onNext(BootstrapResponse.newBuilder().setCertificatePem(CertificateAuthority.pem(cert))
                    .setCaPem(CertificateAuthority.pem(ca.caCertificate()))
                    .setNotAfter(ProtoTime.timestamp(cert.getNotAfter().getTime())).build());
            response.onCompleted();
        } catch (BootstrapVerifier.Refused e) {
            LOG.warnf("bootstrap for node %s refused: %s", request.getNodeName(), e.getMessage());
            response.onError(Status.PERMISSION_DENIED.withDescription(e.getMessage()).asRuntimeException());
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (RuntimeException e) {
            LOG.warnf(e, "bootstrap for node %s failed", request.getNodeName());
            response.onError(
                    Status.UNAVAILABLE.withDescription("bootstrap failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> out) {
        String node = NODE.get();
        if (node == null) {
            out.onError(Status.UNAUTHENTICATED.withDescription("Connect needs a node certificate from Bootstrap")
                    .asRuntimeException());
            return new Ignore();
        }
        return new AgentStream(node, out);
    }

    /** One agent's Connect stream: Hello first, for the certificate's node; then reports to the registry. */
    private final class AgentStream implements StreamObserver<AgentMessage> {
        private final String node;
        private final StreamObserver<ControllerMessage> out;
        private boolean helloSeen;
        private boolean closed;

        AgentStream(String node, StreamObserver<ControllerMessage> out) {
            this.node = node;
            this.out = out;
        }

        @Override
        public void onNext(AgentMessage m) {
            if (closed) {
                return;
            }
            if (!helloSeen) {
                if (!m.hasHello()) {
                    refuse("the first message must be Hello");
                    return;
                }
                if (!node.equals(m.getHello().getNodeName())) {
                    LOG.warnf("agent with the certificate of node %s said Hello as %s: refused", node,
                            m.getHello().getNodeName());
                    refuse("the certificate is for node " + node + ", not " + m.getHello().getNodeName());
                    return;
                }
                helloSeen = true;
                LOG.infof("agent of node %s connected (applied version %d)", node,
                        m.getHello().getAppliedVersion());
                registry.connected(node, m.getHello(), out);
                return;
            }
            switch (m.getKindCase()) {
                case STATUS -> registry.status(node, out, m.getStatus());
                case COUNTERS -> registry.counters(node, out, m.getCounters());
                case TEARDOWN_RESULT -> registry.teardownResult(node, out, m.getTeardownResult());
                case EVENT -> {
                    if (!registry.agentEvent(node, out, m.getEvent())) {
                        LOG.debugf("node %s: event about %s dropped (not on the node, or too frequent)", node,
                                m.getEvent().getKey());
                    }
                }
                default -> refuse("a second Hello on one stream");
            }
        }

        private void refuse(String why) {
            closed = true;
            registry.disconnected(node, out);
            out.onError(Status.PERMISSION_DENIED.withDescription(why).asRuntimeException());
        }

        @Override
        public void onError(Throwable t) {
            closed = true;
            registry.disconnected(node, out);
        }

        @Override
        public void onCompleted() {
            closed = true;
            registry.disconnected(node, out);
            try {
                out.onCompleted();
            } catch (RuntimeException e) {
                LOG.debugf("stream of %s already closed", node);
            }
        }
    }

    private static final class Ignore implements StreamObserver<AgentMessage> {
        @Override
        public void onNext(AgentMessage value) {
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }
}
