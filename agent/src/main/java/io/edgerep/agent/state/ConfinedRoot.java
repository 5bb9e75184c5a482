// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A container root directory into which only paths under the replicated prefixes may be written.
 *
 * <p>
 * Paths are container-absolute ("/data/db"). They are resolved component by component without ever letting the
 * operating system follow a link: every component is examined with {@code lstat} semantics
 * ({@link LinkOption#NOFOLLOW_LINKS}); a symbolic link is interpreted the way the container would see it (an absolute
 * target starts again at the container root, never at the host's "/"), and the final resolved path must still lie
 * under a replicated prefix. {@code ..} in an op path, relative paths, NUL bytes, link loops and links that climb above
 * the root are refused.
 *
 * <p>
 * Residual risk: between this check and the write a process inside the replica container could swap a directory for a
 * link; the final component is opened with {@code O_NOFOLLOW} by callers, intermediate ones are not re-checked.
 */
public final class ConfinedRoot {
    /** Most symbolic links followed while resolving one path (as the kernel's MAXSYMLINKS). */
    static final int MAX_LINK_HOPS = 40;

    private final Path root;
    private final List<List<String>> prefixes;
    private final List<String> prefixStrings;

    public ConfinedRoot(Path root, List<String> prefixes) {
        this.root = root.toAbsolutePath().normalize();
        List<List<String>> p = new ArrayList<>();
        for (String prefix : prefixes) {
            try {
                List<String> c = components(prefix);
                if (c.isEmpty()) {
                    throw new IllegalArgumentException("replicated path must not be /");
                }
                p.add(c);
            } catch (PathRefusedException e) {
                throw new IllegalArgumentException("bad replicated path " + prefix + ": " + e.getMessage());
            }
        }
        if (p.isEmpty()) {
            throw new IllegalArgumentException("no replicated paths");
        }
        this.prefixes = List.copyOf(p);
        List<String> strings = new ArrayList<>();
        for (List<String> c : p) {
            strings.add("/" + String.join("/", c));
        }
        this.prefixStrings = List.copyOf(strings);
    }

    public Path root() {
        return root;
    }

    /** The replicated prefixes as container-absolute strings (unmodifiable). */
    public List<String> prefixes() {
        return prefixStrings;
    }

    /**
     * Resolves a container-absolute path to a host path under the root.
     *
     * @param followLast whether a link in the final component is followed (writes) or is itself the object (unlink,
     *        rename)
     */
    public Path resolve(String containerPath, boolean followLast) throws IOException {
        List<String> comps = components(containerPath);
        requireUnderPrefix(comps, containerPath);
        Deque<String> todo = new ArrayDeque<>(comps);
        List<String> done = new ArrayList<>();
        int hops = 0;
        boolean exists = true;
        while (!todo.isEmpty()) {
            String c = todo.pollFirst();
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) { // only link targets reach here
                if (done.isEmpty()) {
                    throw new PathRefusedException("link climbs above the root: " + containerPath);
                }
                done.remove(done.size() - 1);
                continue;
            }
            boolean last = todo.isEmpty();
            Path p = join(done).resolve(c);
            BasicFileAttributes a = exists ? lstat(p) : null;
            if (a == null) {
                exists = false;
            } else if (a.isSymbolicLink() && (!last || followLast)) {
                if (++hops > MAX_LINK_HOPS) {
                    throw new PathRefusedException("too many levels of links: " + containerPath);
                }
                String target = Files.readSymbolicLink(p).toString();
                if (target.indexOf('\0') >= 0) {
                    throw new PathRefusedException("link target with NUL: " + containerPath);
                }
                if (target.startsWith("/")) {
                    done.clear();
                }
                String[] tc = target.split("/");
                for (int i = tc.length - 1; i >= 0; i--) {
                    todo.addFirst(tc[i]);
                }
                continue;
            } else if (!last && !a.isDirectory()) {
                throw new NoSuchFileException(containerPath, null,
                        "not a directory: /" + String.join("/", done) + "/" + c);
            }
            done.add(c);
        }
        requireUnderPrefix(done, containerPath);
        return join(done);
    }

    /** The container path of a host path under the root (inverse of resolve for link-free paths). */
    public String containerPath(Path hostPath) {
        Path rel = root.relativize(hostPath.toAbsolutePath().normalize());
        return "/" + rel.toString();
    }

    /** Whether a container path lies under a replicated prefix (lexically). */
    public boolean isReplicated(String containerPath) {
        if (plainlyUnder(containerPath)) {
            return true; // the common case, without splitting the path
        }
        try {
            return underPrefix(components(containerPath));
        } catch (PathRefusedException e) {
            return false;
        }
    }

    /** A path with no empty, "." or ".." component nor NUL, equal to a prefix or beneath one. */
    private boolean plainlyUnder(String path) {
        if (path == null || path.indexOf('\0') >= 0 || path.contains("//") || path.contains("/./")
                || path.contains("/../") || path.endsWith("/.") || path.endsWith("/..") || path.endsWith("/")) {
            return false;
        }
        for (String p : prefixStrings) {
            if (path.startsWith(p) && (path.length() == p.length() || path.charAt(p.length()) == '/')) {
                return true;
            }
        }
        return false;
    }

    private Path join(List<String> comps) {
        Path p = root;
        for (String c : comps) {
            p = p.resolve(c);
        }
        return p;
    }

    private static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private void requireUnderPrefix(List<String> comps, String original) throws PathRefusedException {
        if (!underPrefix(comps)) {
            throw new PathRefusedException("outside the replicated paths: " + original);
        }
    }

    /** Directories, regular files and symbolic links under every replicated prefix, parents first. */
    public List<Path> walk() throws IOException {
        List<Path> out = new ArrayList<>();
        for (String prefix : prefixes()) {
            try {
                out.addAll(walkFrom(resolve(prefix, false)));
            } catch (PathRefusedException | NoSuchFileException e) {
                // a prefix that leaves the root through a link, or lies under a file: nothing replicated there
            }
        }
        return out;
    }

    /** Directories, regular files and symbolic links under start (inclusive), parents first, never following links. */
    static List<Path> walkFrom(Path start) throws IOException {
        List<Path> out = new ArrayList<>();
        if (PosixFiles.lstat(start) == null) {
            return out;
        }
        Files.walkFileTree(start, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                out.add(dir);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile() || attrs.isSymbolicLink()) {
                    out.add(file);
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException exc) {
                return java.nio.file.FileVisitResult.CONTINUE; // vanished meanwhile
            }
        });
        return out;
    }

    private boolean underPrefix(List<String> comps) {
        for (List<String> p : prefixes) {
            if (comps.size() >= p.size() && comps.subList(0, p.size()).equals(p)) {
                return true;
            }
        }
        return false;
    }

    /** Splits a container-absolute op path; refuses relative paths, NUL and "..". */
    static List<String> components(String path) throws PathRefusedException {
        if (path == null || path.isEmpty()) {
            throw new PathRefusedException("empty path");
        }
        if (path.indexOf('\0') >= 0) {
            throw new PathRefusedException("NUL in path");
        }
        if (!path.startsWith("/")) {
            throw new PathRefusedException("not absolute: " + path);
        }
        List<String> out = new ArrayList<>();
        for (String c : path.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                throw new PathRefusedException("'..' in path: " + path);
            }
            out.add(c);
        }
        return out;
    }
}
