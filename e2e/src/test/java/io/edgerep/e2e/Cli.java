// SPDX-License-Identifier: Apache-2.0
package io.edgerep.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real command-line clients (helm, kubectl) the way a user would. */
final class Cli {

    /** What a finished command printed and returned. */
    record Result(int exitCode, String stdout, String stderr) {
        String all() {
            return stdout + stderr;
        }
    }

    private Cli() {
    }

    /** The helm binary `scripts/setup` builds, or $EDGEREP_HELM. */
    static Path helm() {
        return tool("EDGEREP_HELM", Path.of(System.getProperty("user.home"), ".cache/edgerep/bin/helm"),
                "run `scripts/setup tools` (builds helm from its Go module)");
    }

    /** The kubectl built next to the API server, or $EDGEREP_KUBECTL. */
    static Path kubectl() {
        Path dir = Path.of(System.getenv().getOrDefault("KUBE_API_TEST_DIR",
                Path.of(System.getProperty("user.home"), ".kubeapitest").toString()), "k8s");
        Path found = null;
        try (var versions = Files.list(dir)) {
            found = versions.map(v -> v.resolve("kubectl")).filter(Files::isExecutable).sorted().reduce((a, b) -> b)
                    .orElse(null);
        } catch (IOException e) {
            // reported below
        }
        return tool("EDGEREP_KUBECTL", found == null ? dir.resolve("missing/kubectl") : found,
                "run `scripts/setup kube` (builds kubectl with the API server)");
    }

    private static Path tool(String env, Path fallback, String hint) {
        Path path = System.getenv(env) != null ? Path.of(System.getenv(env)) : fallback;
        if (!Files.isExecutable(path)) {
            throw new IllegalStateException(path + " not found: " + hint);
        }
        return path;
    }

    static Result run(List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("edgerep-cli", ".out");
        Path err = Files.createTempFile("edgerep-cli", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", command));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static List<String> cmd(Path tool, String... args) {
        var list = new ArrayList<String>();
        list.add(tool.toString());
        list.addAll(List.of(args));
        return list;
    }
}
