// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.pods;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel tables as a node prints them: the fixtures were captured from a network namespace with a bridge br0
 * (10.77.0.1/24, ports veth-a = 1 and veth-b = 2, a pod 10.77.0.6 on veth-b that answered a ping, 10.77.0.5 and
 * 10.77.0.9 that did not) and an uplink up0 with a default route and a 10.99.0.0/16 route through gateways.
 */
class NetTablesTest {
    @TempDir
    Path fs;

    static final String ROUTE = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT       \s
            up0\t00000000\tFE4DA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                     \s
            br0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                     \s
            up0\t0000630A\t024DA8C0\t0003\t0\t0\t50\t0000FFFF\t0\t0\t0                    \s
            up0\t004DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                     \s
            """;

    static final String ARP = """
            IP address       HW type     Flags       HW address            Mask     Device
            10.77.0.6        0x1         0x2         02:00:0a:4d:00:06     *        br0
            10.77.0.5        0x1         0x0         00:00:00:00:00:00     *        br0
            10.77.0.9        0x1         0x0         00:00:00:00:00:00     *        br0
            """;

    /** brforward of br0, as xxd -p -c16 printed it: the learned pod MAC on port 2, then the ports' own MACs. */
    static final String BRFORWARD = "02000a4d000602007800000000000000" + "4ebefc49c8f402010000000000000000"
            + "629c61cd4e2101010000000000000000";

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    /** Lays out the captured node under root (proc/net, sys/class/net) and returns a resolver over it. */
    static RouteResolver capturedNode(Path root, String arp) throws IOException {
        Path procNet = Files.createDirectories(root.resolve("proc/net"));
        Files.writeString(procNet.resolve("route"), ROUTE);
        Files.writeString(procNet.resolve("arp"), arp);
        Path br = Files.createDirectories(root.resolve("sys/class/net/br0"));
        Files.createDirectories(br.resolve("bridge"));
        Files.write(br.resolve("brforward"), hex(BRFORWARD));
        Files.writeString(Files.createDirectories(br.resolve("brif/veth-a")).resolve("port_no"), "0x1\n");
        Files.writeString(Files.createDirectories(br.resolve("brif/veth-b")).resolve("port_no"), "0x2\n");
        Files.createDirectories(root.resolve("sys/class/net/up0"));
        return new RouteResolver(root.resolve("sys/class/net"), procNet) {
            @Override
            protected void probe(String nextHop) {
            }
        };
    }

    @Test
    void routesPickTheLongestPrefixThenTheGateway() {
        List<NetTables.Route> routes = NetTables.parseRoutes(ROUTE);
        assertThat(routes).hasSize(4);
        NetTables.Route pod = NetTables.lookup(routes, "10.77.0.6").orElseThrow();
        assertThat(pod.iface()).isEqualTo("br0");
        assertThat(NetTables.nextHop(pod, "10.77.0.6")).isEqualTo("10.77.0.6");
        NetTables.Route far = NetTables.lookup(routes, "10.99.3.4").orElseThrow();
        assertThat(far.metric()).isEqualTo(50);
        assertThat(NetTables.nextHop(far, "10.99.3.4")).isEqualTo("192.168.77.2");
        NetTables.Route dflt = NetTables.lookup(routes, "172.20.1.1").orElseThrow();
        assertThat(NetTables.nextHop(dflt, "172.20.1.1")).isEqualTo("192.168.77.254");
        assertThat(NetTables.lookup(routes, "fd00::1")).isEmpty();
        assertThat(NetTables.lookup(NetTables.parseRoutes(ROUTE.lines().limit(3).reduce("", (a, b) -> a + b + "\n")),
                "10.99.3.4").orElseThrow().iface()).isEqualTo("up0");
    }

    @Test
    void lowerMetricWinsAmongEqualPrefixes() {
        String two = ROUTE + "up1\t0000630A\t034DA8C0\t0003\t0\t0\t10\t0000FFFF\t0\t0\t0\n";
        assertThat(NetTables.lookup(NetTables.parseRoutes(two), "10.99.0.1").orElseThrow().iface()).isEqualTo("up1");
    }

    @Test
    void neighboursOnlyWhenComplete() {
        assertThat(NetTables.arpMac(ARP, "10.77.0.6", "br0")).contains("02:00:0a:4d:00:06");
        assertThat(NetTables.arpMac(ARP, "10.77.0.6", "up0")).isEmpty();
        assertThat(NetTables.arpMac(ARP, "10.77.0.5", "br0")).isEmpty();
        assertThat(NetTables.arpMac(ARP, "10.77.0.60", "br0")).isEmpty();
    }

    @Test
    void fdbRecordsDecodeMacPortAndLocal() {
        byte[] b = hex(BRFORWARD);
        assertThat(NetTables.parseFdb(b, b.length)).containsExactly(
                new NetTables.FdbEntry("02:00:0a:4d:00:06", 2, false),
                new NetTables.FdbEntry("4e:be:fc:49:c8:f4", 2, true),
                new NetTables.FdbEntry("62:9c:61:cd:4e:21", 1, true));
        // port_hi (byte 12) extends the port number past 255
        byte[] high = hex("02000a4d0006ff007800000001000000");
        assertThat(NetTables.parseFdb(high, 16)).containsExactly(new NetTables.FdbEntry("02:00:0a:4d:00:06", 511,
                false));
    }

    /**
     * A table larger than one read, served as the kernel's brforward does: whole records only, as many as fit, an
     * offset off a record boundary refused. Every record must come back.
     */
    @Test
    void aLargeFdbIsReadWholeInRecords() throws Exception {
        int records = NetTables.FDB_RECORDS_PER_READ * 2 + 37;
        byte[] table = new byte[records * NetTables.FDB_RECORD];
        for (int i = 0; i < records; i++) {
            table[i * 16] = 2;
            table[i * 16 + 4] = (byte) (i >> 8);
            table[i * 16 + 5] = (byte) i;
            table[i * 16 + 6] = (byte) (i % 7 + 1);
        }
        NetTables.PositionalRead kernel = (ByteBuffer dst, long pos) -> {
            if (pos % NetTables.FDB_RECORD != 0) {
                throw new IOException("EINVAL");
            }
            int fit = Math.min(dst.remaining() / NetTables.FDB_RECORD, records - (int) (pos / NetTables.FDB_RECORD));
            dst.put(table, (int) pos, fit * NetTables.FDB_RECORD);
            return fit * NetTables.FDB_RECORD;
        };
        List<NetTables.FdbEntry> got = NetTables.readFdb(kernel);
        assertThat(got).hasSize(records);
        assertThat(got.get(records - 1).mac()).isEqualTo(String.format("02:00:00:00:%02x:%02x", (records - 1) >> 8,
                (records - 1) & 0xff));
    }

    @Test
    void readsAFdbFile() throws Exception {
        Path f = fs.resolve("brforward");
        Files.write(f, hex(BRFORWARD));
        assertThat(NetTables.readFdb(f)).hasSize(3);
    }
}
