// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.edgerep.proto.v1.ChecksumsRequest;
import io.edgerep.proto.v1.FileChecksums;

/**
 * The periodic comparison of a replica's whole tree with its origin's, for what capture cannot see: writes by another
 * container of the pod, {@code kubectl cp} into a path no process of the traced container had open, a change made on
 * the replica. Cheap when nothing changed: both sides send metadata only (type, size, mode, owner, times, links);
 * each path whose metadata differs is verified with block sums by the {@link Verifier}. A difference that no op after
 * the replica's position explains, on a path the origin has not changed in the last {@link #QUIET_MS}, is drift: it
 * is counted and reported before the verification repairs it.
 */
final class AntiEntropy {
    /** A path the origin changed this recently may have an op still on its way from the kernel. */
    static final long QUIET_MS = 2_000;

    /** What one comparison found. */
    record Found(Set<String> differing, Set<String> drifted) {
    }

    private final ConfinedRoot origin;
    private final OpLog log;
    private final ReplicaLink.Options opt;
    private final java.util.function.LongSupplier intervalMs;
    private long lastMs = System.currentTimeMillis();

    /** @param intervalMs how often to compare (0: never), read anew each time */
    AntiEntropy(ConfinedRoot origin, OpLog log, ReplicaLink.Options opt, java.util.function.LongSupplier intervalMs) {
        this.origin = origin;
        this.log = log;
        this.opt = opt;
        this.intervalMs = intervalMs;
    }

    boolean due(long now) {
        long every = intervalMs.getAsLong();
        return every > 0 && now >= lastMs + every;
    }

    /** Compares with the replica standing at seq applied (nothing else is sent meanwhile). */
    Found compare(PushSession s, long applied, String key, String pod) throws Exception {
        lastMs = System.currentTimeMillis();
        Map<String, FileChecksums> theirs = byPath(s.checksums(ChecksumsRequest.newBuilder().setKey(key)
                .setReplicaPod(pod).setBlockSize(opt.blockSize()).setMetadataOnly(true).build()).getFilesList());
        Map<String, FileChecksums> ours = byPath(TreeSums.read(origin, List.of(), opt.blockSize(), true).sums()
                .getFilesList());
        Set<String> differing = new TreeSet<>();
        Set<String> all = new TreeSet<>(ours.keySet());
        all.addAll(theirs.keySet());
        for (String p : all) {
            if (!sameFacts(ours.get(p), theirs.get(p))) {
                differing.add(p);
            }
        }
        Set<String> drifted = new TreeSet<>(differing);
        drifted.removeAll(changedAfter(applied));
        long recent = System.currentTimeMillis() - QUIET_MS;
        drifted.removeIf(p -> { // on a path the origin changed just now, or whose directory it did (a removal)
            FileChecksums o = ours.containsKey(p) ? ours.get(p) : ours.get(ResyncPlanner.parent(p));
            return o != null && o.getMtimeNs() / 1_000_000 > recent;
        });
        return new Found(differing, drifted);
    }

    /** Paths (and their directories) of the ops after seq: what the replica has yet to apply. */
    private Set<String> changedAfter(long seq) throws Exception {
        Set<String> out = new TreeSet<>();
        try {
            log.scanAfter(seq, opt.maxBatchOps(), opt.maxBatchBytes(), op -> {
                List<String> paths = op.hasEvent()
                        ? StateEvents.pathsOf(op.getEvent())
                        : op.hasAttrs() ? List.of(op.getAttrs().getPath()) : List.of();
                for (String p : paths) {
                    out.add(p);
                    out.add(ResyncPlanner.parent(p));
                }
                return true;
            });
        } catch (OpLog.GoneException e) {
            return Set.copyOf(origin.walk().stream().map(origin::containerPath).toList());
        }
        return out;
    }

    private static Map<String, FileChecksums> byPath(List<FileChecksums> files) {
        Map<String, FileChecksums> out = new HashMap<>();
        for (FileChecksums f : files) {
            out.put(f.getPath(), f);
        }
        return out;
    }

    /** Whether two paths' metadata agree (absent on either side: they do not). */
    static boolean sameFacts(FileChecksums a, FileChecksums b) {
        if (a == null || b == null) {
            return a == b;
        }
        boolean link = !a.getLinkTarget().isEmpty();
        boolean mtime = link ? a.getMtimeNs() / 1000 == b.getMtimeNs() / 1000 : a.getMtimeNs() == b.getMtimeNs();
        return a.getLinkTarget().equals(b.getLinkTarget()) && a.getIsDir() == b.getIsDir() && a.getSize() == b.getSize()
                && (link || a.getMode() == b.getMode()) && a.getUid() == b.getUid() && a.getGid() == b.getGid()
                && mtime && a.getHardlinkOf().equals(b.getHardlinkOf());
    }

    /** The first few paths of a set, for a message. */
    static String sample(Set<String> paths) {
        List<String> out = new ArrayList<>();
        for (String p : paths) {
            if (out.size() == 5) {
                out.add("…");
                break;
            }
            out.add(p);
        }
        return String.join(", ", out);
    }
}
