// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.edgerep.api.testing.RealApiServer;
import io.edgerep.api.v1alpha1.EdgeReplica;
import io.edgerep.operator.Fixtures;
import io.edgerep.operator.it.Cluster;
import io.edgerep.operator.it.FakeAgent;
import io.edgerep.operator.it.OperatorHarness;
import io.edgerep.operator.security.CertificateAuthority;
import io.edgerep.operator.status.Conditions;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;

/**
 * Control-plane benchmark (run by bench/operator/run, not by the test suites): create → Ready
 * latency over sequential applies, then N EdgeReplicas created at once until all are Ready; the
 * operator in-process against a real API server, fake agents acknowledging every config.
 */
class OperatorBench {

    static final int NODES = 4;

    @Test
    void bench() throws Exception {
        int sequential = Integer.getInteger("edgerep.bench.sequential", 100);
        int burst = Integer.getInteger("edgerep.bench.burst", 1000);
        Path out = Path.of(System.getProperty("edgerep.bench.out", "target/bench"));
        try (RealApiServer server = RealApiServer.start(); KubernetesClient client = server.client()) {
            RealApiServer.applyCrd(client);
            Cluster cluster = new Cluster(client);
            cluster.namespace(OperatorHarness.NAMESPACE);
            cluster.namespace("bench");
            boolean packaged = Boolean.getBoolean("edgerep.bench.packaged");
            try (Target operator = packaged ? new Packaged(server, client) : new InProcess(client)) {
                List<FakeAgent> agents = connectAgents(cluster, operator);
                Map<String, Instant> readyAt = new ConcurrentHashMap<>();
                var watch = client.resources(EdgeReplica.class).inNamespace("bench").watch(new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, EdgeReplica e) {
                        if (e.getStatus() != null && Conditions.isTrue(e.getStatus().getConditions(), "Ready")) {
                            readyAt.putIfAbsent(e.getMetadata().getName(), Instant.now());
                        }
                    }

                    @Override
                    public void onClose(WatcherException cause) {
                    }
                });
                double[] lat = sequential(client, readyAt, sequential);
                Burst b = burst(client, readyAt, burst);
                System.gc();
                long rssKb = operator.rssKb();
                long heapMb = (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) >> 20;
                watch.close();
                agents.forEach(FakeAgent::close);
                report(out, operator.describe(), lat, b, rssKb, heapMb);
                assertThat(b.ready()).isEqualTo(burst);
            }
        }
    }

    /** One agent per node, bootstrapped and connected, and a consumer pod on each node. */
    static List<FakeAgent> connectAgents(Cluster cluster, Target operator) throws Exception {
        List<FakeAgent> agents = new ArrayList<>();
        for (int n = 1; n <= NODES; n++) {
            String node = "n" + n;
            String token = cluster.agentToken(node, "edgerep-agent", "agent-" + node,
                    Map.of("app.kubernetes.io/name", "edgerep-agent"));
            FakeAgent a = new FakeAgent(node);
            var resp = FakeAgent.bootstrap(operator.port(), operator.ca(), node, token, a.csrPem());
            X509Certificate cert = CertificateAuthority.parseCert(resp.getCertificatePem());
            agents.add(a.connect(operator.port(), operator.ca(), cert, a.keys.getPrivate(), node,
                    "10.0.0." + n + ":7443"));
            cluster.runningPod("bench", "det-" + node, node, "10.1." + n + ".1", Map.of("app", "det-" + node));
        }
        return agents;
    }

    /** Create, wait for Ready, next: each one's create → Ready latency in ms, sorted. */
    static double[] sequential(KubernetesClient client, Map<String, Instant> readyAt, int count) throws Exception {
        double[] lat = new double[count];
        for (int i = 0; i < count; i++) {
            String name = "lat-" + i;
            Instant t0 = Instant.now();
            client.resource(er(name, 20000 + i, "n" + (i % NODES + 1))).create();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!readyAt.containsKey(name) && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertThat(readyAt).as(name + " Ready").containsKey(name);
            lat[i] = Duration.between(t0, readyAt.get(name)).toNanos() / 1e6;
        }
        Arrays.sort(lat);
        return lat;
    }

    /**
     * What a burst measured.
     *
     * @param count resources created
     * @param ready how many of them became Ready
     * @param createS seconds until every create returned
     * @param allReadyS seconds from the first create to the last Ready
     */
    record Burst(int count, long ready, double createS, double allReadyS) {
    }

    /** {@code count} EdgeReplicas created at once from 8 client threads, until all are Ready. */
    static Burst burst(KubernetesClient client, Map<String, Instant> readyAt, int count) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        Instant b0 = Instant.now();
        for (int i = 0; i < count; i++) {
            final int k = i;
            pool.submit(() -> client.resource(er("burst-" + k, 30000 + k, "n" + (k % NODES + 1))).create());
        }
        pool.shutdown();
        pool.awaitTermination(120, TimeUnit.SECONDS);
        Instant created = Instant.now();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline && readyAt.keySet().stream()
                .filter(n -> n.startsWith("burst-")).count() < count) {
            Thread.sleep(50);
        }
        long ready = readyAt.keySet().stream().filter(n -> n.startsWith("burst-")).count();
        Instant last = readyAt.entrySet().stream().filter(e -> e.getKey().startsWith("burst-"))
                .map(Map.Entry::getValue).max(Instant::compareTo).orElse(Instant.now());
        return new Burst(count, ready, Duration.between(b0, created).toMillis() / 1000.0,
                Duration.between(b0, last).toMillis() / 1000.0);
    }

    /** Prints the table and writes the JSON result into {@code out}. */
    static void report(Path out, String operator, double[] lat, Burst b, long rssKb, long heapMb)
            throws Exception {
        String table = String.format(Locale.ROOT, """
                | metric | value | target |
                |---|---|---|
                | create -> Ready p50 (ms, %d sequential) | %.0f | |
                | create -> Ready p99 (ms) | %.0f | <= 2000 |
                | create -> Ready max (ms) | %.0f | |
                | %d EdgeReplicas: Ready | %d / %d | all |
                | %d EdgeReplicas: creates done (s) | %.1f | |
                | %d EdgeReplicas: all Ready (s, from first create) | %.1f | <= 60 |
                | RSS after burst (MB; %s) | %d | <= 400 |
                | bench JVM heap used after GC (MB) | %d | |
                """, lat.length, pct(lat, 50), pct(lat, 99), lat[lat.length - 1], b.count(), b.ready(), b.count(),
                b.count(), b.createS(), b.count(), b.allReadyS(), operator, rssKb / 1024, heapMb);
        System.out.println(table);
        String json = String.format(Locale.ROOT,
                """
                        {"benchmark":"operator","time":"%s","nodes":%d,"sequential":{"count":%d,"p50_ms":%.1f,"p99_ms":%.1f,"max_ms":%.1f},\
                        "burst":{"count":%d,"ready":%d,"creates_s":%.2f,"all_ready_s":%.2f},"rss_mb":%d,"bench_heap_used_mb":%d,\
                        "operator":"%s","note":"latency measured from the create call to the Ready watch event"}
                        """,
                Instant.now(), NODES, lat.length, pct(lat, 50), pct(lat, 99), lat[lat.length - 1], b.count(),
                b.ready(), b.createS(), b.allReadyS(), rssKb / 1024, heapMb, operator);
        Files.createDirectories(out);
        Path file = out.resolve("operator-" + Instant.now().toString().replace(":", "") + ".json");
        Files.writeString(file, json);
        System.out.println("wrote " + file);
    }

    /** The operator being measured. */
    interface Target extends AutoCloseable {
        int port();

        X509Certificate ca();

        long rssKb() throws Exception;

        String describe();

        @Override
        void close() throws Exception;
    }

    /** In-process (the IT harness): RSS includes the fake agents and the bench client. */
    static final class InProcess implements Target {
        final OperatorHarness h;

        InProcess(KubernetesClient client) {
            h = new OperatorHarness(client, Duration.ofSeconds(10));
        }

        public int port() {
            return h.port();
        }

        public X509Certificate ca() {
            return h.ca.caCertificate();
        }

        public long rssKb() throws Exception {
            return OperatorBench.rssKb(Path.of("/proc/self/status"));
        }

        public String describe() {
            return "operator in-process with 4 fake agents and the bench client in one JVM";
        }

        public void close() {
            h.close();
        }
    }

    /** The packaged Quarkus application (prod profile, leader election on) in its own JVM. */
    static final class Packaged implements Target {
        final Process process;
        final int port;
        final X509Certificate ca;
        final Path kubeconfig;

        Packaged(RealApiServer server, KubernetesClient client) throws Exception {
            kubeconfig = server.writeKubeconfig(Files.createTempFile("edgerep-bench", ".kubeconfig"));
            port = freePort();
            Path jar = io.edgerep.api.testing.RepoPaths.root().resolve("operator/target/quarkus-app/quarkus-run.jar");
            process = new ProcessBuilder("java", "-Xmx" + System.getProperty("edgerep.bench.operator-xmx", "256m"),
                    "-Dkubeconfig=" + kubeconfig, "-Dedgerep.namespace=" + OperatorHarness.NAMESPACE,
                    "-Dedgerep.grpc.host=127.0.0.1", "-Dedgerep.grpc.port=" + port,
                    "-Dquarkus.http.port=" + freePort(), "-jar", jar.toString())
                    .redirectErrorStream(true).redirectOutput(Path.of("target/bench-operator.log").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            var secret = client.secrets().inNamespace(OperatorHarness.NAMESPACE).withName("edgerep-ca");
            while (secret.get() == null || !listening(port)) {
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    throw new IllegalStateException(
                            "the packaged operator did not start; see target/bench-operator.log");
                }
                Thread.sleep(200);
            }
            ca = CertificateAuthority.parseCert(new String(java.util.Base64.getDecoder()
                    .decode(secret.get().getData().get("tls.crt"))));
        }

        static boolean listening(int port) {
            try (var s = new java.net.Socket("127.0.0.1", port)) {
                return true;
            } catch (java.io.IOException e) {
                return false;
            }
        }

        static int freePort() throws java.io.IOException {
            try (var s = new java.net.ServerSocket(0)) {
                return s.getLocalPort();
            }
        }

        public int port() {
            return port;
        }

        public X509Certificate ca() {
            return ca;
        }

        public long rssKb() throws Exception {
            return OperatorBench.rssKb(Path.of("/proc/" + process.pid() + "/status"));
        }

        public String describe() {
            return "packaged operator alone (quarkus-run.jar, prod profile, leader election, -Xmx"
                    + System.getProperty("edgerep.bench.operator-xmx", "256m") + ")";
        }

        public void close() throws Exception {
            process.destroy();
            process.waitFor(20, TimeUnit.SECONDS);
            Files.deleteIfExists(kubeconfig);
        }
    }

    static EdgeReplica er(String name, int port, String node) {
        var e = Fixtures.stream("bench", name, port, node, Fixtures.consumer("det", "det-" + node, 6000, null));
        e.getMetadata().setGeneration(null);
        e.getMetadata().setCreationTimestamp(null);
        return e;
    }

    static double pct(double[] sorted, int p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static long rssKb(Path status) throws Exception {
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
