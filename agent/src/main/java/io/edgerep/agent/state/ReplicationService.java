// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import io.edgerep.agent.tls.NodeIdentity;
import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.edgerep.proto.v1.StateBatch;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * Replica side of {@code Replication}: routes pushed batches to the {@link StateApplier} of their key and replica pod,
 * after checking that the calling node (from its client certificate, see {@link NodeIdentity}) is the origin node the
 * replica's config names.
 */
public final class ReplicationService extends ReplicationGrpc.ReplicationImplBase {
    private static final Logger LOG = Logger.getLogger(ReplicationService.class);

    /** One replica this node serves. */
    public record Replica(StateApplier applier, String originNode) {
    }

    private final Map<ReplicaId, Replica> replicas = new ConcurrentHashMap<>();
    private final AtomicLong refusedPeers = new AtomicLong();

    public void put(Replica r) {
        replicas.put(new ReplicaId(r.applier().key(), r.applier().pod()), r);
    }

    public void remove(ReplicaId id) {
        replicas.remove(id);
    }

    public Map<ReplicaId, Replica> replicas() {
        return replicas;
    }

    public long refusedPeers() {
        return refusedPeers.get();
    }

    private Replica authorize(String key, String pod) {
        Replica r = replicas.get(new ReplicaId(key, pod));
        if (r == null) {
            throw Status.NOT_FOUND.withDescription("no replica " + pod + " for " + key + " on this node")
                    .asRuntimeException();
        }
        String peer = NodeIdentity.PEER_NODE.get();
        if (peer == null || !peer.equals(r.originNode())) {
            refusedPeers.incrementAndGet();
            LOG.warnf("refused push for %s/%s from node %s (origin is %s)", key, pod, peer, r.originNode());
            throw Status.PERMISSION_DENIED.withDescription("node " + peer + " is not the origin of " + key)
                    .asRuntimeException();
        }
        return r;
    }

    @Override
    public StreamObserver<StateBatch> push(StreamObserver<Ack> acks) {
        return new StreamObserver<>() {
            private Replica bound;
            private boolean failed;

            @Override
            public void onNext(StateBatch b) {
                if (failed) {
                    return;
                }
                try {
                    if (bound == null) {
                        bound = authorize(b.getKey(), b.getReplicaPod());
                    } else if (!bound.applier().key().equals(b.getKey())
                            || !bound.applier().pod().equals(b.getReplicaPod())) {
                        throw Status.INVALID_ARGUMENT.withDescription("one key and replica per stream")
                                .asRuntimeException();
                    }
                    acks.onNext(bound.applier().apply(b));
                } catch (IllegalArgumentException e) {
                    failed = true;
                    LOG.warnf("refused push for %s/%s: %s", b.getKey(), b.getReplicaPod(), e.getMessage());
                    acks.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
                } catch (RuntimeException e) {
                    failed = true;
                    acks.onError(e instanceof io.grpc.StatusRuntimeException
                            ? e
                            : Status.INTERNAL.withCause(e)
                                    .withDescription(e.toString()).asRuntimeException());
                }
            }

            @Override
            public void onError(Throwable t) {
                // origin went away; it reconnects and resumes from our ack
            }

            @Override
            public void onCompleted() {
                if (!failed) {
                    acks.onCompleted();
                }
            }
        };
    }

    @Override
    public void checksums(ChecksumsRequest req, StreamObserver<ChecksumsResponse> out) {
        try {
            Replica r = authorize(req.getKey(), req.getReplicaPod());
            int bs = req.getBlockSize() == 0 ? BlockSums.DEFAULT_BLOCK_SIZE : req.getBlockSize();
            if (bs < 512 || bs > (8 << 20)) {
                throw Status.INVALID_ARGUMENT.withDescription("block size out of range").asRuntimeException();
            }
            out.onNext(r.applier().checksums(req.getPathsList(), bs, req.getMetadataOnly()));
            out.onCompleted();
        } catch (io.grpc.StatusRuntimeException e) {
            out.onError(e);
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
        }
    }
}
