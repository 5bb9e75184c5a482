// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.pods;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Pod IP to egress interface and MAC: the kernel's IPv4 route for it ({@code /proc/net/route}), the neighbour entry of
 * the next hop ({@code /proc/net/arp}), and, when the route points to a bridge, the bridge port that learned that MAC
 * ({@code /sys/class/net/<br>/brforward}). No program is run: the agent's image needs neither iproute2 nor a shell.
 * The tables are parsed by {@link NetTables}, which tests feed with captured kernel output.
 */
public class RouteResolver {
    /** Where a copy for a pod leaves the node. */
    public record Egress(String iface, String mac, String via) {
    }

    /** How long one neighbour probe may take. */
    static final int PROBE_TIMEOUT_MS = 300;

    private final Path sysClassNet;
    private final Path procNet;

    /** Tables of the agent's own network namespace (the host's, for a hostNetwork pod). */
    public RouteResolver(Path sysClassNet) {
        this(sysClassNet, Path.of("/proc/net"));
    }

    public RouteResolver(Path sysClassNet, Path procNet) {
        this.sysClassNet = sysClassNet;
        this.procNet = procNet;
    }

    public Optional<Egress> resolve(String ip) throws IOException {
        Optional<NetTables.Route> route = NetTables.lookup(NetTables.parseRoutes(read(procNet.resolve("route"))), ip);
        if (route.isEmpty()) {
            return Optional.empty();
        }
        String dev = route.get().iface();
        String nextHop = NetTables.nextHop(route.get(), ip);
        Optional<String> mac = NetTables.arpMac(read(procNet.resolve("arp")), nextHop, dev);
        if (mac.isEmpty()) {
            // a pod that has not talked yet has no neighbour entry: make the kernel resolve it
            probe(nextHop);
            mac = NetTables.arpMac(read(procNet.resolve("arp")), nextHop, dev);
        }
        if (mac.isEmpty()) {
            return Optional.empty();
        }
        String iface = dev;
        if (isBridge(iface)) {
            Optional<String> port = bridgePort(iface, mac.get());
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

    /** The port of bridge that learned mac (local entries, the bridge's and its ports' own MACs, are skipped). */
    Optional<String> bridgePort(String bridge, String mac) throws IOException {
        Path br = sysClassNet.resolve(bridge);
        for (NetTables.FdbEntry e : NetTables.readFdb(br.resolve("brforward"))) {
            if (!e.local() && e.mac().equalsIgnoreCase(mac)) {
                return portName(br.resolve("brif"), e.port());
            }
        }
        return Optional.empty();
    }

    /** The interface under brif/ whose port_no ("0x2") is port. */
    static Optional<String> portName(Path brif, int port) throws IOException {
        try (DirectoryStream<Path> ports = Files.newDirectoryStream(brif)) {
            for (Path p : ports) {
                String no = read(p.resolve("port_no")).trim();
                if (!no.isEmpty() && Integer.decode(no) == port) {
                    return Optional.of(p.getFileName().toString());
                }
            }
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

    /** A kernel table's text; a table that is not there (an interface gone meanwhile) reads as empty. */
    static String read(Path p) throws IOException {
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return "";
        }
    }

}
