// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.pods;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Container ID to cgroup v2 directory, id (its inode number, what {@code bpf_get_current_cgroup_id()} returns), process
 * ids and root filesystem. The cgroup2 mount is found in {@code /proc/self/mountinfo}, never assumed; the tree is
 * searched for the naming forms of containerd ({@code cri-containerd-<id>.scope}), CRI-O ({@code crio-<id>.scope}),
 * Docker with the systemd driver ({@code docker-<id>.scope}) and the cgroupfs drivers (a directory named {@code <id>}).
 */
public final class CgroupResolver {
    /** Deepest directory level searched below the cgroup2 mount. */
    static final int MAX_DEPTH = 12;
    private static final Pattern ID = Pattern.compile("[0-9a-f]{12,128}");

    /** A resolved container. */
    public record Container(String id, Path cgroupDir, long cgroupId, List<Integer> pids) {
        /** The container's root filesystem as this process reaches it, through its first process. */
        public Optional<Path> root(Path procRoot) {
            return pids.isEmpty()
                    ? Optional.empty()
                    : Optional.of(procRoot.resolve(pids.get(0).toString()).resolve("root"));
        }
    }

    private final Path procRoot;

    /** @param procRoot "/proc" on a node; a fixture tree in tests (mountinfo paths are then taken under fsRoot) */
    public CgroupResolver(Path procRoot) {
        this.procRoot = procRoot;
    }

    public Path procRoot() {
        return procRoot;
    }

    /** The cgroup2 mount point from /proc/self/mountinfo, if any. */
    public Optional<Path> cgroup2Mount() throws IOException {
        for (String line : Files.readAllLines(procRoot.resolve("self/mountinfo"))) {
            // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
            int sep = line.indexOf(" - ");
            if (sep < 0) {
                continue;
            }
            String[] post = line.substring(sep + 3).split(" ");
            String[] pre = line.substring(0, sep).split(" ");
            if (post.length > 0 && post[0].equals("cgroup2") && pre.length > 4) {
                return Optional.of(mapMount(unescape(pre[4])));
            }
        }
        return Optional.empty();
    }

    /** Maps a mount point to a path this resolver reads: itself on a node, under the fixture root in tests. */
    Path mapMount(String mountPoint) {
        Path fsRoot = procRoot.getParent();
        if (procRoot.equals(Path.of("/proc")) || fsRoot == null) {
            return Path.of(mountPoint);
        }
        return fsRoot.resolve(mountPoint.substring(1));
    }

    /** Accepts "containerd://<id>", "cri-o://<id>", "docker://<id>" or a bare id. */
    public static String bareId(String containerId) {
        int i = containerId.indexOf("://");
        String id = i >= 0 ? containerId.substring(i + 3) : containerId;
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("not a container id: " + containerId);
        }
        return id;
    }

    public Optional<Container> resolve(String containerId) throws IOException {
        String id = bareId(containerId);
        Path mount = cgroup2Mount().orElseThrow(() -> new IOException("no cgroup2 mount in mountinfo"));
        Path[] found = {null};
        Files.walkFileTree(mount, java.util.EnumSet.noneOf(java.nio.file.FileVisitOption.class), MAX_DEPTH,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                        if (matches(dir.getFileName() == null ? "" : dir.getFileName().toString(), id)) {
                            found[0] = dir;
                            return FileVisitResult.TERMINATE;
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException exc) {
                        return FileVisitResult.CONTINUE;
                    }
                });
        if (found[0] == null) {
            return Optional.empty();
        }
        Path dir = found[0];
        long ino = ((Number) Files.getAttribute(dir, "unix:ino")).longValue();
        return Optional.of(new Container(id, dir, ino, pids(dir)));
    }

    static boolean matches(String name, String id) {
        if (name.equals(id)) {
            return true;
        }
        for (String p : new String[]{"cri-containerd-", "crio-", "docker-", "containerd-", "libpod-"}) {
            if (name.equals(p + id + ".scope")) {
                return true;
            }
        }
        return false;
    }

    /** Process ids in the cgroup (cgroup.procs), and in child cgroups when the directory itself holds none. */
    static List<Integer> pids(Path dir) throws IOException {
        List<Integer> out = new ArrayList<>();
        try {
            for (String l : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                if (!l.isBlank()) {
                    out.add(Integer.parseInt(l.trim()));
                }
            }
        } catch (NoSuchFileException e) {
            // a cgroup without processes file: none
        }
        if (out.isEmpty()) {
            try (var s = Files.list(dir)) {
                for (Path child : (Iterable<Path>) s::iterator) {
                    if (Files.isDirectory(child) && !Files.isSymbolicLink(child)) {
                        out.addAll(pids(child));
                    }
                }
            }
        }
        return out;
    }

    static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }
}
