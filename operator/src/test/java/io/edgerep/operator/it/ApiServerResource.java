// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.edgerep.api.testing.RealApiServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** A real API server for {@code @QuarkusTest}s: the Quarkus kubernetes-client reads its kubeconfig. */
public class ApiServerResource implements QuarkusTestResourceLifecycleManager {

    static RealApiServer server;
    private Path kubeconfig;

    @Override
    public Map<String, String> start() {
        try {
            server = RealApiServer.start();
            try (var client = server.client()) {
                RealApiServer.applyCrd(client);
                new Cluster(client).namespace(OperatorHarness.NAMESPACE);
            }
            kubeconfig = server.writeKubeconfig(Files.createTempFile("edgerep-quarkus", ".kubeconfig"));
            System.setProperty("kubeconfig", kubeconfig.toString());
            return Map.of("edgerep.namespace", OperatorHarness.NAMESPACE, "edgerep.grpc.port", "0",
                    "edgerep.grpc.host", "127.0.0.1", "edgerep.agent.cert-lifetime", "PT10M");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {
        if (server != null) {
            server.close();
        }
        System.clearProperty("kubeconfig");
        try {
            if (kubeconfig != null) {
                Files.deleteIfExists(kubeconfig);
            }
        } catch (java.io.IOException e) {
            // temp file
        }
    }
}
