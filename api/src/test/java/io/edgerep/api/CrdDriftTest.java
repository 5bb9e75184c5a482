// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import io.edgerep.api.testing.RealApiServer;
import io.edgerep.api.testing.RepoPaths;

/** The committed CRD must be exactly what the build generates from the Java classes. */
class CrdDriftTest {

    @Test
    void committedCrdMatchesTheJavaClasses() throws Exception {
        Path generated = Path.of("target/classes/META-INF/fabric8", RealApiServer.CRD_FILE);
        Path committed = RepoPaths.root().resolve("deploy/crds").resolve(RealApiServer.CRD_FILE);
        assertThat(generated).as("the build generates the CRD into target/classes").exists();
        assertThat(committed).as("the CRD is committed under deploy/crds").exists();
        assertThat(Files.readString(committed))
                .as("deploy/crds/%s is out of date with the api classes: run `make crds` and commit the result",
                        RealApiServer.CRD_FILE)
                .isEqualTo(Files.readString(generated));
    }
}
