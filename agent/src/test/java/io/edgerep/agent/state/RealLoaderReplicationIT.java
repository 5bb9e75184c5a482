package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.tls.NodeIdentity;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.GetCapabilitiesRequest;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.RemoveTraceRequest;
import io.edgerep.proto.v1.SetTraceRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;

/**
 * With the real loader (root, bcc): a process in a cgroup of its own writes with sqlite3, git, rename-over saves and
 * log appends; the loader captures the syscalls, the agent sequences and pushes them over mTLS, and the replica
 * directory becomes byte-identical, its SQLite databases passing integrity_check.
 */
class RealLoaderReplicationIT {
    private static final Logger LOG = Logger.getLogger(RealLoaderReplicationIT.class);
    static final int REP_ID = 4242;

    @TempDir
    Path tmp;

    @Test
    void capturedByTheKernelAppliedOnTheReplica() throws Exception {
        assumeTrue("0".equals(ReplicationEndToEndTest.sh(Path.of("/"), "id -u").trim()), "needs root");
        assumeTrue(
                ReplicationEndToEndTest.sh(Path.of("/"), "/usr/bin/python3 -c 'import bcc' && echo ok").contains("ok"),
                "needs bcc");
        Path repo = Path.of(System.getProperty("edgerep.repo.root", "..")).toAbsolutePath().normalize();
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        Path cgMount = new CgroupResolver(Path.of("/proc")).cgroup2Mount().orElseThrow();
        Path cg = cgMount.resolve("edgerep-t-agent-" + suffix);
        Path pinDir = Path.of("/sys/fs/bpf/edgerep-t-agent-" + suffix);
        Path sock = tmp.resolve("loader.sock");
        Path originData = Files.createDirectories(tmp.resolve("o/data"));
        String prefix = originData.toString();
        Files.createDirectories(tmp.resolve("r"));
        Process loader = null;
        Process anchor = null;
        Server server = null;
        ManagedChannel loaderCh = null;
        ManagedChannel ch = null;
        StateEventPump pump = null;
        OriginReplication origin = null;
        try {
            Files.createDirectory(cg);
            ProcessBuilder lpb = new ProcessBuilder("/usr/bin/python3", "-m", "edgerep_loader", "--socket",
                    sock.toString(),
                    "--pin-dir", pinDir.toString()).directory(repo.toFile()).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("loader.log").toFile());
            lpb.environment().put("PYTHONPATH", repo.resolve("bpf/loader").toString());
            loader = lpb.start();
            long end = System.currentTimeMillis() + 30_000;
            while (!Files.exists(sock) && System.currentTimeMillis() < end && loader.isAlive()) {
                Thread.sleep(100);
            }
            assertThat(Files.exists(sock)).as(Files.readString(tmp.resolve("loader.log"))).isTrue();
            loaderCh = LoaderChannels.open("unix:" + sock);
            LoaderGrpc.LoaderBlockingStub stub = LoaderGrpc.newBlockingStub(loaderCh);
            LOG.infof("loader %s", stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                    .getCapabilities(GetCapabilitiesRequest.getDefaultInstance()).getLoaderVersion());

            // the origin application's long-lived parent, in its own cgroup, before tracing starts
            anchor = new ProcessBuilder("bash", "-c", "echo $$ > " + cg.resolve("cgroup.procs") + " && exec bash -s")
                    .directory(originData.toFile()).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("workload.log").toFile()).start();
            Thread.sleep(300);
            long cgroupId = ((Number) Files.getAttribute(cg, "unix:ino")).longValue();

            // replica agent and origin agent, mTLS between them
            TestCa ca = new TestCa("it-ca");
            NodeTls a = ca.node("node-a");
            NodeTls b = ca.node("node-b");
            ReplicationService svc = new ReplicationService();
            StateApplier applier = new StateApplier("it/web", "web-1",
                    new ConfinedRoot(tmp.resolve("r"), List.of(prefix)));
            svc.put(new ReplicationService.Replica(applier, "node-a"));
            server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(b.serverContext())
                    .maxInboundMessageSize(64 << 20).addService(ServerInterceptors.intercept(svc, new NodeIdentity()))
                    .build()
                    .start();
            ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).sslContext(a.clientContext())
                    .overrideAuthority("node-b").maxInboundMessageSize(64 << 20).build();
            origin = new OriginReplication("it/web", new ConfinedRoot(Path.of("/"), List.of(prefix)),
                    new OpLog(tmp.resolve("spill"), 16 << 20, 256 << 20));
            ReplicaLink link = new ReplicaLink("it/web", "web-1", origin.log(), origin.origin(), ch,
                    ReplicaLink.Options.defaults()).start();
            origin.addLink(link);
            pump = new StateEventPump(loaderCh).start();
            pump.route(REP_ID, origin);
            stub.withDeadlineAfter(60, TimeUnit.SECONDS).setTrace(SetTraceRequest.newBuilder().setReplicationId(REP_ID)
                    .addCgroupIds(cgroupId).addPrefixes(prefix).setRoot("/").build());
            end = System.currentTimeMillis() + 30_000;
            while (!link.inSync() && System.currentTimeMillis() < end) {
                Thread.sleep(50);
            }
            Thread.sleep(500); // the capture program attaches on the first SetTrace

            try (OutputStream in = anchor.getOutputStream()) {
                in.write((ReplicationEndToEndTest.WORKLOAD + "\nexit 0\n").getBytes(StandardCharsets.UTF_8));
            }
            assertThat(anchor.waitFor(180, TimeUnit.SECONDS)).isTrue();
            assertThat(anchor.exitValue()).as(Files.readString(tmp.resolve("workload.log"))).isZero();
            long workloadEnd = System.currentTimeMillis();
            long converged = ReplicationEndToEndTest.awaitIdentical(originData,
                    tmp.resolve("r").resolve(prefix.substring(1)), workloadEnd + 5000);
            LOG.infof("real loader: converged %d ms after the workload; %d events, %d ops sent, %d resyncs, %d bytes "
                    + "resynced, %d lost records", converged - workloadEnd, pump.events(), link.sentOps(),
                    link.resyncs(),
                    link.resyncedBytes(), origin.lostRecords());
            assertThat(converged - workloadEnd).isLessThanOrEqualTo(5000);
            assertThat(pump.events()).as("events really came from the kernel").isGreaterThan(100);
            assertThat(applier.refusedOps()).isZero();
            Path replicaData = tmp.resolve("r").resolve(prefix.substring(1));
            assertThat(ReplicationEndToEndTest.sh(replicaData, "sqlite3 journal.db 'PRAGMA integrity_check;'"))
                    .isEqualTo("ok\n");
            assertThat(ReplicationEndToEndTest.sh(replicaData, "sqlite3 wal.db 'PRAGMA integrity_check;'"))
                    .isEqualTo("ok\n");
            stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                    .removeTrace(RemoveTraceRequest.newBuilder().setReplicationId(REP_ID)
                            .build());
        } finally {
            if (pump != null) {
                pump.close();
            }
            if (origin != null) {
                origin.close();
            }
            if (ch != null) {
                ch.shutdownNow();
            }
            if (server != null) {
                server.shutdownNow();
            }
            if (loaderCh != null) {
                loaderCh.shutdownNow();
            }
            if (anchor != null) {
                anchor.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            if (loader != null) {
                loader.destroy();
                if (!loader.waitFor(10, TimeUnit.SECONDS)) {
                    loader.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            }
            for (String l : Files.readAllLines(cg.resolve("cgroup.procs"))) {
                ProcessHandle.of(Long.parseLong(l.trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
            Thread.sleep(200);
            new File(cg.toString()).delete();
            ReplicationEndToEndTest.sh(Path.of("/"), "rm -rf " + pinDir);
        }
    }
}
