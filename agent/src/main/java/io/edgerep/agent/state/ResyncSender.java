// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.OpBatch;
import io.edgerep.proto.v1.ReplicatedOp;
import io.edgerep.proto.v1.ResyncBegin;
import io.edgerep.proto.v1.ResyncEnd;

/**
 * Sends what a replica lacks of the origin's files, planned by {@link ResyncPlanner} against the replica's checksums:
 * a whole-tree resync, a resync of some paths, or a verification's comparison (which confirms the replica when it
 * finds nothing to send). Content goes in {@code Ops} batches of about {@code maxBatchBytes}, closed by a
 * {@code ResyncEnd} or a {@code Confirm}.
 */
final class ResyncSender {
    /** What a plan sent: the planner's figures and every path it sent something for (null: too many to keep). */
    record Sent(ResyncPlanner.Result result, Set<String> paths, Set<String> firstPaths, boolean confirmed) {
        boolean repaired() {
            return result.files() != 0 || result.removed() != 0;
        }
    }

    private final String key;
    private final String pod;
    private final ConfinedRoot origin;
    private final ReplicaLink.Options opt;
    private final LinkCounters counters;

    ResyncSender(String key, String pod, ConfinedRoot origin, ReplicaLink.Options opt, LinkCounters counters) {
        this.key = key;
        this.pod = pod;
        this.origin = origin;
        this.opt = opt;
        this.counters = counters;
    }

    /** A whole-tree resync whose content covers every op up to base. */
    Sent whole(PushSession s, long base, SnapshotTimes times) throws Exception {
        ChecksumsResponse sums = s.checksums(request(null));
        s.sendResyncBegin(s.batch().setResyncBegin(ResyncBegin.newBuilder().setBaseSeq(base)));
        return send(s, sums, null, times, -1, true);
    }

    /** A resync of these paths. */
    Sent paths(PushSession s, Collection<String> paths, SnapshotTimes times) throws Exception {
        return send(s, s.checksums(request(paths)), paths, times, -1, false);
    }

    /**
     * Compares scope (null: the whole tree) and repairs what differs; when nothing does, confirms the replica at
     * confirmSeq instead of ending a resync.
     */
    Sent compare(PushSession s, Collection<String> scope, SnapshotTimes times, long confirmSeq) throws Exception {
        return send(s, s.checksums(request(scope)), scope, times, confirmSeq, false);
    }

    private ChecksumsRequest request(Collection<String> paths) {
        ChecksumsRequest.Builder r = ChecksumsRequest.newBuilder().setKey(key).setReplicaPod(pod)
                .setBlockSize(opt.blockSize());
        if (paths != null) {
            r.addAllPaths(paths);
        }
        return r.build();
    }

    private Sent send(PushSession s, ChecksumsResponse sums, Collection<String> scope, SnapshotTimes times,
            long confirmSeq, boolean wholeTree) throws Exception {
        Batcher b = new Batcher(s);
        ResyncPlanner.Result r = ResyncPlanner.plan(origin, sums, scope, opt.blockSize(), b::add, times);
        b.flush();
        boolean confirm = !b.sentAny && !wholeTree && r.files() == 0 && r.removed() == 0 && confirmSeq >= 0;
        if (confirm) {
            s.sendConfirm(confirmSeq);
        } else {
            s.send(s.batch().setResyncEnd(ResyncEnd.newBuilder().setWholeTree(wholeTree)));
        }
        counters.resyncedBytes.addAndGet(r.bytes());
        return new Sent(r, b.paths, b.firstPaths, confirm);
    }

    /** Gathers planned content into batches of about maxBatchBytes and notes the paths it carried. */
    private final class Batcher {
        private final PushSession s;
        private OpBatch.Builder cur = OpBatch.newBuilder();
        private long bytes;
        private boolean sentAny;
        private IOException error;
        private Set<String> paths = new HashSet<>();
        private final Set<String> firstPaths = new TreeSet<>();

        Batcher(PushSession s) {
            this.s = s;
        }

        void add(ReplicatedOp op) {
            if (error != null) {
                return;
            }
            cur.addOps(op);
            bytes += op.getSerializedSize();
            String path = switch (op.getKindCase()) {
                case BLOCKS -> op.getBlocks().getPath();
                case ATTRS -> op.getAttrs().getPath();
                default -> op.getMeta().getPath();
            };
            if (firstPaths.size() < 8) {
                firstPaths.add(path);
            }
            if (paths != null && paths.add(path) && paths.size() > opt.maxTouched()) {
                paths = null;
            }
            if (bytes >= opt.maxBatchBytes()) {
                try {
                    flush();
                } catch (IOException e) {
                    error = e;
                }
            }
        }

        void flush() throws IOException {
            if (error != null) {
                throw error;
            }
            if (cur.getOpsCount() > 0) {
                s.send(s.batch().setOpBatch(cur));
                sentAny = true;
                cur = OpBatch.newBuilder();
                bytes = 0;
            }
        }
    }
}
