// SPDX-License-Identifier: Apache-2.0
package io.edgerep.agent.pods;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
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
    void routeNeighbourAndBridgePortParsing() {
        assertThat(RouteResolver.routeDevice("10.1.0.5 dev veth-p1 src 10.1.0.1 uid 0 \\    cache "))
                .contains("veth-p1");
        assertThat(RouteResolver.routeVia("10.2.0.9 via 192.168.1.2 dev eth0 src 192.168.1.1 uid 0"))
                .contains("192.168.1.2");
        assertThat(RouteResolver.neighbourMac("10.1.0.5 lladdr 02:00:0a:01:00:05 REACHABLE"))
                .contains("02:00:0a:01:00:05");
        assertThat(RouteResolver.neighbourMac("10.1.0.6 FAILED")).isEmpty();
        String fdb = String.join("\n", "33:33:00:00:00:01 dev br0 self permanent",
                "02:00:0a:01:00:05 dev br0 vlan 1 master br0 permanent",
                "02:00:0a:01:00:05 dev veth-a master br0 permanent",
                "02:00:0a:01:00:05 dev veth-b master br0 ",
                "02:00:0a:01:00:07 dev veth-c master br0 ");
        assertThat(RouteResolver.fdbPort(fdb, "02:00:0a:01:00:05", "br0")).contains("veth-b");
        assertThat(RouteResolver.fdbPort(fdb, "02:00:0a:01:00:99", "br0")).isEmpty();
    }

    @Test
    void resolvesThroughABridgeToItsPort() throws Exception {
        Files.createDirectories(fs.resolve("net/br0/bridge"));
        Files.createDirectories(fs.resolve("net/veth-b"));
        Deque<String> outputs = new ArrayDeque<>(List.of("10.1.0.5 dev br0 src 10.1.0.1 uid 0 \\    cache ",
                "10.1.0.5 lladdr 02:00:0a:01:00:05 REACHABLE\n", "02:00:0a:01:00:05 dev veth-b master br0 \n"));
        RouteResolver r = new RouteResolver(fs.resolve("net")) {
            @Override
            protected String run(String... cmd) {
                return outputs.pop();
            }
        };
        assertThat(r.resolve("10.1.0.5")).contains(new RouteResolver.Egress("veth-b", "02:00:0a:01:00:05", ""));
    }

    @Test
    void probesANeighbourThatIsNotResolvedYetThenUsesIt() throws Exception {
        Files.createDirectories(fs.resolve("net/pod2"));
        List<String> probed = new ArrayList<>();
        RouteResolver r = scripted(probed, "10.1.0.7 dev pod2 src 10.1.0.1 uid 0 \\    cache ", "",
                "10.1.0.7 lladdr 02:00:0a:01:00:07 REACHABLE\n");
        assertThat(r.resolve("10.1.0.7")).contains(new RouteResolver.Egress("pod2", "02:00:0a:01:00:07", ""));
        assertThat(probed).containsExactly("10.1.0.7");
    }

    @Test
    void aNeighbourThatStaysUnresolvedIsReportedUnresolved() throws Exception {
        List<String> probed = new ArrayList<>();
        RouteResolver r = scripted(probed, "10.1.0.8 dev pod3 src 10.1.0.1 uid 0 \\    cache ", "",
                "10.1.0.8 dev pod3 FAILED\n");
        assertThat(r.resolve("10.1.0.8")).isEmpty();
        assertThat(probed).containsExactly("10.1.0.8");
    }

    /** A resolver whose commands print the given outputs in turn and whose probes are only recorded. */
    private RouteResolver scripted(List<String> probed, String... outputs) {
        Deque<String> queue = new ArrayDeque<>(List.of(outputs));
        return new RouteResolver(fs.resolve("net")) {
            @Override
            protected String run(String... cmd) {
                return queue.pop();
            }

            @Override
            protected void probe(String nextHop) {
                probed.add(nextHop);
            }
        };
    }

    @Test
    void resolvesLoopbackOnThisMachine() throws Exception {
        // the real commands: loopback routes to "lo", which has no neighbour entry, so no egress MAC
        assertThat(
                RouteResolver.routeDevice(new RouteResolver(Path.of("/sys/class/net")).run("ip", "-o", "route", "get",
                        "127.0.0.1")))
                .contains("lo");
    }
}
