// SPDX-License-Identifier: Apache-2.0
package io.edgerep.api.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * A real kube-apiserver and etcd for tests, started through kube-api-test from the binaries that
 * {@code scripts/setup kube} builds, bound to 127.0.0.1, never downloading anything.
 */
public final class RealApiServer implements AutoCloseable {

    /** The CRD file the build generates from the api classes. */
    public static final String CRD_FILE = "edgereplicas.edgerep.io-v1.yml";

    private final KubeAPIServer server;
    private final String kubeconfig;

    private RealApiServer(KubeAPIServer server) {
        this.server = server;
        this.kubeconfig = server.getKubeConfigYaml();
    }

    /** Starts etcd and the API server; fails with a clear message when the binaries are missing. */
    public static RealApiServer start() {
        String dir = System.getenv().getOrDefault("KUBE_API_TEST_DIR",
                new File(System.getProperty("user.home"), ".kubeapitest").getPath());
        File k8s = new File(dir, "k8s");
        String[] versions = k8s.list((d, name) -> name.endsWith("-linux-amd64")
                && new File(new File(d, name), "kube-apiserver").canExecute());
        if (versions == null || versions.length == 0) {
            throw new IllegalStateException("no kube-apiserver under " + k8s
                    + ": run `scripts/setup kube` (builds kube-apiserver, kubectl and etcd from their Go modules)");
        }
        var config = KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(dir)
                .withOfflineMode(true)
                .withApiServerFlags(List.of("--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1"))
                .withStartupTimeout(120_000)
                .build();
        var server = new KubeAPIServer(config);
        server.start();
        return new RealApiServer(server);
    }

    /** A fresh client for the running server. */
    public KubernetesClient client() {
        return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build();
    }

    /** The admin kubeconfig of the server, as YAML. */
    public String kubeconfig() {
        return kubeconfig;
    }

    /** Writes the kubeconfig to a file (for kubectl). */
    public Path writeKubeconfig(Path file) throws java.io.IOException {
        return Files.writeString(file, kubeconfig);
    }

    /** Applies the committed EdgeReplica CRD and waits until it is established. */
    public static void applyCrd(KubernetesClient client) throws java.io.IOException {
        Path crd = RepoPaths.root().resolve("deploy/crds").resolve(CRD_FILE);
        try (var in = Files.newInputStream(crd)) {
            var loaded = client.apiextensions().v1().customResourceDefinitions().load(in).item();
            client.resource(loaded).serverSideApply();
            client.apiextensions().v1().customResourceDefinitions().withName(loaded.getMetadata().getName())
                    .waitUntilCondition(RealApiServer::established, 30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private static boolean established(CustomResourceDefinition crd) {
        // conditions stay null for a moment after the CRD is created
        return crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
                && crd.getStatus().getConditions().stream()
                        .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    @Override
    public void close() {
        server.stop();
    }
}
