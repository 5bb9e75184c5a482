// SPDX-License-Identifier: Apache-2.0
package io.edgerep.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

import io.edgerep.api.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/** A real API server with the CRD applied, a client, a kubeconfig file for the CLIs, and one namespace. */
final class ApiServerSession implements AutoCloseable {

    final RealApiServer server;
    final KubernetesClient client;
    final Path kubeconfig;

    private ApiServerSession(RealApiServer server, KubernetesClient client, Path kubeconfig) {
        this.server = server;
        this.client = client;
        this.kubeconfig = kubeconfig;
    }

    static ApiServerSession start(String namespace) throws Exception {
        RealApiServer server = RealApiServer.start();
        KubernetesClient client = null;
        try {
            client = server.client();
            RealApiServer.applyCrd(client);
            Path kubeconfig = server.writeKubeconfig(Files.createTempFile("edgerep-e2e", ".kubeconfig"));
            client.resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build())
                    .serverSideApply();
            return new ApiServerSession(server, client, kubeconfig);
        } catch (Exception | Error e) {
            if (client != null) {
                client.close();
            }
            server.close();
            throw e;
        }
    }

    @Override
    public void close() throws Exception {
        client.close();
        server.close();
        Files.deleteIfExists(kubeconfig);
    }
}
