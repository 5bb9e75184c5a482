// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.pods;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pod IP to egress interface and MAC: the kernel's route lookup ({@code ip route get}), the neighbour entry for the
 * next hop, and, when the route points to a bridge, the bridge port that learned that MAC ({@code bridge fdb}).
 * Command output is parsed by pure functions, which tests feed with fixtures.
 */
public class RouteResolver {
    /** Where a copy for a pod leaves the node. */
    public record Egress(String iface, String mac, String via) {
    }

    private static final Pattern DEV = Pattern.compile("\\bdev (\\S+)");
    private static final Pattern VIA = Pattern.compile("\\bvia (\\S+)");
    private static final Pattern LLADDR = Pattern.compile("\\blladdr ([0-9a-f:]{17})");
    private static final Pattern FDB = Pattern.compile("^([0-9a-f:]{17}) dev (\\S+)(.*)$");

    /** How long one neighbour probe may take. */
    static final int PROBE_TIMEOUT_MS = 300;

    private final Path sysClassNet;

    public RouteResolver(Path sysClassNet) {
        this.sysClassNet = sysClassNet;
    }

    public Optional<Egress> resolve(String ip) throws IOException {
        String route = run("ip", "-o", "route", "get", ip);
        Optional<String> dev = routeDevice(route);
        if (dev.isEmpty()) {
            return Optional.empty();
        }
        String nextHop = routeVia(route).orElse(ip);
        Optional<String> mac = neighbourMac(run("ip", "neigh", "show", nextHop, "dev", dev.get()));
        if (mac.isEmpty()) {
            // a pod that has not talked yet has no neighbour entry: make the kernel resolve it
            probe(nextHop);
            mac = neighbourMac(run("ip", "neigh", "show", nextHop, "dev", dev.get()));
        }
        if (mac.isEmpty()) {
            return Optional.empty();
        }
        String iface = dev.get();
        if (isBridge(iface)) {
            Optional<String> port = fdbPort(run("bridge", "fdb", "show", "br", iface), mac.get(), iface);
            if (port.isEmpty()) {
                return Optional.empty();
            }
            iface = port.get();
        }
        return Optional.of(new Egress(iface, mac.get(), nextHop.equals(ip) ? "" : nextHop));
    }

    boolean isBridge(String iface) {
        return Files.isDirectory(sysClassNet.resolve(iface).resolve("bridge"));
    }

    /** "10.0.0.5 dev veth1 src 10.0.0.1 uid 0 \    cache" -> veth1. */
    static Optional<String> routeDevice(String out) {
        Matcher m = DEV.matcher(out);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    static Optional<String> routeVia(String out) {
        Matcher m = VIA.matcher(out);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** "10.0.0.5 lladdr 02:00:00:00:00:05 REACHABLE" -> the MAC; FAILED/INCOMPLETE entries have none. */
    static Optional<String> neighbourMac(String out) {
        Matcher m = LLADDR.matcher(out);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The bridge port that learned mac: a non-self, non-permanent entry on a port other than the bridge itself. */
    static Optional<String> fdbPort(String out, String mac, String bridge) {
        for (String line : out.split("\n")) {
            Matcher m = FDB.matcher(line.trim());
            if (!m.matches() || !m.group(1).equalsIgnoreCase(mac)) {
                continue;
            }
            String rest = m.group(3);
            if (m.group(2).equals(bridge) || rest.contains(" self") || rest.contains("permanent")) {
                continue;
            }
            return Optional.of(m.group(2));
        }
        return Optional.empty();
    }

    /**
     * Sends the next hop one probe (ICMP echo, or a TCP connect where raw sockets are not allowed),
     * which makes the kernel resolve its neighbour entry; the answer itself does not matter.
     */
    protected void probe(String nextHop) {
        try {
            InetAddress.getByName(nextHop).isReachable(PROBE_TIMEOUT_MS);
        } catch (IOException e) {
            // unresolvable stays unresolvable: the caller reports the pod as not resolved
        }
    }

    protected String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timeout: " + String.join(" ", cmd));
            }
            return p.exitValue() == 0 ? out : "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
