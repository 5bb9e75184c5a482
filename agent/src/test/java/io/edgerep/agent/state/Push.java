// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.ArrayList;
import java.util.List;

import io.edgerep.proto.v1.Ack;
import io.edgerep.proto.v1.OpBatch;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.ResyncBegin;
import io.edgerep.proto.v1.ResyncEnd;
import io.edgerep.proto.v1.StateBatch;

/**
 * What an origin pushes, for replica-side tests: an optional resync begin, ops, an optional resync end, applied as the
 * batches of a push stream in that order.
 */
final class Push {
    private final long epoch;
    private final Long begin;
    private final List<ReplicatedOp> ops = new ArrayList<>();
    private boolean end;

    private Push(long epoch, Long begin) {
        this.epoch = epoch;
        this.begin = begin;
    }

    /** A whole-tree resync of epoch whose content covers every op up to base. */
    static Push resync(long epoch, long base) {
        return new Push(epoch, base);
    }

    /** Ops of epoch. */
    static Push ops(long epoch) {
        return new Push(epoch, null);
    }

    Push addOps(ReplicatedOp.Builder op) {
        ops.add(op.build());
        return this;
    }

    Push addOps(ReplicatedOp op) {
        ops.add(op);
        return this;
    }

    Push addAllOps(List<ReplicatedOp> more) {
        ops.addAll(more);
        return this;
    }

    /** The origin's confirmation that the replica's content at seq is its own. */
    static StateBatch confirm(long epoch, long seq) {
        return StateBatch.newBuilder().setEpoch(epoch).setConfirm(io.edgerep.proto.v1.Confirm.newBuilder().setSeq(seq))
                .build();
    }

    /** Ends with a resync end. */
    Push end() {
        end = true;
        return this;
    }

    /** The batches, in order. */
    List<StateBatch> batches() {
        List<StateBatch> out = new ArrayList<>();
        if (begin != null) {
            out.add(StateBatch.newBuilder().setEpoch(epoch).setResyncBegin(ResyncBegin.newBuilder().setBaseSeq(begin))
                    .build());
        }
        if (!ops.isEmpty() || begin == null && !end) {
            out.add(StateBatch.newBuilder().setEpoch(epoch).setOpBatch(OpBatch.newBuilder().addAllOps(ops)).build());
        }
        if (end) {
            out.add(StateBatch.newBuilder().setEpoch(epoch).setResyncEnd(ResyncEnd.getDefaultInstance()).build());
        }
        return out;
    }

    /** Applies the batches; the last ack. */
    Ack to(StateApplier a) {
        Ack last = null;
        for (StateBatch b : batches()) {
            last = a.apply(b);
        }
        return last;
    }
}
