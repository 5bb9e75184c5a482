// SPDX-License-Identifier: Apache-2.0
package io.edgerep.operator.wiring;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.edgerep.operator.OperatorSettings;
import io.edgerep.operator.ReleaseOwner;
import io.edgerep.operator.registry.AgentControlService;
import io.edgerep.operator.registry.AgentRegistry;
import io.edgerep.operator.registry.AgentServer;
import io.edgerep.operator.security.BootstrapVerifier;
import io.edgerep.operator.security.CaStore;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.runtime.configuration.ConfigUtils;

/**
 * Serves agents only from the leader and only once the controller's caches are synced: loads or
 * creates the CA, starts AgentControl, and opens the registry's gate once every resource was
 * planned. Without leader election (dev and test profiles) the single instance leads.
 */
@ApplicationScoped
public class AgentServerLifecycle {

    private static final Logger LOG = Logger.getLogger(AgentServerLifecycle.class);

    @Inject
    KubernetesClient client;
    @Inject
    AgentRegistry registry;
    @Inject
    OperatorSettings settings;
    @Inject
    Operator operator;

    @Inject
    ReleaseOwner owner;

    private volatile AgentServer server;
    private volatile boolean leading;
    private volatile boolean retired;
    private volatile boolean leaseOwned;
    private ScheduledExecutorService loop;

    /** Whether QOSDK runs leader election in this profile (its default: the prod profile only). */
    static boolean leaderElectionActive() {
        return ConfigUtils.getProfiles().contains("prod");
    }

    void start(@Observes @Priority(5000) StartupEvent event) {
        if (!leaderElectionActive()) {
            leading = true;
        }
        loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "edgerep-agent-server");
            t.setDaemon(true);
            return t;
        });
        loop.scheduleWithFixedDelay(this::tick, 0, 200, TimeUnit.MILLISECONDS);
    }

    private void tick() {
        try {
            if (server == null && leading && operator.getRuntimeInfo().isStarted()
                    && operator.getRuntimeInfo().allEventSourcesAreHealthy()) {
                var ca = CaStore.loadOrCreate(client, settings.namespace(), settings.caSecret(), owner);
                server = AgentServer.start(settings, ca,
                        new AgentControlService(registry, ca, new BootstrapVerifier(client, settings), settings));
            }
            if (server != null && !registry.gateOpen()) {
                registry.checkGate();
            }
            if (leading && !leaseOwned && leaderElectionActive()) {
                leaseOwned = ownLease();
            }
        } catch (RuntimeException e) {
            LOG.warnf("agent server not started yet: %s", e.getMessage());
        }
    }

    /**
     * The leader-election Lease is the elector's, not helm's: owned by the operator's Deployment (like the CA Secret),
     * the garbage collector removes it at {@code helm uninstall}. True once done (or when there is no owner).
     */
    private boolean ownLease() {
        var ref = owner.reference();
        if (ref.isEmpty()) {
            return true;
        }
        var lease = client.resources(Lease.class).inNamespace(settings.namespace()).withName(LeaderElection.LEASE);
        Lease l = lease.get();
        if (l == null) {
            return false;
        }
        var refs = l.getMetadata().getOwnerReferences();
        if (refs == null || refs.stream().noneMatch(r -> ref.get().getUid().equals(r.getUid()))) {
            lease.edit(x -> {
                ReleaseOwner.adopt(x.getMetadata(), ref);
                return x;
            });
            LOG.infof("lease %s owned by Deployment %s", LeaderElection.LEASE, ref.get().getName());
        }
        return true;
    }

    /** Leader election callback: this instance leads. */
    void startedLeading() {
        LOG.info("leading: agents will be served once the caches are synced");
        leading = true;
    }

    /**
     * Leader election callback: leadership lost; the process exits. The exit is requested from a
     * thread of its own: the callback also runs inside the JVM's shutdown hooks (Operator.stop on
     * SIGTERM stops the elector), where a System.exit on the calling thread waits forever for the
     * hooks it is part of. There the requesting thread just stays blocked and the JVM ends as the
     * hooks finish.
     */
    void stoppedLeading() {
        leading = false;
        if (retired) {
            // the controller was stopped for uninstall: stay up (idle) until the Deployment goes
            return;
        }
        AgentServer s = server;
        server = null;
        if (s != null) {
            s.close();
        }
        exit.accept(1);
    }

    /** How the process exits on lost leadership (tests replace it). */
    IntConsumer exit = AgentServerLifecycle::exitFromOwnThread;

    static Thread exitFromOwnThread(int code) {
        Thread t = new Thread(() -> System.exit(code), "edgerep-exit");
        t.setDaemon(true);
        t.start();
        return t;
    }

    void stop(@Observes ShutdownEvent event) {
        if (loop != null) {
            loop.shutdownNow();
        }
        AgentServer s = server;
        if (s != null) {
            s.close();
        }
    }

    /**
     * Uninstall: the controller stops (so nothing adds a finalizer back) and losing the lease no longer ends the
     * process; the agents stay connected, idle, until the release's Deployment and DaemonSet are deleted.
     */
    void retire() {
        retired = true;
        operator.stop();
    }

    /** Whether agents are being served (the readiness of this instance). */
    public boolean serving() {
        return server != null;
    }

    /** The port agents dial (tests bind to 0). */
    public int port() {
        AgentServer s = server;
        if (s == null) {
            throw new IllegalStateException("the agent server is not running");
        }
        return s.port();
    }
}
