// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.FileChecksums;

/**
 * What a tree holds, path by path, as a verification compares it: type, size, mode, owner, modification time, link
 * target, the other name of a hard-linked file, and (unless only metadata is asked) block sums.
 */
final class TreeSums {
    private TreeSums() {
    }

    /**
     * @param paths container paths to read; empty = every path under the replicated prefixes
     * @return the facts, and the number of paths refused (outside the replicated paths)
     */
    static Read read(ConfinedRoot root, List<String> paths, int blockSize, boolean metadataOnly)
            throws IOException {
        TreeMap<String, Path> found = new TreeMap<>();
        int refused = 0;
        if (paths.isEmpty()) {
            for (Path p : root.walk()) {
                found.put(root.containerPath(p), p);
            }
        } else {
            for (String cp : paths) {
                try {
                    found.put(cp, root.resolve(cp, false));
                } catch (PathRefusedException e) {
                    refused++;
                } catch (NoSuchFileException e) {
                    // absent: not listed
                }
            }
        }
        Map<Object, String> firstName = new HashMap<>();
        ChecksumsResponse.Builder out = ChecksumsResponse.newBuilder();
        for (Map.Entry<String, Path> e : found.entrySet()) {
            Map<String, Object> a = unixAttrs(e.getValue());
            if (a == null) {
                continue;
            }
            FileChecksums.Builder f = facts(e.getKey(), e.getValue(), a, blockSize, metadataOnly);
            if (f == null) {
                continue;
            }
            if ((Boolean) a.get("isRegularFile") && (Integer) a.get("nlink") > 1) {
                String first = firstName.putIfAbsent(List.of(a.get("dev"), a.get("ino")), e.getKey());
                if (first != null) {
                    f.setHardlinkOf(first);
                }
            }
            out.addFiles(f);
        }
        return new Read(out.build(), refused);
    }

    /** Every unix attribute of a path, never following a link (null: absent). */
    static Map<String, Object> unixAttrs(Path p) throws IOException {
        try {
            return Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** What {@link #read} found, and how many asked-for paths it refused. */
    record Read(ChecksumsResponse sums, int refused) {
    }

    /** The facts of one path from its unix attributes (null: neither file, directory nor link). */
    static FileChecksums.Builder facts(String containerPath, Path p, Map<String, Object> a, int blockSize,
            boolean metadataOnly) throws IOException {
        if ((Boolean) a.get("isOther")) {
            return null;
        }
        FileChecksums.Builder f = FileChecksums.newBuilder().setPath(containerPath).setUid((Integer) a.get("uid"))
                .setGid((Integer) a.get("gid"))
                .setMtimeNs(((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS));
        if ((Boolean) a.get("isSymbolicLink")) {
            return f.setLinkTarget(Files.readSymbolicLink(p).toString());
        }
        boolean dir = (Boolean) a.get("isDirectory");
        f.setMode(((Integer) a.get("mode")) & 07777).setIsDir(dir);
        if (!dir) {
            f.setSize((Long) a.get("size"));
            if (!metadataOnly) {
                f.addAllBlockSums(BlockSums.of(p, blockSize));
            }
        }
        return f;
    }

    /**
     * For each regular file with more than one name among paths: the first of its names in the order of container
     * paths, unless that is the path itself.
     */
    static Map<String, String> hardlinkNames(TreeMap<String, Path> paths) throws IOException {
        Map<Object, String> first = new HashMap<>();
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, Path> e : paths.entrySet()) {
            Map<String, Object> a;
            try {
                a = Files.readAttributes(e.getValue(), "unix:nlink,ino,dev,isRegularFile", LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException gone) {
                continue;
            }
            if (!(Boolean) a.get("isRegularFile") || (Integer) a.get("nlink") < 2) {
                continue;
            }
            List<Object> id = new ArrayList<>(List.of(a.get("dev"), a.get("ino")));
            String name = first.putIfAbsent(id, e.getKey());
            if (name != null) {
                out.put(e.getKey(), name);
            }
        }
        return out;
    }
}
