// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.Confirm;
import io.edgerep.proto.v1.PushHello;
import io.edgerep.proto.v1.ReplicationGrpc;
import io.edgerep.proto.v1.StateBatch;
import io.grpc.stub.StreamObserver;

/**
 * One {@code Replication.Push} stream to a replica and what its acks said: the replica acks every batch in order, so
 * the n-th ack answers the n-th batch. Knows how far the replica got, whether it asked for a resync, took the last
 * confirmation, or failed to apply an op.
 */
final class PushSession implements AutoCloseable {
    /** The replication protocol this agent speaks (see {@code Hello.protocol}). */
    static final int PROTOCOL = 2;

    private final String key;
    private final String pod;
    private final long epoch;
    private final ReplicationGrpc.ReplicationBlockingStub blocking;
    /** Highest applied seq the replica acked in the origin's epoch, across sessions (what the log may trim to). */
    private final AtomicLong acked;
    private final StreamObserver<StateBatch> out;

    private final Object lock = new Object();
    private long acksReceived;
    private long batchesSent;
    /** Index of the last resync begin sent: acks before it may still say needs_resync. */
    private long resyncBeginIndex = -1;
    private boolean replicaWantsResync;
    private Throwable streamError;
    private boolean streamDone;
    private Ack lastAck;
    /** Index of the last confirmation sent (-1: none). */
    private long confirmIndex = -1;
    /** An ack of the last confirmation or after it still said not confirmed: the replica did not take it. */
    private boolean confirmationNotTaken;
    /** The replica's count of ops it failed to apply, as its acks of this session said (-1: no ack yet). */
    private long replicaFailedOps = -1;
    /** That count grew: an op the origin applied did not apply on the replica, so their files may differ. */
    private boolean replicaFailed;

    PushSession(String key, String pod, long epoch, ReplicationGrpc.ReplicationStub async,
            ReplicationGrpc.ReplicationBlockingStub blocking, AtomicLong acked) {
        this.key = key;
        this.pod = pod;
        this.epoch = epoch;
        this.blocking = blocking;
        this.acked = acked;
        this.out = async.push(new AckObserver());
    }

    private final class AckObserver implements StreamObserver<Ack> {
        @Override
        public void onNext(Ack a) {
            synchronized (lock) {
                long index = acksReceived++;
                lastAck = a;
                if (a.getEpoch() == epoch) {
                    acked.accumulateAndGet(a.getAppliedSeq(), Math::max);
                }
                if (a.getNeedsResync() && index >= resyncBeginIndex) {
                    replicaWantsResync = true;
                }
                if (confirmIndex >= 0 && index >= confirmIndex) {
                    confirmationNotTaken = !a.getConfirmed();
                }
                if (replicaFailedOps >= 0 && a.getFailedOps() > replicaFailedOps) {
                    replicaFailed = true;
                }
                replicaFailedOps = a.getFailedOps();
                lock.notifyAll();
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (lock) {
                streamError = t;
                lock.notifyAll();
            }
        }

        @Override
        public void onCompleted() {
            synchronized (lock) {
                streamDone = true;
                lock.notifyAll();
            }
        }
    }

    /** A batch of this stream's key, pod and epoch, of no kind yet. */
    StateBatch.Builder batch() {
        return StateBatch.newBuilder().setKey(key).setReplicaPod(pod).setEpoch(epoch);
    }

    /** Opens the stream; the replica's first ack says where it stands. */
    Ack hello(long timeoutMs) throws Exception {
        send(batch().setHello(PushHello.newBuilder().setProtocol(PROTOCOL)));
        return awaitAck(1, timeoutMs);
    }

    void send(StateBatch.Builder b) throws IOException {
        checkStream();
        out.onNext(b.build());
        synchronized (lock) {
            batchesSent++;
        }
    }

    /** Sends the beginning of a whole-tree resync; the replica's acks from it on say whether it still needs one. */
    void sendResyncBegin(StateBatch.Builder start) throws IOException {
        synchronized (lock) {
            resyncBeginIndex = batchesSent;
            replicaWantsResync = false;
        }
        send(start);
    }

    /** Tells the replica its content at seq is the origin's; its acks from it on say whether it took it. */
    void sendConfirm(long seq) throws IOException {
        synchronized (lock) {
            confirmIndex = batchesSent;
            confirmationNotTaken = false;
        }
        send(batch().setConfirm(Confirm.newBuilder().setSeq(seq)));
    }

    void checkStream() throws IOException {
        synchronized (lock) {
            if (streamError != null) {
                throw new IOException("push stream failed: " + streamError.getMessage(), streamError);
            }
            if (streamDone) {
                throw new IOException("push stream closed by the replica");
            }
        }
    }

    /**
     * The replica's checksums, taken once it applied every batch sent before: a resync planned against a tree that
     * batches still in flight will change (an earlier resync's content, say) would miss what they add.
     */
    ChecksumsResponse checksums(ChecksumsRequest req) throws Exception {
        awaitAllAcked();
        return blocking.withDeadlineAfter(60, TimeUnit.SECONDS).checksums(req);
    }

    /** Waits until the replica acknowledged every batch sent so far. */
    void awaitAllAcked() throws Exception {
        long sent;
        synchronized (lock) {
            sent = batchesSent;
        }
        awaitAck(sent, 60_000);
    }

    private Ack awaitAck(long n, long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        synchronized (lock) {
            while (acksReceived < n) {
                checkStream();
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    throw new IOException("no ack from the replica");
                }
                lock.wait(left);
            }
            return lastAck;
        }
    }

    /** Blocks while more than windowOps ops before cursor are unacknowledged (until the replica asks a resync). */
    void awaitWindow(long cursor, long windowOps, java.util.function.BooleanSupplier running) throws Exception {
        synchronized (lock) {
            while (running.getAsBoolean() && cursor - 1 - acked.get() > windowOps && !replicaWantsResync) {
                checkStream();
                lock.wait(100);
            }
        }
    }

    /** Whether the replica's acks (from the last resync begin on) ask for a resync. */
    boolean replicaWantsResync() {
        synchronized (lock) {
            return replicaWantsResync;
        }
    }

    /** The replica's first ack allows resuming: what it said about needing a resync no longer counts. */
    void resumed() {
        synchronized (lock) {
            replicaWantsResync = false;
        }
    }

    /** The replica's last ack says it holds a confirmation. */
    boolean replicaConfirmed() {
        synchronized (lock) {
            return lastAck != null && lastAck.getConfirmed();
        }
    }

    /**
     * Why the replica's content may differ although no verification is pending (null: no reason); clears it.
     *
     * @param verifying a verification is pending, which will settle a confirmation not taken anyway
     */
    String takeDoubt(boolean verifying) {
        synchronized (lock) {
            String why = replicaFailed
                    ? "it failed to apply an op"
                    : confirmationNotTaken && !verifying
                            ? "still not confirmed after the confirmation" // it never took it (should not happen)
                            : null;
            replicaFailed = false;
            confirmationNotTaken = false;
            return why;
        }
    }

    Ack lastAck() {
        synchronized (lock) {
            return lastAck;
        }
    }

    @Override
    public void close() {
        try {
            out.onCompleted();
        } catch (RuntimeException e) {
            // stream already broken
        }
    }
}
