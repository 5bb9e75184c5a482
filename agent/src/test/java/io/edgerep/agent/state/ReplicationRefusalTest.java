// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static io.edgerep.agent.state.Trees.DEADLINE_MS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;

/** Who may push to a replica, and in which protocol. */
class ReplicationRefusalTest extends ReplicationRig {
    @Test
    void onlyTheConfiguredOriginNodeMayPushAndUntrustedCertificatesAreRefused() throws Exception {
        startReplica(0);
        // node C holds a valid certificate from the same CA, but is not the origin of this key
        NodeTls nodeC = ca.node("node-c");
        ManagedChannel asC = channelTo(nodeC, "node-b");
        try {
            assertThatThrownBy(() -> ReplicationGrpc.newBlockingStub(asC).checksums(
                    ChecksumsRequest.newBuilder().setKey(KEY).setReplicaPod(POD).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
            assertThat(service.refusedPeers()).isEqualTo(1);
        } finally {
            asC.shutdownNow();
        }
        // a certificate for node-a, but from another CA: the handshake fails
        NodeTls forged = new TestCa("evil-ca").node("node-a");
        ManagedChannel asForged = NettyChannelBuilder.forAddress("127.0.0.1", port)
                .sslContext(io.grpc.netty.GrpcSslContexts.forClient().keyManager(forged.key(), forged.cert())
                        .trustManager(ca.cert).build())
                .overrideAuthority("node-b").build();
        try {
            assertThatThrownBy(() -> ReplicationGrpc.newBlockingStub(asForged).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .checksums(ChecksumsRequest.newBuilder().setKey(KEY).setReplicaPod(POD).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        } finally {
            asForged.shutdownNow();
        }
        // the origin itself is let in
        ManagedChannel asA = channelTo(nodeA, "node-b");
        try {
            assertThat(ReplicationGrpc.newBlockingStub(asA).checksums(
                    ChecksumsRequest.newBuilder().setKey(KEY).setReplicaPod(POD).build()).getFilesList()).isEmpty();
        } finally {
            asA.shutdownNow();
        }
    }

    /** An origin of an older protocol (a batch of no known kind) is refused with a reason, and nothing applied. */
    @Test
    void aPushOfAnOlderProtocolIsRefused() throws Exception {
        startReplica(0);
        ManagedChannel asA = channelTo(nodeA, "node-b");
        try {
            java.util.concurrent.CompletableFuture<Throwable> refused = new java.util.concurrent.CompletableFuture<>();
            var out = ReplicationGrpc.newStub(asA).push(new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(io.edgerep.proto.v1.Ack a) {
                    refused.complete(null);
                }

                @Override
                public void onError(Throwable t) {
                    refused.complete(t);
                }

                @Override
                public void onCompleted() {
                    refused.complete(null);
                }
            });
            out.onNext(io.edgerep.proto.v1.StateBatch.newBuilder().setKey(KEY).setReplicaPod(POD).setEpoch(1).build());
            Throwable t = refused.get(DEADLINE_MS, TimeUnit.MILLISECONDS);
            assertThat(t).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(e.getStatus().getDescription()).contains("older protocol");
            });
            assertThat(service.replicas().values().iterator().next().applier().ack().getEpoch()).isZero();
        } finally {
            asA.shutdownNow();
        }
    }
}
