// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the real loader: the origin application unpacks and copies trees with the tools people use to place state
 * (tar -x with late directory modes, cp -a, rsync -a, touch -d, chown -R, ln), and the replica ends identical in
 * everything {@link Trees#tree} compares — types, modes with set-id and sticky bits, owners, nanosecond times, link
 * contents, hard links, directories — from capture alone: no whole-tree comparison ran. A real HTTP server (nginx)
 * serving both trees then answers every path with the same status, ETag, Last-Modified, length and body, directory
 * listings included.
 */
class RealToolsFidelityIT {
    private static final Logger LOG = Logger.getLogger(RealToolsFidelityIT.class);

    @TempDir
    Path tmp;

    /** The source tree the tools copy from, built outside the traced cgroup. */
    static String sourceTree(Path src) {
        return String.join("\n",
                "set -euo pipefail",
                "mkdir -p " + src + " && cd " + src,
                "mkdir -p conf/sub ro shared www/assets",
                "printf 'listen 80;\\n' > conf/site.conf && chmod 0640 conf/site.conf && chown 101:102 conf/site.conf",
                "printf 'x' > conf/sub/deep && chmod 0600 conf/sub/deep",
                "head -c 70000 /dev/urandom > www/assets/blob.bin",
                "printf '<h1>edge</h1>\\n' > www/index.html && chown 33:33 www/index.html",
                "printf '#!/bin/sh\\n' > run.sh && chmod 04755 run.sh",
                "ln -s ../conf/site.conf www/site.link && chown -h 7:8 www/site.link",
                "ln www/index.html www/index.copy",
                "printf 'kept' > ro/file && chmod 0444 ro/file",
                "chmod 01777 shared && chmod 02750 conf/sub && chown 1000:1000 conf",
                "touch -h -d '2001-02-03 04:05:06.123456789' www/site.link",
                "find . -mindepth 1 ! -type l ! -path ./ro -exec touch -d '2010-01-02 03:04:05.987654321' {} +",
                "chmod 0555 ro && touch -d '2011-11-11 11:11:11.111111111' ro");
    }

    /** What the origin application runs, in its cgroup, in the replicated directory. */
    static String toolsWorkload(Path src, Path tarball) {
        return String.join("\n",
                "set -euo pipefail",
                "mkdir t && tar --numeric-owner -xpf " + tarball + " -C t",
                "cp -a " + src + " c",
                "rsync -aH " + src + "/ r/",
                "touch -d '1999-12-31 23:59:59.5' t/www/index.html",
                "chown -R 4000:4001 c/www",
                "chown -h 5:6 c/www/site.link",
                "ln -s missing c/dangling && touch -h -d '2020-02-02 02:02:02' c/dangling",
                "chmod 0700 r/conf && chmod g+s r/conf",
                "mkdir -p www && cp -a t/www/. www/ && touch -d '2022-02-22 22:22:22.22' www/index.html www");
    }

    @Test
    void treesPlacedByRealToolsReplicateIdenticalInEveryProperty() throws Exception {
        RealLoaderFixture.assumeRealLoader();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/rsync")), "needs rsync (make setup)");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/nginx")), "needs nginx (make setup)");
        Path src = tmp.resolve("src");
        Path tarball = tmp.resolve("src.tar");
        assertThat(Trees.sh(tmp, sourceTree(src) + "\ntar --numeric-owner -C " + src + " -cpf " + tarball
                + " . && echo built")).contains("built");
        try (RealLoaderFixture f = new RealLoaderFixture(tmp)) {
            f.startLoader();
            f.startReplica();
            f.startOrigin();
            f.awaitInSync(30_000);

            Process work = f.startApp("tools", toolsWorkload(src, tarball));
            f.awaitApp("tools", work, 120);
            long workloadEnd = System.currentTimeMillis();
            long converged = f.awaitIdentical(workloadEnd + 10_000);
            LOG.infof("real tools: identical %d ms after the workload; %d events, %d ops sent, %d resyncs",
                    converged - workloadEnd, f.pump.events(), f.link.counters().sentOps(),
                    f.link.counters().resyncs());
            assertThat(f.link.counters().treeComparisons()).as("identical from capture, not from a comparison")
                    .isZero();
            assertThat(f.applier.refusedOps()).isZero();
            assertThat(f.origin.lostRecords()).as("every record resolved (rsync walks down from / with openat)")
                    .isZero();
            assertThat(Trees.tree(f.originData)).as("the tools really placed the tree").containsKeys(
                    "t/run.sh", "c/www/index.copy", "r/ro/file", "c/dangling", "www/assets/blob.bin");

            try (Nginx origin = new Nginx(tmp.resolve("nginx-origin"), f.originData);
                    Nginx replica = new Nginx(tmp.resolve("nginx-replica"), f.replicaData)) {
                Map<String, String> tree = Trees.tree(f.originData);
                Map<String, String> fromOrigin = origin.answers(tree);
                Map<String, String> fromReplica = replica.answers(tree);
                assertThat(fromOrigin.values()).as("nginx served the files").anyMatch(a -> a.startsWith("200 etag="));
                assertThat(Trees.differences(fromOrigin, fromReplica)).as("nginx answers, origin against replica")
                        .isEmpty();
            }
        }
    }

    /** An nginx of its own on a free loopback port, serving root with directory listings; stopped on close. */
    static final class Nginx implements AutoCloseable {
        private final Process process;
        private final int port;
        private final HttpClient http = HttpClient.newHttpClient();

        Nginx(Path dir, Path root) throws Exception {
            Files.createDirectories(dir);
            try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            String conf = String.join("\n",
                    "daemon off; master_process off; user root; pid " + dir.resolve("nginx.pid") + ";",
                    "error_log " + dir.resolve("error.log") + ";",
                    "events { worker_connections 64; }",
                    "http {",
                    "  access_log off;",
                    "  client_body_temp_path " + dir + "; proxy_temp_path " + dir + "; fastcgi_temp_path " + dir + ";",
                    "  uwsgi_temp_path " + dir + "; scgi_temp_path " + dir + ";",
                    "  server { listen 127.0.0.1:" + port + "; root " + root + "; autoindex on;",
                    "    autoindex_exact_size on; disable_symlinks off; }",
                    "}", "");
            Files.writeString(dir.resolve("nginx.conf"), conf);
            process = new ProcessBuilder("/usr/sbin/nginx", "-p", dir.toString(), "-c",
                    dir.resolve("nginx.conf").toString()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("stdout.log").toFile()).start();
            long end = System.currentTimeMillis() + 10_000;
            while (true) {
                try (var s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
                    return;
                } catch (java.io.IOException e) {
                    assertThat(process.isAlive() && System.currentTimeMillis() < end)
                            .as("nginx listening: " + Files.readString(dir.resolve("stdout.log"))).isTrue();
                    Thread.sleep(20);
                }
            }
        }

        /**
         * For each path of a tree (as {@link Trees#tree} gives it): status, ETag, Last-Modified, length and a digest
         * of the body; a directory is asked for its listing.
         */
        Map<String, String> answers(Map<String, String> tree) throws Exception {
            Map<String, String> out = new TreeMap<>();
            for (Map.Entry<String, String> e : tree.entrySet()) {
                String p = e.getKey();
                String rel = p.equals(".") ? "" : p;
                boolean dir = e.getValue().startsWith("dir") && !rel.isEmpty();
                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"
                        + new URI(null, null, rel, null).getRawPath() + (dir ? "/" : ""))).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                out.put(p, r.statusCode() + " etag=" + r.headers().firstValue("etag").orElse("-") + " last-modified="
                        + r.headers().firstValue("last-modified").orElse("-") + " length=" + r.body().length
                        + " sha256=" + sha256(r.body()));
            }
            return out;
        }

        private static String sha256(byte[] b) throws Exception {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
