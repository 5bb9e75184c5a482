// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.app;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

import io.edgerep.agent.control.CountersCollector;
import io.edgerep.agent.control.FailedItemRetry;
import io.edgerep.agent.control.NodeReconciler;
import io.edgerep.agent.control.OperatorLink;
import io.edgerep.agent.control.PodFacts;
import io.edgerep.agent.control.RouteWatch;
import io.edgerep.agent.loader.LoaderChannels;
import io.edgerep.agent.loader.StateEventPump;
import io.edgerep.agent.pods.CgroupResolver;
import io.edgerep.agent.pods.RouteResolver;
import io.edgerep.agent.state.ReplicationService;
import io.edgerep.agent.state.StateReplicationManager;
import io.edgerep.agent.tls.NodeIdentity;
import io.edgerep.agent.tls.NodeTls;
import io.edgerep.proto.v1.Capabilities;
import io.edgerep.proto.v1.Counters;
import io.edgerep.proto.v1.GetCapabilitiesRequest;
import io.edgerep.proto.v1.GetCapabilitiesResponse;
import io.edgerep.proto.v1.Hello;
import io.edgerep.proto.v1.LoaderGrpc;
import io.edgerep.proto.v1.NodeConfig;
import io.edgerep.proto.v1.NodeStatus;
import io.edgerep.proto.v1.Teardown;
import io.edgerep.proto.v1.TeardownResult;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/** The agent process: wires loader, pod resolution, state replication and the operator link, and runs them. */
@ApplicationScoped
public class Agent {
    private static final Logger LOG = Logger.getLogger(Agent.class);
    static final String VERSION = "0.1.0";

    private final AgentConfig cfg;
    private ManagedChannel loaderChannel;
    private StateEventPump pump;
    private ReplicationService replicationService;
    private StateReplicationManager state;
    private NodeReconciler reconciler;
    private CountersCollector counters;
    private OperatorLink link;
    private volatile Server replicationServer;
    private volatile NodeTls tls;
    private volatile String loaderVersion = "";
    private ScheduledExecutorService ticker;
    private FailedItemRetry retry;
    private RouteWatch routeWatch;
    private ScheduledExecutorService retrier;
    private volatile boolean loaderUp;

    public Agent(AgentConfig cfg) {
        this.cfg = cfg;
    }

    void onStart(@Observes StartupEvent ev) {
        MDC.put("node", cfg.nodeName());
        loaderChannel = LoaderChannels.open(cfg.loaderTarget());
        pump = new StateEventPump(loaderChannel);
        replicationService = new ReplicationService();
        state = new StateReplicationManager(replicationService, pump, Path.of(cfg.stateDir()), () -> tls,
                cfg.bufferMemoryBytes(), cfg.bufferDiskBytes());
        PodFacts pods = PodFacts.of(new RouteResolver(Path.of(cfg.sysClassNet())),
                new CgroupResolver(Path.of(cfg.procRoot())));
        reconciler = new NodeReconciler(loaderChannel, pods, state, Path.of(cfg.procRoot()));
        retry = new FailedItemRetry(reconciler, System::currentTimeMillis);
        routeWatch = new RouteWatch(reconciler, System::currentTimeMillis);
        pump.onConnect(this::loaderConnected);
        pump.onLost(this::loaderLost);
        pump.start();
        counters = new CountersCollector(loaderChannel, reconciler, state);
        ticker = daemonScheduler("agent-tick");
        ticker.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
        // apart from the ticker: a retried config may wait on the loader for as long as a program takes to compile
        retrier = daemonScheduler("agent-retry");
        retrier.scheduleWithFixedDelay(this::retryFailed, 1, 1, TimeUnit.SECONDS);
        if (cfg.operatorTarget().isPresent()) {
            try {
                var ca = NodeTls.parseCerts(Files.readString(Path.of(cfg.caFile()), StandardCharsets.US_ASCII));
                link = new OperatorLink(new OperatorLink.Options(cfg.operatorTarget().get(), cfg.operatorName(),
                        cfg.nodeName(), this::token, ca, cfg.backoffBaseMs(), cfg.backoffCapMs(),
                        cfg.countersIntervalMs()),
                        new Handler()).onCertificate(this::certificate).start();
            } catch (Exception e) {
                LOG.errorf("operator link not started: %s", e.toString());
            }
        } else {
            LOG.info("no operator target configured: the agent runs without an operator link");
        }
    }

    private void tick() {
        try {
            state.tick();
            var events = state.drainEvents();
            if (link != null) {
                events.forEach(link::event);
            }
        } catch (RuntimeException e) {
            LOG.warnf("housekeeping: %s", e.toString());
        }
    }

    private static ScheduledExecutorService daemonScheduler(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    private void retryFailed() {
        try {
            NodeStatus st = retry.tick(loaderUp);
            if (st == null) {
                st = routeWatch.tick(loaderUp);
            }
            if (st != null && link != null) {
                link.status(st);
            }
        } catch (RuntimeException e) {
            LOG.warnf("applying the config again: %s", e.toString());
        }
    }

    /**
     * A (re)connected loader may have restarted without its traces: the last config is applied again, and the
     * operator hears the result (it replaces what {@link #loaderLost} reported).
     */
    private void loaderConnected() {
        loaderUp = true;
        try {
            NodeStatus st = reconciler.reapply();
            if (st != null) {
                st.getItemsList().stream().filter(i -> !i.getOk())
                        .forEach(i -> LOG.warnf("after the loader reconnected: %s %s: %s", i.getKey(), i.getReason(),
                                i.getMessage()));
                if (link != null) {
                    link.status(st);
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("re-applying the config after the loader reconnected: %s", e.toString());
        }
    }

    /** The loader went away: the operator hears which items the node can no longer vouch for. */
    private void loaderLost(String why) {
        loaderUp = false;
        LOG.warnf("lost the loader: %s", why);
        NodeStatus st = reconciler.loaderLost(why);
        if (st != null && link != null) {
            link.status(st);
        }
    }

    void onStop(@Observes ShutdownEvent ev) {
        if (link != null) {
            link.close();
        }
        if (ticker != null) {
            ticker.shutdownNow();
        }
        if (retrier != null) {
            retrier.shutdownNow();
        }
        if (state != null) {
            state.close();
        }
        if (pump != null) {
            pump.close();
        }
        Server s = replicationServer;
        if (s != null) {
            s.shutdownNow();
        }
        if (loaderChannel != null) {
            loaderChannel.shutdownNow();
        }
    }

    private String token() {
        try {
            return Files.readString(Path.of(cfg.tokenFile())).trim();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the service-account token: " + e.getMessage(), e);
        }
    }

    /** A new node certificate: (re)start the replication server with it. */
    private synchronized void certificate(NodeTls t) {
        tls = t;
        try {
            Server old = replicationServer;
            if (old != null) {
                old.shutdown().awaitTermination(2, TimeUnit.SECONDS);
            }
            replicationServer = NettyServerBuilder.forAddress(new InetSocketAddress(cfg.replicationPort()))
                    .sslContext(t.serverContext()).maxInboundMessageSize(64 << 20)
                    .addService(ServerInterceptors.intercept(replicationService, new NodeIdentity())).build().start();
            LOG.infof("replication server on port %d", replicationServer.getPort());
        } catch (Exception e) {
            LOG.errorf("replication server not started: %s", e.toString());
        }
    }

    final class Handler implements OperatorLink.Handler {
        @Override
        public NodeStatus apply(NodeConfig config) {
            MDC.put("node", cfg.nodeName());
            return reconciler.apply(config);
        }

        @Override
        public Hello.Builder hello() {
            Hello.Builder h = Hello.newBuilder().setAgentVersion(VERSION)
                    .setReplicationEndpoint(cfg.replicationEndpoint().orElse(""));
            try {
                GetCapabilitiesResponse c = LoaderGrpc.newBlockingStub(loaderChannel)
                        .withDeadlineAfter(3, TimeUnit.SECONDS)
                        .getCapabilities(GetCapabilitiesRequest.getDefaultInstance());
                loaderVersion = c.getLoaderVersion();
                h.setLoaderVersion(c.getLoaderVersion()).setCapabilities(Capabilities.newBuilder()
                        .setKernelRelease(c.getKernel().getKernelRelease()).setBtf(c.getKernel().getBtf())
                        .setCgroupV2(c.getKernel().getCgroupV2()));
            } catch (RuntimeException e) {
                loaderVersion = "";
            }
            return h;
        }

        @Override
        public Counters counters() {
            return counters.collect();
        }

        @Override
        public TeardownResult teardown(Teardown teardown) {
            MDC.put("node", cfg.nodeName());
            return reconciler.teardown(teardown.getReason());
        }
    }

    public CountersCollector counters() {
        return counters;
    }

    public OperatorLink link() {
        return link;
    }

    public StateReplicationManager state() {
        return state;
    }

    public ReplicationService replicationService() {
        return replicationService;
    }

    public StateEventPump pump() {
        return pump;
    }

    /** Changes of a programmed consumer's way out of the node, since start. */
    public long routeChanges() {
        return reconciler.routeChanges();
    }

    public String loaderVersion() {
        return loaderVersion;
    }

    public ManagedChannel loaderChannel() {
        return loaderChannel;
    }
}
