// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.agent.tls.TestCa;
import io.edgerep.proto.v1.GetCapabilitiesRequest;
import io.edgerep.proto.v1.ListTracesRequest;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.RemoveTraceRequest;
import io.edgerep.proto.v1.SetTraceRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;

/**
 * One machine playing an origin node and a replica node around the real loader (root, bcc): the loader process with
 * its own socket and pin directory, a cgroup for the origin application's processes, the origin agent's half (op log,
 * replica link, event pump, trace) and the replica agent's half (replication service behind mTLS), each of which a
 * test can stop and start again as a crashed and restarted process would be. {@link #close()} removes the processes,
 * the cgroup and the pinned maps even when the test failed.
 */
final class RealLoaderFixture implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(RealLoaderFixture.class);
    static final String KEY = "it/web";
    static final String POD = "web-1";
    static final int REP_ID = 4242;

    final Path tmp;
    final Path repo;
    final Path cg;
    /** A second traced cgroup, for the marker writes that tell when capture has drained (see {@link #drainCapture}). */
    final Path markerCg;
    final Path pinDir;
    final Path sock;
    /** The origin's replicated directory; the origin's container root is "/", so this is also its container path. */
    final Path originData;
    final String prefix;
    final Path replicaRoot;
    final Path replicaData;
    final Path replicaStateDir;
    private final NodeTls nodeA;
    private final NodeTls nodeB;
    private final List<Process> apps = new ArrayList<>();

    private Process loader;
    private int loaderStarts;
    private ManagedChannel loaderCh;

    private Server server;
    private int port;
    ReplicationService service;
    StateApplier applier;

    private ManagedChannel ch;
    StateEventPump pump;
    OriginReplication origin;
    ReplicaLink link;
    /** Resynced bytes of origin agents already stopped (a restarted origin agent starts counting at 0). */
    private long resyncedBytesBefore;

    /** Skips the calling test unless it runs as root with bcc installed. */
    static void assumeRealLoader() throws Exception {
        assumeTrue("0".equals(Trees.sh(Path.of("/"), "id -u").trim()), "needs root");
        assumeTrue(
                Trees.sh(Path.of("/"), "/usr/bin/python3 -c 'import bcc' && echo ok").contains("ok"),
                "needs bcc");
    }

    private final java.util.concurrent.ScheduledExecutorService ticker = java.util.concurrent.Executors
            .newSingleThreadScheduledExecutor();

    RealLoaderFixture(Path tmp) throws Exception {
        this.tmp = tmp;
        this.repo = Path.of(System.getProperty("edgerep.repo.root", "..")).toAbsolutePath().normalize();
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        Path cgMount = new CgroupResolver(Path.of("/proc")).cgroup2Mount().orElseThrow();
        this.cg = cgMount.resolve("edgerep-t-agent-" + suffix);
        this.markerCg = cgMount.resolve("edgerep-t-agent-" + suffix + "-marker");
        this.pinDir = Path.of("/sys/fs/bpf/edgerep-t-agent-" + suffix);
        this.sock = tmp.resolve("loader.sock");
        this.originData = Files.createDirectories(tmp.resolve("o/data"));
        this.prefix = originData.toString();
        this.replicaRoot = Files.createDirectories(tmp.resolve("r"));
        this.replicaData = replicaRoot.resolve(prefix.substring(1));
        this.replicaStateDir = tmp.resolve("replica-state");
        TestCa ca = new TestCa("it-ca");
        this.nodeA = ca.node("node-a");
        this.nodeB = ca.node("node-b");
        Files.createDirectory(cg);
        Files.createDirectory(markerCg);
        ticker.scheduleWithFixedDelay(this::replicaTick, 200, 200, TimeUnit.MILLISECONDS);
    }

    // --- the loader ---

    void startLoader() throws Exception {
        Path logFile = tmp.resolve("loader-" + (++loaderStarts) + ".log");
        ProcessBuilder lpb = new ProcessBuilder("/usr/bin/python3", "-m", "edgerep_loader", "--socket",
                sock.toString(), "--pin-dir", pinDir.toString()).directory(repo.toFile()).redirectErrorStream(true)
                .redirectOutput(logFile.toFile());
        lpb.environment().put("PYTHONPATH", repo.resolve("bpf/loader").toString());
        Files.deleteIfExists(sock);
        loader = lpb.start();
        long end = System.currentTimeMillis() + 30_000;
        while (!Files.exists(sock) && System.currentTimeMillis() < end && loader.isAlive()) {
            Thread.sleep(50);
        }
        assertThat(Files.exists(sock)).as(Files.readString(logFile)).isTrue();
        if (loaderCh == null) {
            loaderCh = LoaderChannels.open("unix:" + sock);
        }
        while (true) { // the socket may show before the loader answers on it
            loaderCh.resetConnectBackoff(); // the old loader's death left the channel waiting to redial
            try {
                LOG.infof("loader %s", loader().getCapabilities(GetCapabilitiesRequest.getDefaultInstance())
                        .getLoaderVersion());
                return;
            } catch (StatusRuntimeException e) {
                if (System.currentTimeMillis() > end || !loader.isAlive()) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    /** Kills the loader as a crash would (SIGKILL): its traces and attachments go with it. */
    void killLoader() throws InterruptedException {
        if (loader != null) {
            loader.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            loader = null;
        }
    }

    /** The channel to the loader, as the agent holds it. */
    ManagedChannel loaderChannel() {
        return loaderCh;
    }

    LoaderGrpc.LoaderBlockingStub loader() {
        return LoaderGrpc.newBlockingStub(loaderCh).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    long cgroupId() throws IOException {
        return ((Number) Files.getAttribute(cg, "unix:ino")).longValue();
    }

    SetTraceRequest trace() throws IOException {
        return SetTraceRequest.newBuilder().setReplicationId(REP_ID).addCgroupIds(cgroupId())
                .addCgroupIds(((Number) Files.getAttribute(markerCg, "unix:ino")).longValue()).addPrefixes(prefix)
                .setRoot("/").build();
    }

    /**
     * What the agent's reconciler does for an origin item: the trace is set unless the loader already has it, then
     * the origin learns that capture is on.
     */
    void ensureTrace() throws IOException {
        loaderCh.resetConnectBackoff();
        SetTraceRequest want = trace();
        boolean have = loader().listTraces(ListTracesRequest.getDefaultInstance()).getTracesList().contains(want);
        if (!have) {
            loader().setTrace(want);
        }
    }

    // --- the origin application ---

    /** Starts bash running script in the origin's cgroup, in the origin's data directory. */
    Process startApp(String name, String script) throws Exception {
        Path file = tmp.resolve(name + ".sh");
        Files.writeString(file, script);
        Process p = new ProcessBuilder("bash", "-c", "echo $$ > " + cg.resolve("cgroup.procs") + " && exec bash "
                + file).directory(originData.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(name + ".log").toFile()).start();
        apps.add(p);
        return p;
    }

    /** Waits for an application process to end well. */
    void awaitApp(String name, Process p, long seconds) throws Exception {
        assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as(name + " ended").isTrue();
        assertThat(p.exitValue()).as(name + ": " + Files.readString(tmp.resolve(name + ".log"))).isZero();
    }

    // --- the replica agent ---

    /** Starts (or restarts, with nothing in memory, as a new process) the replica agent's replication server. */
    void startReplica(io.grpc.ServerInterceptor... interceptors) throws Exception {
        service = new ReplicationService();
        applier = new StateApplier(KEY, POD, new ConfinedRoot(replicaRoot, List.of(prefix)),
                replicaStateDir.resolve("position"));
        service.put(new ReplicationService.Replica(applier, "node-a"));
        server = ReplicationRig.serveReplication(service, nodeB, port, interceptors);
        port = server.getPort();
    }

    /** The replica agent's periodic tick: saves its position once idle. */
    void replicaTick() {
        StateApplier a = applier;
        if (a != null && server != null) {
            a.checkpointIfIdle(StateReplicationManager.CHECKPOINT_IDLE_MS);
        }
    }

    /** Stops the replica agent as a crash would: its streams break, its memory is gone. */
    void stopReplica() throws InterruptedException {
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server = null;
        }
    }

    // --- the origin agent ---

    /** Starts (or restarts, with a new op log epoch) the origin agent: log, link, event pump, trace. */
    void startOrigin() throws Exception {
        ch = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(nodeA.clientContext())
                .overrideAuthority("node-b").maxInboundMessageSize(64 << 20).build();
        origin = new OriginReplication(KEY, new ConfinedRoot(Path.of("/"), List.of(prefix)),
                new OpLog(tmp.resolve("spill"), 16 << 20, 256 << 20));
        link = new ReplicaLink(KEY, POD, origin.log(), origin.origin(), ch, ReplicaLink.Options.defaults()).start();
        origin.addLink(link);
        pump = new StateEventPump(loaderCh);
        pump.route(REP_ID, origin);
        pump.onConnect(this::traceConfirmed);
        pump.start();
        traceConfirmed();
    }

    /** As the agent does when it applies its config or the loader (re)connects: trace, then capture is on. */
    private synchronized void traceConfirmed() {
        OriginReplication o = origin;
        if (o == null) {
            return;
        }
        try {
            ensureTrace();
            o.captureOn();
        } catch (IOException | StatusRuntimeException e) {
            LOG.infof("trace not confirmed: %s", e.toString());
        }
    }

    /** Stops the origin agent as a crash would: its op log and links are gone. */
    void stopOrigin() {
        if (pump != null) {
            pump.close();
            pump = null;
        }
        if (origin != null) {
            resyncedBytesBefore += link.counters().resyncedBytes();
            origin.close();
            origin = null;
        }
        if (ch != null) {
            ch.shutdownNow();
            ch = null;
        }
    }

    /** Bytes sent by resyncs over every origin agent incarnation so far. */
    long resyncedBytes() {
        return resyncedBytesBefore + (link == null ? 0 : link.counters().resyncedBytes());
    }

    void awaitInSync(long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (!link.inSync() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        assertThat(link.inSync()).as("link in sync").isTrue();
    }

    /** Waits until the replica's directory equals the origin's; returns when. */
    long awaitIdentical(long deadline) throws Exception {
        return Trees.awaitIdentical(originData, replicaData, deadline);
    }

    String sqlite(Path dir, String db, String sql) throws Exception {
        return Trees.sh(dir, "sqlite3 " + db + " '" + sql + "'");
    }

    @Override
    public void close() throws Exception {
        ticker.shutdownNow();
        stopOrigin();
        stopReplica();
        if (loaderCh != null && loader != null) {
            try {
                loader().removeTrace(RemoveTraceRequest.newBuilder().setReplicationId(REP_ID).build());
            } catch (StatusRuntimeException e) {
                LOG.debugf("remove trace: %s", e.getStatus());
            }
        }
        if (loaderCh != null) {
            loaderCh.shutdownNow();
        }
        for (Process p : apps) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (loader != null) {
            loader.destroy();
            if (!loader.waitFor(10, TimeUnit.SECONDS)) {
                loader.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        for (Path group : List.of(cg, markerCg)) {
            if (Files.exists(group)) {
                Files.writeString(group.resolve("cgroup.freeze"), "0"); // a frozen process cannot die
                for (String l : Files.readAllLines(group.resolve("cgroup.procs"))) {
                    ProcessHandle.of(Long.parseLong(l.trim())).ifPresent(ProcessHandle::destroyForcibly);
                }
                long end = System.currentTimeMillis() + 10_000;
                while (!new File(group.toString()).delete() && System.currentTimeMillis() < end) {
                    Thread.sleep(50); // busy until the killed processes are gone
                }
            }
        }
        Trees.sh(Path.of("/"), "rm -rf " + pinDir);
    }
}
