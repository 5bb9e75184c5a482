// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository root from a test, whichever module runs it. */
public final class RepoPaths {

    private RepoPaths() {
    }

    /** The directory holding the root pom.xml and deploy/. */
    public static Path root() {
        String prop = System.getProperty("edgerep.repo.root");
        if (prop != null) {
            return Path.of(prop);
        }
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("deploy/crds"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException(
                    "cannot find the repository root (no deploy/crds above the working directory)");
        }
        return dir;
    }
}
