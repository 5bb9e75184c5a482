// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.registry;

import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.security.CertificateAuthority;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

/**
 * The TLS gRPC server agents dial. Client certificates are optional at the TLS layer (Bootstrap is
 * called without one) but, when presented, must chain to the operator's CA or the handshake fails;
 * Connect then requires one.
 */
public final class AgentServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(AgentServer.class);

    private final Server server;

    private AgentServer(Server server) {
        this.server = server;
    }

    public static AgentServer start(OperatorSettings settings, CertificateAuthority ca, AgentControlService service) {
        KeyPair kp = CertificateAuthority.newKeyPair();
        List<String> dns = new ArrayList<>();
        List<String> ips = new ArrayList<>();
        for (String n : settings.serverNames()) {
            (n.matches("^[0-9.]+$") || n.contains(":") ? ips : dns).add(n);
        }
        X509Certificate cert = ca.issueServer(kp.getPublic(), dns, ips, java.time.Duration.ofDays(365));
        try {
            SslContext ssl = GrpcSslContexts.configure(SslContextBuilder.forServer(kp.getPrivate(), cert,
                    ca.caCertificate()))
                    .trustManager(ca.caCertificate())
                    .clientAuth(ClientAuth.OPTIONAL)
                    .build();
            Server s = NettyServerBuilder.forAddress(new InetSocketAddress(settings.grpcHost(), settings.grpcPort()))
                    .sslContext(ssl)
                    .permitKeepAliveTime(10, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    .addService(ServerInterceptors.intercept(service, AgentControlService.identityInterceptor()))
                    .build().start();
            LOG.infof("agent server listening on %s:%d", settings.grpcHost(), s.getPort());
            return new AgentServer(s);
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the agent server", e);
        }
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
