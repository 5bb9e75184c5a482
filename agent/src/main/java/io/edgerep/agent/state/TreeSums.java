package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.edgerep.proto.v1.ChecksumsResponse;
import io.edgerep.proto.v1.FileAttrs;
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
        Map<String, String> hardlinks = hardlinkNames(found);
        ChecksumsResponse.Builder out = ChecksumsResponse.newBuilder();
        for (Map.Entry<String, Path> e : found.entrySet()) {
            FileChecksums.Builder f = facts(e.getKey(), e.getValue(), blockSize, metadataOnly);
            if (f != null) {
                out.addFiles(f.setHardlinkOf(hardlinks.getOrDefault(e.getKey(), "")));
            }
        }
        return new Read(out.build(), refused);
    }

    /** What {@link #read} found, and how many asked-for paths it refused. */
    record Read(ChecksumsResponse sums, int refused) {
    }

    /** The facts of one path (null: absent, or neither file, directory nor link). */
    static FileChecksums.Builder facts(String containerPath, Path p, int blockSize, boolean metadataOnly)
            throws IOException {
        BasicFileAttributes a = PosixFiles.lstat(p);
        if (a == null || a.isOther()) {
            return null;
        }
        FileAttrs.Builder attrs = PosixFiles.attrsOf(p, containerPath);
        if (attrs == null) {
            return null; // gone meanwhile
        }
        FileChecksums.Builder f = FileChecksums.newBuilder().setPath(containerPath).setUid(attrs.getUid())
                .setGid(attrs.getGid()).setMtimeNs(attrs.getMtimeNs());
        if (a.isSymbolicLink()) {
            return f.setLinkTarget(Files.readSymbolicLink(p).toString());
        }
        f.setMode(attrs.getMode()).setIsDir(a.isDirectory());
        if (!a.isDirectory()) {
            f.setSize(a.size());
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
