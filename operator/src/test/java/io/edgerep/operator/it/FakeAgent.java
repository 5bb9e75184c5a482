// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import java.io.StringWriter;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import javax.security.auth.x500.X500Principal;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

import io.edgerep.operator.security.CertificateAuthority;
import io.edgerep.proto.v1.AgentControlGrpc;
import io.edgerep.proto.v1.AgentMessage;
import io.edgerep.proto.v1.BootstrapRequest;
import io.edgerep.proto.v1.BootstrapResponse;
import io.edgerep.proto.v1.ControllerMessage;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.ItemKind;
import io.edgerep.proto.v1.ItemResult;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.StreamConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContextBuilder;

/**
 * An agent over real gRPC and TLS: bootstraps a certificate with a projected token, connects with
 * it, records every NodeConfig it receives and acknowledges it (unless told not to).
 */
public final class FakeAgent implements AutoCloseable {

    public final String node;
    public final KeyPair keys = CertificateAuthority.newKeyPair();
    public final BlockingQueue<NodeConfig> received = new LinkedBlockingQueue<>();
    public final List<NodeConfig> all = new CopyOnWriteArrayList<>();
    public final AtomicBoolean ack = new AtomicBoolean(true);
    public final AtomicReference<Throwable> error = new AtomicReference<>();
    public final AtomicBoolean ended = new AtomicBoolean();
    /** Teardowns received; each is answered with {@link #teardownAnswer}. */
    public final List<io.edgerep.proto.v1.Teardown> teardowns = new CopyOnWriteArrayList<>();
    public volatile io.edgerep.proto.v1.TeardownResult teardownAnswer = io.edgerep.proto.v1.TeardownResult
            .newBuilder().setOk(true).addRemoved("tc ingress eth0").addRemoved("pin dir /sys/fs/bpf/edgerep").build();
    private ManagedChannel channel;
    private StreamObserver<AgentMessage> up;
    private volatile long applied;

    public FakeAgent(String node) {
        this.node = node;
    }

    public String csrPem() {
        try {
            var csr = new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=anything"), keys.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
            StringWriter w = new StringWriter();
            try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
                pw.writeObject(csr);
            }
            return w.toString();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Bootstrap over TLS without a client certificate. */
    public static BootstrapResponse bootstrap(int port, X509Certificate trust, String node, String token, String csr)
            throws Exception {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port)
                .sslContext(GrpcSslContexts.forClient().trustManager(trust).build()).build();
        try {
            return AgentControlGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS).bootstrap(
                    BootstrapRequest.newBuilder().setNodeName(node).setToken(token).setCsrPem(csr).build());
        } finally {
            ch.shutdownNow();
        }
    }

    /**
     * An agent of {@code node} as the packaged operator meets it: an agent pod with a projected token, bootstrapped
     * against the CA the operator keeps in its Secret, connected.
     */
    public static FakeAgent enrol(io.fabric8.kubernetes.client.KubernetesClient client, int port, String node)
            throws Exception {
        var secret = client.secrets().inNamespace(OperatorHarness.NAMESPACE).withName("edgerep-ca").get();
        var ca = CertificateAuthority.parseCert(
                new String(java.util.Base64.getDecoder().decode(secret.getData().get("tls.crt"))));
        String token = new Cluster(client).agentToken(node, "edgerep-agent", "agent-" + node,
                java.util.Map.of("app.kubernetes.io/name", "edgerep-agent"));
        FakeAgent agent = new FakeAgent(node);
        var resp = bootstrap(port, ca, node, token, agent.csrPem());
        return agent.connect(port, ca, CertificateAuthority.parseCert(resp.getCertificatePem()),
                agent.keys.getPrivate(), node, "10.0.0.1:7443");
    }

    /** Connects with the given certificate and key, says Hello as {@code helloNode}. */
    public FakeAgent connect(int port, X509Certificate trust, X509Certificate cert, PrivateKey key, String helloNode,
            String endpoint) throws Exception {
        var ssl = GrpcSslContexts.configure(SslContextBuilder.forClient().keyManager(key, cert)).trustManager(trust)
                .build();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl).build();
        up = AgentControlGrpc.newStub(channel).connect(new StreamObserver<>() {
            @Override
            public void onNext(ControllerMessage m) {
                if (m.hasConfig()) {
                    all.add(m.getConfig());
                    received.add(m.getConfig());
                    if (ack.get()) {
                        acknowledge(m.getConfig());
                    }
                } else if (m.hasTeardown()) {
                    teardowns.add(m.getTeardown());
                    synchronized (FakeAgent.this) {
                        up.onNext(AgentMessage.newBuilder().setTeardownResult(teardownAnswer).build());
                    }
                }
            }

            @Override
            public void onError(Throwable t) {
                error.set(t);
                ended.set(true);
            }

            @Override
            public void onCompleted() {
                ended.set(true);
            }
        });
        up.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setNodeName(helloNode)
                .setAgentVersion("fake").setAppliedVersion(applied).setReplicationEndpoint(endpoint)).build());
        return this;
    }

    /** Reports the config applied, every item ok. */
    public synchronized void acknowledge(NodeConfig c) {
        NodeStatus.Builder st = NodeStatus.newBuilder().setAppliedVersion(c.getVersion());
        for (StreamConfig s : c.getStreamsList()) {
            st.addItems(ItemResult.newBuilder().setKind(ItemKind.ITEM_KIND_STREAM).setKey(s.getKey()).setOk(true));
        }
        c.getStateOriginsList().forEach(o -> st.addItems(ItemResult.newBuilder()
                .setKind(ItemKind.ITEM_KIND_STATE_ORIGIN).setKey(o.getKey()).setOk(true)));
        c.getStateReplicasList().forEach(o -> st.addItems(ItemResult.newBuilder()
                .setKind(ItemKind.ITEM_KIND_STATE_REPLICA).setKey(o.getKey()).setOk(true)));
        applied = c.getVersion();
        up.onNext(AgentMessage.newBuilder().setStatus(st).build());
    }

    public synchronized void send(io.edgerep.proto.v1.AgentEvent event) {
        up.onNext(AgentMessage.newBuilder().setEvent(event).build());
    }

    public synchronized void send(Counters counters) {
        up.onNext(AgentMessage.newBuilder().setCounters(counters).build());
    }

    public NodeConfig latest() {
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    @Override
    public void close() {
        try {
            if (up != null) {
                up.onCompleted();
            }
        } catch (RuntimeException e) {
            // already closed
        }
        if (channel != null) {
            channel.shutdownNow();
            try {
                channel.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
