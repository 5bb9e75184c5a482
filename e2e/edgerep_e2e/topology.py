# SPDX-License-Identifier: Apache-2.0
"""Nodes, pods and a sensor as network namespaces on one machine.

::

    fabric ns: bridge br0 ── eth0 of ctl (10.213.0.1), of each node (10.213.0.11, .12, ...)
                             and of the sensor (10.213.0.100)
    node n:    eth0 on the fabric, forwards; one veth "podK" per pod, routes 10.214.n.K/32 to it
    pod:       eth0 10.214.n.K/32, default route via 10.214.n.1 (the node side)

Pod processes run in a cgroup v2 directory named the way containerd names
container scopes, so an agent finds them from the container ID as on a real node.
Each pod has an infra process (as a pause container) holding the pod's network
namespace and a private mount namespace in which the pod's own directory is
mounted on ``/srv``; every process of the pod joins both, so ``/srv`` of an
origin and of its replicas differ although they share one host, and
``/proc/<pid>/root/srv`` reaches a pod's files as it reaches a container's.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgerep_loader.capabilities import cgroup2_mount as loader_cgroup2_mount

from . import PREFIX
from .proc import Proc, run, start, wait_for

log = logging.getLogger("edgerep.e2e")

FABRIC_PREFIX = "10.213.0"
CTL_IP = f"{FABRIC_PREFIX}.1"
SENSOR_IP = f"{FABRIC_PREFIX}.100"
FABRIC_MASK = 24


def cgroup2_mount() -> str:
    """Mount point of the cgroup v2 hierarchy, found as the loader finds it; an error when there is none."""
    mount = loader_cgroup2_mount()
    if not mount:
        raise RuntimeError("no cgroup2 mount found in /proc/self/mountinfo")
    return mount


#: Where each pod sees its own directory (a bind mount inside the pod's mount namespace).
POD_DATA = "/srv"
#: Where a pod made with ``outside=True`` sees a second directory of its own, outside POD_DATA: what a
#: process of the pod can reach beyond its replicated root, without touching the host's own files.
POD_OUTSIDE = "/media"


@dataclass
class Pod:
    """A pod: a namespace behind a veth on its node, with a cgroup for its processes."""

    name: str
    node: "Node"
    index: int
    netns: str
    ip: str
    container_id: str
    cgroup: str
    node_veth: str
    labels: dict = field(default_factory=dict)
    container: str = "main"
    #: the pod's files on the host (what the pod sees at POD_DATA)
    host_dir: Path | None = None
    #: the infra process holding the pod's namespaces
    infra: Proc | None = None
    #: the pod's files at POD_OUTSIDE on the host (pods made with ``outside=True`` only)
    outside_dir: Path | None = None

    @property
    def cgroup_id(self) -> int:
        """The cgroup v2 id the kernel reports for this pod's processes."""
        return os.stat(self.cgroup).st_ino

    def start(self, name: str, cmd: list[str], log_dir: Path, env: dict | None = None) -> Proc:
        """Start a process inside the pod: its cgroup, network and mount namespace."""
        assert self.infra is not None and self.infra.alive(), f"pod {self.name} has no infra process"
        return start(
            f"{self.name}-{name}",
            ["nsenter", "-t", str(self.infra.pid), "-m", "-n", "--", *cmd],
            log_dir=log_dir,
            cgroup=self.cgroup,
            env=env,
        )

    def run(self, cmd: list[str], timeout: float = 60):
        """Run a command to completion inside the pod's namespaces (not its cgroup)."""
        assert self.infra is not None
        return run(["nsenter", "-t", str(self.infra.pid), "-m", "-n", "--", *cmd], timeout=timeout)


@dataclass
class Node:
    """A node: a namespace on the fabric that forwards to its pods."""

    name: str
    index: int
    netns: str
    ip: str
    pods: list[Pod] = field(default_factory=list)

    @property
    def pod_prefix(self) -> str:
        return f"10.214.{self.index}"


class Topology:
    """Builds and tears down the namespaces; a context manager that always cleans up."""

    def __init__(self, node_names: list[str], workdir: Path, tag: str | None = None):
        self.tag = tag or secrets.token_hex(2)
        self.workdir = workdir
        self.base = f"{PREFIX}-{self.tag}"
        self.fabric = f"{self.base}-fabric"
        self.ctl = f"{self.base}-ctl"
        self.sensor = f"{self.base}-sensor"
        self.nodes = [
            Node(n, i + 1, f"{self.base}-{n}", f"{FABRIC_PREFIX}.{10 + i + 1}")
            for i, n in enumerate(node_names)
        ]
        self.cgroup_root = os.path.join(cgroup2_mount(), f"{self.base}.slice")
        self._veths = 0

    # --- lifecycle -------------------------------------------------------
    def __enter__(self) -> "Topology":
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.down()

    def up(self) -> None:
        log.info("topology %s: fabric, control plane, %d nodes, sensor", self.tag, len(self.nodes))
        for ns in [self.fabric, self.ctl, self.sensor] + [n.netns for n in self.nodes]:
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", self.fabric, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", self.fabric, "link", "set", "br0", "up"])
        self._fabric_port(self.ctl, CTL_IP)
        self._fabric_port(self.sensor, SENSOR_IP)
        for node in self.nodes:
            self._fabric_port(node.netns, node.ip)
            run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], netns=node.netns)
            run(["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"], netns=node.netns)
        for node in self.nodes:
            for other in self.nodes:
                if other is not node:
                    run(["ip", "-n", node.netns, "route", "add", f"{other.pod_prefix}.0/24", "via", other.ip])
            run(["ip", "-n", self.ctl, "route", "add", f"{node.pod_prefix}.0/24", "via", node.ip])
            run(["ip", "-n", self.sensor, "route", "add", f"{node.pod_prefix}.0/24", "via", node.ip])
        os.makedirs(self.cgroup_root, exist_ok=True)

    def down(self) -> None:
        """Remove everything this topology created; safe to call twice or on a half-built one."""
        pods = [p for n in self.nodes for p in n.pods]
        for pod in pods:
            _kill_cgroup(pod.cgroup)
        for ns in (
            [p.netns for p in pods] + [n.netns for n in self.nodes] + [self.sensor, self.ctl, self.fabric]
        ):
            _delete_netns(ns)
        for pod in pods:
            _rmdir(pod.cgroup)
        _rmdir(self.cgroup_root)

    @staticmethod
    def remove_leftovers() -> list[str]:
        """Delete namespaces and cgroups of killed runs (by this harness's prefix only)."""
        removed = []
        # sysfs instances mounted for agents, under a killed run's work directory
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            mounts = [line.split(" ")[4] for line in f]
        for mount in reversed(mounts):
            if f"/{PREFIX}-" in mount and not mount.startswith("/run/netns"):
                subprocess.run(["umount", "-l", mount], capture_output=True)
                removed.append(mount)
        for pins in sorted(Path("/sys/fs/bpf").glob(f"{PREFIX}-*")):
            shutil.rmtree(pins, ignore_errors=True)
            removed.append(str(pins))
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            ns = line.split(" ", 1)[0]
            if ns.startswith(PREFIX + "-"):
                _delete_netns(ns)
                removed.append(ns)
        root = cgroup2_mount()
        for entry in sorted(Path(root).glob(f"{PREFIX}-*.slice")):
            for child in entry.iterdir():
                if child.is_dir():
                    _kill_cgroup(str(child))
                    _rmdir(str(child))
            _kill_cgroup(str(entry))
            _rmdir(str(entry))
            removed.append(str(entry))
        return removed

    # --- building blocks ---------------------------------------------------
    def _veth(self, ns_a: str, name_a: str, ns_b: str, name_b: str) -> None:
        """A veth pair with one end in each namespace, named as asked there."""
        self._veths += 1
        tmp_a, tmp_b = f"er{self.tag}{self._veths}a", f"er{self.tag}{self._veths}b"
        run(["ip", "link", "add", tmp_a, "netns", ns_a, "type", "veth", "peer", "name", tmp_b, "netns", ns_b])
        run(["ip", "-n", ns_a, "link", "set", tmp_a, "name", name_a])
        run(["ip", "-n", ns_b, "link", "set", tmp_b, "name", name_b])
        run(["ip", "-n", ns_a, "link", "set", name_a, "up"])
        run(["ip", "-n", ns_b, "link", "set", name_b, "up"])

    def _fabric_port(self, ns: str, ip: str) -> None:
        port = f"p{ns.rsplit('-', 1)[-1]}"[:15]
        self._veth(self.fabric, port, ns, "eth0")
        run(["ip", "-n", self.fabric, "link", "set", port, "master", "br0"])
        run(["ip", "-n", ns, "addr", "add", f"{ip}/{FABRIC_MASK}", "dev", "eth0"])

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def add_pod(
        self,
        node_name: str,
        name: str,
        labels: dict | None = None,
        container: str = "main",
        outside: bool = False,
        data: Path | None = None,
    ) -> Pod:
        """Create a pod namespace behind a veth on ``node_name`` and its cgroup.

        ``outside`` gives the pod a second private directory at POD_OUTSIDE; ``data`` is copied into the
        pod's own directory before anything of the pod runs (a volume that comes with the pod).
        """
        node = self.node(node_name)
        index = len(node.pods) + 2  # .1 is the node side
        netns = f"{self.base}-{name}"
        run(["ip", "netns", "add", netns])
        run(["ip", "-n", netns, "link", "set", "lo", "up"])
        node_veth = f"pod{index}"
        self._veth(node.netns, node_veth, netns, "eth0")
        ip = f"{node.pod_prefix}.{index}"
        gateway = f"{node.pod_prefix}.1"
        run(["ip", "-n", node.netns, "addr", "add", f"{gateway}/32", "dev", node_veth])
        run(["ip", "-n", node.netns, "route", "add", f"{ip}/32", "dev", node_veth])
        run(["ip", "-n", netns, "addr", "add", f"{ip}/32", "dev", "eth0"])
        run(["ip", "-n", netns, "route", "add", gateway, "dev", "eth0"])
        run(["ip", "-n", netns, "route", "add", "default", "via", gateway])
        container_id = secrets.token_hex(32)
        cgroup = os.path.join(self.cgroup_root, f"cri-containerd-{container_id}.scope")
        os.makedirs(cgroup, exist_ok=True)
        host_dir = self.workdir / "pods" / name
        host_dir.mkdir(parents=True, exist_ok=True)
        if data is not None:
            shutil.copytree(data, host_dir, symlinks=True, dirs_exist_ok=True)
        outside_dir = None
        mounts = f'mount --bind "{host_dir}" {POD_DATA}'
        if outside:
            outside_dir = self.workdir / "outside" / name
            outside_dir.mkdir(parents=True, exist_ok=True)
            mounts += f' && mount --bind "{outside_dir}" {POD_OUTSIDE}'
        pod = Pod(
            name,
            node,
            index,
            netns,
            ip,
            container_id,
            cgroup,
            node_veth,
            dict(labels or {}),
            container,
            host_dir,
            outside_dir=outside_dir,
        )
        node.pods.append(pod)
        # `ip netns exec` gives the command a private mount namespace: mount the pod's directory there
        pod.infra = start(
            f"{name}-infra",
            ["sh", "-c", f"{mounts} && exec sleep infinity"],
            log_dir=self.workdir / "logs",
            netns=netns,
            cgroup=cgroup,
        )
        wait_for(
            f"pod {name}'s mount namespace",
            lambda: os.path.samefile(f"/proc/{pod.infra.pid}/root{POD_DATA}", host_dir),
            timeout=10,
            proc=pod.infra,
        )
        return pod

    def remove_pod(self, pod: Pod) -> None:
        if pod.infra is not None:
            pod.infra.kill()
        _kill_cgroup(pod.cgroup)
        _delete_netns(pod.netns)
        _rmdir(pod.cgroup)
        pod.node.pods.remove(pod)


def _netns_pids(ns: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _delete_netns(ns: str) -> None:
    for pid in _netns_pids(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(50):
        if not _netns_pids(ns):
            break
        time.sleep(0.05)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _kill_cgroup(path: str) -> None:
    procs = os.path.join(path, "cgroup.procs")
    for _ in range(50):
        try:
            with open(procs, encoding="ascii") as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _rmdir(path: str) -> None:
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)
    shutil.rmtree(path, ignore_errors=True)
