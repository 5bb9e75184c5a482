// SPDX-License-Identifier: Apache-2.0
package io.edgerep.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.edgerep.api.testing.RepoPaths;

/** The example manifests and the kubectl experience, with the real kubectl against the real API server. */
class ExamplesIT {

    private static final String NAMESPACE = "examples";
    private static ApiServerSession session;
    private static Path kubeconfig;

    @BeforeAll
    static void start() throws Exception {
        session = ApiServerSession.start(NAMESPACE);
        kubeconfig = session.kubeconfig;
    }

    @AfterAll
    static void stop() throws Exception {
        if (session != null) {
            session.close();
        }
    }

    private static Cli.Result kubectl(String... args) throws Exception {
        var command = new java.util.ArrayList<>(List.of(Cli.kubectl().toString(), "--kubeconfig",
                kubeconfig.toString(), "--namespace", NAMESPACE));
        command.addAll(List.of(args));
        return Cli.run(command);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stream", "state", "both"})
    void exampleIsAcceptedByTheApiServer(String example) throws Exception {
        Path file = RepoPaths.root().resolve("deploy/examples").resolve(example + ".yaml");
        var apply = kubectl("apply", "-f", file.toString());
        assertThat(apply.exitCode()).as("kubectl apply -f %s:%n%s", file, apply.all()).isZero();
        assertThat(apply.stdout()).containsPattern("edgereplica\\.edgerep\\.io/[a-z-]+ (created|configured|unchanged)");
    }

    @Test
    void getShowsTheColumnsUsersLookFor() throws Exception {
        var apply = kubectl("apply", "-f", RepoPaths.root().resolve("deploy/examples/stream.yaml").toString());
        assertThat(apply.exitCode()).as(apply.all()).isZero();
        var get = kubectl("get", "er");
        assertThat(get.exitCode()).as(get.all()).isZero();
        String header = get.stdout().lines().findFirst().orElse("");
        assertThat(header.split("\\s+")).containsSubsequence("NAME", "READY", "CONSUMERS", "REPLICAS", "LAG")
                .contains("AGE");
        var byCategory = kubectl("get", "edgerep");
        assertThat(byCategory.exitCode()).as(byCategory.all()).isZero();
        assertThat(byCategory.stdout()).contains("cameras");
    }

    @Test
    void explainDocumentsTheQocNeed() throws Exception {
        var explain = kubectl("explain", "er.spec.stream.consumers.qoc");
        assertThat(explain.exitCode()).as(explain.all()).isZero();
        assertThat(explain.stdout()).contains("minDetectionRate").contains("maxBitrate").contains("policy")
                .contains("DifferentialFirst");
    }
}
