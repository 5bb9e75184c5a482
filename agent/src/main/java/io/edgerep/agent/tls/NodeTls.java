// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.tls;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLException;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

/**
 * The node's TLS material: its key, its certificate (CN = node name, DNS SAN = node name) and the CA that signs every
 * node and the operator. Builds the mTLS contexts of the agent's servers and clients.
 */
public record NodeTls(PrivateKey key, X509Certificate cert, List<X509Certificate> ca) {

    public String nodeName() {
        return NodeIdentity.commonName(cert);
    }

    /** Server side: a client certificate signed by the CA is required. */
    public SslContext serverContext() throws SSLException {
        return GrpcSslContexts.configure(SslContextBuilder.forServer(key, cert))
                .trustManager(ca.toArray(X509Certificate[]::new))
                .clientAuth(ClientAuth.REQUIRE).build();
    }

    /** Client side: presents the node certificate and trusts only the CA. */
    public SslContext clientContext() throws SSLException {
        return GrpcSslContexts.forClient().keyManager(key, cert).trustManager(ca.toArray(X509Certificate[]::new))
                .build();
    }

    /** A client context without a certificate of its own (bootstrap). */
    public static SslContext anonymousClient(List<X509Certificate> ca) throws SSLException {
        return GrpcSslContexts.forClient().trustManager(ca.toArray(X509Certificate[]::new)).build();
    }

    public static List<X509Certificate> parseCerts(String pem) throws CertificateException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (var c : cf.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
            out.add((X509Certificate) c);
        }
        return out;
    }
}
