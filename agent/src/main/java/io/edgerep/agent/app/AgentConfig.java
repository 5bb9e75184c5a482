// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.app;

import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The agent's settings (application.properties, environment EDGEREP_AGENT_*). */
@ConfigMapping(prefix = "edgerep.agent")
public interface AgentConfig {
    /** Node this agent runs on (the DaemonSet passes spec.nodeName). */
    String nodeName();

    /** Operator's AgentControl address, host:port; empty = no operator link (tests, standalone). */
    Optional<String> operatorTarget();

    /** Name in the operator's server certificate. */
    @WithDefault("edgerep-operator")
    String operatorName();

    /** Projected service-account token with the agent audience. */
    @WithDefault("/var/run/secrets/edgerep/token")
    String tokenFile();

    /** CA bundle the operator's certificate chains to (PEM). */
    @WithDefault("/etc/edgerep/ca.crt")
    String caFile();

    /** The loader's socket: unix:/path or host:port. */
    @WithDefault("unix:/run/edgerep/loader.sock")
    String loaderTarget();

    /** Where spilled op buffers live. */
    @WithDefault("/var/lib/edgerep")
    String stateDir();

    /** Port other agents push to (mTLS). */
    @WithDefault("9444")
    int replicationPort();

    /** Address other agents dial, host:port (sent in Hello). */
    Optional<String> replicationEndpoint();

    @WithDefault("/proc")
    String procRoot();

    @WithDefault("/sys/class/net")
    String sysClassNet();

    /** Interval of coalesced counters, ms. */
    @WithDefault("2000")
    long countersIntervalMs();

    @WithDefault("200")
    long backoffBaseMs();

    @WithDefault("10000")
    long backoffCapMs();

    /** Unacknowledged ops kept in memory per origin before spilling. */
    @WithDefault("67108864")
    long bufferMemoryBytes();

    /** Spilled ops kept on disk per origin before replicas must resync. */
    @WithDefault("1073741824")
    long bufferDiskBytes();
}
