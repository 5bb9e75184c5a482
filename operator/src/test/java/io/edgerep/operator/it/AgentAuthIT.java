// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.edgerep.operator.security.CertificateAuthority;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Who may talk to the operator: agents bootstrap with a bound service account token of an agent
 * pod on the node they claim, and connect only with a certificate of the operator's CA for their
 * own node.
 */
class AgentAuthIT extends ControlPlaneSetup {

    @Test
    void certificateFromAnotherCaIsRefused() throws Exception {
        CertificateAuthority rogue = CertificateAuthority.create("rogue");
        FakeAgent a = new FakeAgent("n1");
        var cert = rogue.issueNode(a.csrPem(), "n1", Duration.ofMinutes(5));
        try {
            a.connect(operator.port(), operator.ca.caCertificate(), cert, a.keys.getPrivate(), "n1", "");
            await().atMost(10, TimeUnit.SECONDS).until(() -> a.ended.get());
            assertThat(a.error.get()).isInstanceOf(StatusRuntimeException.class);
            assertThat(a.all).isEmpty();
        } finally {
            a.close();
        }
        assertThat(operator.registry.connectedNodes()).containsExactlyInAnyOrder("n1", "n2");
    }

    @Test
    void nodeACertificateCannotActForNodeB() throws Exception {
        FakeAgent n2Before = agents.get("n2");
        int receivedBefore = n2Before.all.size();
        FakeAgent imposter = new FakeAgent("n1");
        try {
            imposter.connect(operator.port(), operator.ca.caCertificate(), certs.get("n1"),
                    agents.get("n1").keys.getPrivate(), "n2", "");
            await().atMost(10, TimeUnit.SECONDS).until(() -> imposter.ended.get());
            assertThat(Status.fromThrowable(imposter.error.get()).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(imposter.all).as("no config of n2 reaches n1's certificate").isEmpty();
        } finally {
            imposter.close();
        }
        // the real n2 agent is untouched
        assertThat(operator.registry.connectedNodes()).contains("n2");
        assertThat(n2Before.ended.get()).isFalse();
        assertThat(n2Before.all.size()).isGreaterThanOrEqualTo(receivedBefore);
    }

    @Test
    void bootstrapRefusesWrongTokensAndClaims() throws Exception {
        var trust = operator.ca.caCertificate();
        String csr = new FakeAgent("x").csrPem();
        String n1Token = cluster.agentToken("n1", "edgerep-agent", "agent-n1", AGENT_LABELS);
        // a claim for another node than the token's pod runs on
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n2", n1Token, csr), "node");
        // a token for another audience
        String otherAudience = cluster.agentToken("n1", "something-else", "agent-n1", AGENT_LABELS);
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", otherAudience, csr), "");
        // a stolen token of a pod that is not an agent (default service account)
        String ns = "t-sec";
        cluster.namespace(ns);
        var app = cluster.runningPod(ns, "app", "n1", "10.1.7.1", Map.of("app", "web"));
        String appToken = cluster.token("default", "edgerep-agent", app);
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", appToken, csr), "service account");
        // an agent-SA pod without the agent label
        String unlabelled = cluster.agentToken("n1", "edgerep-agent", "not-an-agent", Map.of("app", "x"));
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", unlabelled, csr), "not an agent pod");
        // garbage
        assertDenied(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", "not-a-token", csr), "not authenticated");
        // a valid claim with a malformed CSR is an argument error, not a certificate
        assertThatThrownBy(() -> FakeAgent.bootstrap(operator.port(), trust, "n1", n1Token, "junk"))
                .satisfies(t -> assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void connectWithoutCertificateIsUnauthenticated() throws Exception {
        var ch = io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", operator.port())
                .sslContext(io.grpc.netty.GrpcSslContexts.forClient().trustManager(operator.ca.caCertificate()).build())
                .build();
        try {
            var done = new java.util.concurrent.CompletableFuture<Throwable>();
            var up = io.edgerep.proto.v1.AgentControlGrpc.newStub(ch).connect(new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(io.edgerep.proto.v1.ControllerMessage v) {
                    done.complete(new AssertionError("received a config without a certificate"));
                }

                @Override
                public void onError(Throwable t) {
                    done.complete(t);
                }

                @Override
                public void onCompleted() {
                    done.complete(new AssertionError("completed"));
                }
            });
            try {
                up.onNext(io.edgerep.proto.v1.AgentMessage.newBuilder()
                        .setHello(io.edgerep.proto.v1.Hello.newBuilder().setNodeName("n1")).build());
            } catch (IllegalStateException e) {
                // the server may end the call before the Hello is written; its status still arrives
            }
            Throwable t = done.get(10, TimeUnit.SECONDS);
            assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        } finally {
            ch.shutdownNow();
        }
    }

    interface Call {
        Object run() throws Exception;
    }

    static void assertDenied(Call call, String messagePart) {
        assertThatThrownBy(call::run).satisfies(t -> {
            Status s = Status.fromThrowable(t);
            assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(s.getDescription()).contains(messagePart);
        });
    }
}
