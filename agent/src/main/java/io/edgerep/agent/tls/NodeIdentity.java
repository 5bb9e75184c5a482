// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * The node identity of a gRPC peer, taken from the common name of its verified client certificate and never from a
 * message field. The interceptor refuses calls without one.
 */
public final class NodeIdentity implements ServerInterceptor {
    /** The calling node's name, set for every call that passed the interceptor. */
    public static final Context.Key<String> PEER_NODE = Context.key("edgerep-peer-node");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        String node = session == null ? null : nodeOf(session);
        if (node == null) {
            call.close(Status.UNAUTHENTICATED.withDescription("a node client certificate is required"), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return Contexts.interceptCall(Context.current().withValue(PEER_NODE, node), call, headers, next);
    }

    /** The CN of the session's verified peer certificate, or null. */
    public static String nodeOf(SSLSession session) {
        try {
            Certificate[] chain = session.getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate x)) {
                return null;
            }
            return commonName(x);
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    public static String commonName(X509Certificate cert) {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return null;
    }
}
