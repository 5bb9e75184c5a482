// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.pods;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The kernel's IPv4 routing table ({@code /proc/net/route}), neighbour table ({@code /proc/net/arp}) and a bridge's
 * forwarding database ({@code /sys/class/net/<br>/brforward}) as the kernel prints them, parsed by pure functions.
 * Reading them needs no program in the agent's image; they describe the network namespace of the reader.
 */
public final class NetTables {
    private NetTables() {
    }

    /** One line of /proc/net/route: addresses as host-order ints. */
    public record Route(String iface, int destination, int gateway, int mask, int metric, int flags) {
        /** RTF_UP: the route is usable. */
        static final int UP = 0x1;
        /** RTF_GATEWAY: the destination is reached through gateway. */
        static final int GATEWAY = 0x2;

        boolean matches(int addr) {
            return (flags & UP) != 0 && (addr & mask) == destination;
        }
    }

    /** A learned (non-local) bridge FDB entry: the MAC and the bridge port number it was seen on. */
    public record FdbEntry(String mac, int port, boolean local) {
    }

    /** Size of one {@code struct __fdb_entry} record in brforward (linux/if_bridge.h). */
    static final int FDB_RECORD = 16;
    /** Records asked for by one read of brforward. */
    static final int FDB_RECORDS_PER_READ = 128;
    /** ATF_COM in /proc/net/arp flags: the entry holds a resolved hardware address. */
    static final int ATF_COM = 0x2;

    /** Parses /proc/net/route (header line, then whitespace-separated fields, addresses in little-endian hex). */
    public static List<Route> parseRoutes(String text) {
        List<Route> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || f[0].equals("Iface")) {
                continue;
            }
            out.add(new Route(f[0], le(f[1]), le(f[2]), le(f[7]), Integer.parseInt(f[6]), Integer.parseInt(f[3], 16)));
        }
        return out;
    }

    /** The route the kernel's main table would pick for addr: longest prefix, then lowest metric. */
    public static Optional<Route> lookup(List<Route> routes, String ip) {
        Optional<Integer> addr = ipv4(ip);
        if (addr.isEmpty()) {
            return Optional.empty();
        }
        Route best = null;
        for (Route r : routes) {
            if (!r.matches(addr.get())) {
                continue;
            }
            if (best == null || Integer.bitCount(r.mask()) > Integer.bitCount(best.mask())
                    || (r.mask() == best.mask() && r.metric() < best.metric())) {
                best = r;
            }
        }
        return Optional.ofNullable(best);
    }

    /** The next hop a route sends ip to: its gateway, or ip itself on a directly connected route. */
    public static String nextHop(Route r, String ip) {
        return (r.flags() & Route.GATEWAY) != 0 && r.gateway() != 0 ? dotted(r.gateway()) : ip;
    }

    /** The resolved MAC of ip on dev in /proc/net/arp; incomplete and failed entries have none. */
    public static Optional<String> arpMac(String text, String ip, String dev) {
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 6 || !f[0].equals(ip) || !f[5].equals(dev) || !f[1].startsWith("0x")) {
                continue;
            }
            if ((Integer.parseInt(f[2].substring(2), 16) & ATF_COM) != 0) {
                return Optional.of(f[3].toLowerCase(Locale.ROOT));
            }
        }
        return Optional.empty();
    }

    /** Decodes brforward records; a trailing partial record (which the kernel never writes) is ignored. */
    public static List<FdbEntry> parseFdb(byte[] data, int length) {
        List<FdbEntry> out = new ArrayList<>();
        HexFormat hex = HexFormat.ofDelimiter(":");
        for (int off = 0; off + FDB_RECORD <= length; off += FDB_RECORD) {
            String mac = hex.formatHex(data, off, off + 6);
            int port = (data[off + 6] & 0xff) | ((data[off + 12] & 0xff) << 8);
            out.add(new FdbEntry(mac, port, data[off + 7] != 0));
        }
        return out;
    }

    /**
     * Reads a whole brforward file. The kernel answers a read with as many whole records as fit and refuses offsets
     * that are not a multiple of the record size, so every read asks for whole records at a record boundary: a read
     * into a buffer with less than one record left would return 0 and look like the end of the table.
     */
    public static List<FdbEntry> readFdb(Path brforward) throws IOException {
        try (FileChannel ch = FileChannel.open(brforward, StandardOpenOption.READ)) {
            return readFdb(ch::read);
        }
    }

    /** A positional read, as {@link FileChannel#read(ByteBuffer, long)}. */
    @FunctionalInterface
    interface PositionalRead {
        int read(ByteBuffer dst, long position) throws IOException;
    }

    static List<FdbEntry> readFdb(PositionalRead source) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(FDB_RECORD * FDB_RECORDS_PER_READ);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        long pos = 0;
        while (true) {
            chunk.clear();
            int n = source.read(chunk, pos);
            int whole = n - n % FDB_RECORD;
            if (whole <= 0) {
                break;
            }
            all.write(chunk.array(), 0, whole);
            pos += whole;
        }
        byte[] bytes = all.toByteArray();
        return parseFdb(bytes, bytes.length);
    }

    /** A /proc/net/route address field ("00004D0A") as a host-order int (10.77.0.0). */
    static int le(String hex) {
        return Integer.reverseBytes((int) Long.parseLong(hex, 16));
    }

    static Optional<Integer> ipv4(String ip) {
        if (!ip.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            return Optional.empty();
        }
        try {
            InetAddress a = InetAddress.getByName(ip);
            return a instanceof Inet4Address ? Optional.of(ByteBuffer.wrap(a.getAddress()).getInt()) : Optional.empty();
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    static String dotted(int addr) {
        return (addr >>> 24) + "." + ((addr >>> 16) & 0xff) + "." + ((addr >>> 8) & 0xff) + "." + (addr & 0xff);
    }
}
