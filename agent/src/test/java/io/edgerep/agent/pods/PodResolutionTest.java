// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.pods;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Pod resolution over fixture trees: cgroup naming forms, the cgroup2 mount from mountinfo, routes, FDB. */
class PodResolutionTest {
    @TempDir
    Path fs;

    static final String ID = "3f2a9c7d1e0b4a5f6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d";

    Path fixture(String mountPoint, String containerDir, String procs) throws Exception {
        Path proc = Files.createDirectories(fs.resolve("proc/self"));
        Files.writeString(proc.resolve("mountinfo"), String.join("\n",
                "22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
                "30 22 0:26 / /sys/fs/cgroup/cpu rw,nosuid shared:10 - cgroup cgroup rw,cpu",
                "31 22 0:27 / " + mountPoint
                        + " rw,nosuid,nodev,noexec,relatime shared:11 - cgroup2 cgroup2 rw,nsdelegate",
                ""));
        Path cg = Files.createDirectories(fs.resolve(mountPoint.substring(1)).resolve(containerDir));
        Files.writeString(cg.getParent().resolve("cgroup.procs"), "");
        Files.writeString(cg.resolve("cgroup.procs"), procs);
        // a decoy: another container whose id shares a prefix
        Files.createDirectories(cg.getParent().resolve("cri-containerd-" + ID.substring(0, 60) + "ffff.scope"));
        return cg;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "containerd systemd driver, /sys/fs/cgroup, kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/cri-containerd-ID.scope, containerd://ID",
            "CRI-O, /sys/fs/cgroup, kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod99.slice/crio-ID.scope, cri-o://ID",
            "Docker systemd driver, /sys/fs/cgroup/unified, system.slice/docker-ID.scope, docker://ID",
            "cgroupfs driver, /sys/fs/cgroup/unified, kubepods/besteffort/pod1234/ID, containerd://ID",
            "bare id, /cg2, docker/ID, ID"})
    void resolvesContainerToCgroupIdPidsAndRoot(String name, String mount, String dir, String containerId)
            throws Exception {
        Path cg = fixture(mount, dir.replace("ID", ID), "4242\n4243\n");
        CgroupResolver r = new CgroupResolver(fs.resolve("proc"));
        assertThat(r.cgroup2Mount()).contains(fs.resolve(mount.substring(1)));
        var c = r.resolve(containerId.replace("ID", ID)).orElseThrow();
        assertThat(c.cgroupDir()).isEqualTo(cg);
        assertThat(c.cgroupId()).isEqualTo(((Number) Files.getAttribute(cg, "unix:ino")).longValue());
        assertThat(c.pids()).containsExactly(4242, 4243);
        assertThat(c.root(fs.resolve("proc"))).contains(fs.resolve("proc/4242/root"));
    }

    @Test
    void pidsOfNestedCgroupsAndMissingContainers() throws Exception {
        Path cg = fixture("/sys/fs/cgroup", "kubepods/pod1/" + ID, "");
        Files.createDirectories(cg.resolve("init"));
        Files.writeString(cg.resolve("init/cgroup.procs"), "77\n");
        CgroupResolver r = new CgroupResolver(fs.resolve("proc"));
        assertThat(r.resolve("containerd://" + ID).orElseThrow().pids()).containsExactly(77);
        assertThat(r.resolve("containerd://" + "a".repeat(64))).isEmpty();
        assertThatThrownBy(() -> r.resolve("containerd://../../etc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void noCgroup2MountIsAnError() throws Exception {
        Path proc = Files.createDirectories(fs.resolve("proc/self"));
        Files.writeString(proc.resolve("mountinfo"), "30 22 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
        CgroupResolver r = new CgroupResolver(fs.resolve("proc"));
        assertThat(r.cgroup2Mount()).isEmpty();
        assertThatThrownBy(() -> r.resolve(ID)).hasMessageContaining("cgroup2");
    }

    @Test
    void mountPointsWithSpacesAreUnescaped() {
        assertThat(CgroupResolver.unescape("/mnt/with\\040space")).isEqualTo("/mnt/with space");
    }

    @Test
    void resolvesThroughABridgeToItsPort() throws Exception {
        RouteResolver r = NetTablesTest.capturedNode(fs, NetTablesTest.ARP);
        assertThat(r.resolve("10.77.0.6")).contains(new RouteResolver.Egress("veth-b", "02:00:0a:4d:00:06", ""));
    }

    @Test
    void probesANeighbourThatIsNotResolvedYetThenUsesIt() throws Exception {
        List<String> probed = new ArrayList<>();
        RouteResolver r = new RouteResolver(fs.resolve("sys/class/net"), fs.resolve("proc/net")) {
            @Override
            protected void probe(String nextHop) {
                probed.add(nextHop);
                try {
                    Files.writeString(fs.resolve("proc/net/arp"), NetTablesTest.ARP.replace(
                            "10.77.0.5        0x1         0x0         00:00:00:00:00:00",
                            "10.77.0.5        0x1         0x2         02:00:0a:4d:00:05"));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        NetTablesTest.capturedNode(fs, NetTablesTest.ARP);
        Files.write(fs.resolve("sys/class/net/br0/brforward"),
                NetTablesTest.hex("02000a4d000501000a00000000000000" + NetTablesTest.BRFORWARD));
        assertThat(r.resolve("10.77.0.5")).contains(new RouteResolver.Egress("veth-a", "02:00:0a:4d:00:05", ""));
        assertThat(probed).containsExactly("10.77.0.5");
    }

    @Test
    void aNeighbourThatStaysUnresolvedIsReportedUnresolved() throws Exception {
        List<String> probed = new ArrayList<>();
        NetTablesTest.capturedNode(fs, NetTablesTest.ARP);
        RouteResolver r = new RouteResolver(fs.resolve("sys/class/net"), fs.resolve("proc/net")) {
            @Override
            protected void probe(String nextHop) {
                probed.add(nextHop);
            }
        };
        assertThat(r.resolve("10.77.0.9")).isEmpty();
        assertThat(probed).containsExactly("10.77.0.9");
    }

    @Test
    void aMacNoPortLearnedIsUnresolved() throws Exception {
        // the neighbour is known but the bridge has no learned entry for it (only local ones)
        RouteResolver r = NetTablesTest.capturedNode(fs, NetTablesTest.ARP.replace("02:00:0a:4d:00:06",
                "62:9c:61:cd:4e:21"));
        assertThat(r.resolve("10.77.0.6")).isEmpty();
    }

    @Test
    void resolvesAPodOnThisMachinesOwnTables() throws Exception {
        // the real kernel tables of the machine running the test: a route to its default gateway (if any) is found
        List<NetTables.Route> routes = NetTables.parseRoutes(RouteResolver.read(Path.of("/proc/net/route")));
        assertThat(routes).isNotEmpty();
        NetTables.Route any = routes.get(0);
        assertThat(NetTables.lookup(routes, NetTables.dotted(any.destination() | 1))).isPresent();
        assertThat(NetTables.arpMac(RouteResolver.read(Path.of("/proc/net/arp")), "0.0.0.0", "lo")).isEmpty();
    }
}
