# SPDX-License-Identifier: Apache-2.0
"""A real one-node Kubernetes cluster on this machine, torn down to the state it found.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (its
own root, state and socket), the kubelet (cgroupfs driver), kube-proxy
(iptables mode) and CoreDNS run as host processes. The API server, the kubelet
and CoreDNS listen on the gateway address of a bridge the harness creates
(pods reach them there); etcd and every other listener on 127.0.0.1. Pods get
addresses on that bridge from Debian's CNI plugins.

Teardown undoes everything even after a failure: processes, mounts under the
kubelet's and containerd's directories, pod network namespaces, the bridge,
packet-filter rules (restored from a snapshot), sysctls the kubelet and
kube-proxy change, the bpffs propagation change and the agent's state
directory.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from .cluster_workloads import Sensor
from .controlplane import API_PORT, SERVICE_RANGE, apiserver_cmd, etcd_cmd, kube_bin_dir, make_certs
from .proc import Proc, run, start, stop_all, wait_for

log = logging.getLogger("edgerep.e2e")

PREFIX = "erc"
BRIDGE = f"{PREFIX}-br0"
GATEWAY = "10.217.0.1"
POD_SUBNET = "10.217.0.0/24"
API_SERVICE_IP = "10.215.0.1"
NODE = f"{PREFIX}-node1"
# sysctls the kubelet and kube-proxy set; restored at teardown
SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/conf/all/route_localnet",
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/netfilter/nf_conntrack_max",
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
)
STATE_DIR = Path("/var/lib/edgerep")
# the chart's default dataplane.pinDir
PIN_DIR = Path("/sys/fs/bpf/edgerep")
LOG_DIRS = ("/var/log/pods", "/var/log/containers")


def node_bin_dir() -> Path:
    """kubelet, kube-proxy, kube-controller-manager, kube-scheduler and coredns (e2e/cluster/build-node-binaries)."""
    version = kube_bin_dir().parent.name.split("-")[0]
    d = Path(os.environ.get("EDGEREP_NODE_BIN_DIR", Path.home() / ".cache" / "edgerep" / f"node-{version}"))
    if not (d / "kubelet").exists():
        raise RuntimeError(f"no kubelet in {d}: run e2e/cluster/build-node-binaries")
    return d


def _read_sysctls() -> dict[str, str]:
    out = {}
    for name in SYSCTLS:
        p = Path("/proc/sys") / name
        if p.exists():
            out[name] = p.read_text().strip()
    return out


def _mounts_under(prefix: str) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix.rstrip("/") + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def _bpffs_shared() -> bool:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        f = line.split()
        if f[4] == "/sys/fs/bpf":
            return any(opt.startswith("shared:") for opt in f[6 : f.index("-")])
    return False


class Snapshot:
    """What the machine looked like before the cluster: restored by :meth:`restore`."""

    def __init__(self) -> None:
        self.sysctls = _read_sysctls()
        self.iptables = {t: run([t + "-save"], check=False).stdout for t in ("iptables", "ip6tables")}
        self.nft = (
            run(["nft", "list", "tables"], check=False).stdout.split("\n") if shutil.which("nft") else []
        )
        self.bpffs_shared = _bpffs_shared()
        self.state_dir_existed = STATE_DIR.exists()
        self.pin_dir_existed = PIN_DIR.exists()
        self.netns = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
        # the kubelet writes container logs under /var/log/pods and links them from /var/log/containers
        self.logs = {d: set(os.listdir(d)) if os.path.isdir(d) else None for d in LOG_DIRS}

    def restore(self) -> list[str]:
        """Puts back what changed; returns what it had to put back (for the log)."""
        undone = []
        for name, value in self.sysctls.items():
            p = Path("/proc/sys") / name
            if p.exists() and p.read_text().strip() != value:
                p.write_text(value)
                undone.append(f"sysctl {name}={value}")
        for tool, saved in self.iptables.items():
            if run([tool + "-save"], check=False).stdout != saved and saved:
                run([tool + "-restore"], input=saved, check=False)
                undone.append(tool)
        if shutil.which("nft"):
            for line in run(["nft", "list", "tables"], check=False).stdout.split("\n"):
                if line.strip() and line not in self.nft:
                    run(["nft", "delete", "table", *line.split()[1:]], check=False)
                    undone.append(f"nft {line.strip()}")
        for d, before in self.logs.items():
            if not os.path.isdir(d):
                continue
            for entry in set(os.listdir(d)) - (before or set()):
                p = Path(d) / entry
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
            if before is None:
                os.rmdir(d)
        if not self.bpffs_shared and _bpffs_shared():
            run(["mount", "--make-private", "/sys/fs/bpf"], check=False)
            undone.append("bpffs propagation")
        if not self.pin_dir_existed and PIN_DIR.exists():
            # pinned maps the chart's loader left (helm uninstall does not remove them yet)
            shutil.rmtree(PIN_DIR, ignore_errors=True)
            undone.append(str(PIN_DIR))
        if not self.state_dir_existed and STATE_DIR.exists():
            shutil.rmtree(STATE_DIR, ignore_errors=True)
            undone.append(str(STATE_DIR))
        return undone


class Cluster:
    """The node and its control plane; a context manager that always tears down."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.pki = workdir / "pki"
        self.kubeconfig = workdir / "kubeconfig"
        self.kube_bin = kube_bin_dir()
        self.node_bin = node_bin_dir()
        self.sock = workdir / "containerd" / "containerd.sock"
        self.kubelet_dir = workdir / "kubelet"
        self.procs: dict[str, Proc] = {}
        self.snapshot: Snapshot | None = None

    # --- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> "Cluster":
        self.snapshot = Snapshot()
        try:
            self.start()
        except BaseException:
            self.tail_logs()
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            self.tail_logs()
        self.stop()

    def start(self) -> None:
        for d in (self.logs, self.kubelet_dir, self.workdir / "cni"):
            d.mkdir(parents=True, exist_ok=True)
        make_certs(self.pki, ips=(GATEWAY, API_SERVICE_IP))
        self._bridge()
        # the agent's bidirectional bpffs mount needs a shared mount under it
        run(["mount", "--make-shared", "/sys/fs/bpf"])
        self._write_kubeconfig()
        self._etcd()
        self._apiserver()
        self._controllers()
        self._containerd()
        self._kubelet()
        self._proxy_and_dns()
        wait_for(
            f"node {NODE} Ready",
            lambda: self.kubectl(
                "get",
                "node",
                NODE,
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                check=False,
            ).stdout
            == "True",
            timeout=120,
            interval=1,
            proc=self.procs["kubelet"],
        )
        log.info("node %s Ready", NODE)

    def stop(self) -> None:
        """Everything the cluster made goes away, whatever state it is in."""
        # pods first: the kubelet and containerd stop their containers; whatever is left is killed below
        kubelet = self.procs.pop("kubelet", None)
        stop_all([kubelet] + list(self.procs.values()), timeout=15)
        self.procs.clear()
        self._kill_shims()
        for point in _mounts_under(str(self.workdir)):
            run(["umount", "-l", point], check=False)
        self._remove_pod_netns()
        run(["ip", "link", "del", BRIDGE], check=False)
        if shutil.which(str(self.node_bin / "kube-proxy")):
            run([str(self.node_bin / "kube-proxy"), "--cleanup"], check=False)
        if self.snapshot is not None:
            undone = self.snapshot.restore()
            if undone:
                log.info("restored: %s", ", ".join(undone))
        self._remove_cgroups()
        shutil.rmtree(self.workdir / "containerd", ignore_errors=True)
        shutil.rmtree(self.kubelet_dir, ignore_errors=True)

    # --- components ------------------------------------------------------------------
    def _bridge(self) -> None:
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        run(["ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE])
        run(["ip", "link", "set", BRIDGE, "up"])
        # Service addresses route to the bridge (kube-proxy rewrites them there): none may leave by the default route
        run(["ip", "route", "add", SERVICE_RANGE, "dev", BRIDGE, "src", GATEWAY])

    def _write_kubeconfig(self) -> None:
        p = self.pki
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "cluster",
                    "clusters": [
                        {
                            "name": "cluster",
                            "cluster": {
                                "server": f"https://{GATEWAY}:{API_PORT}",
                                "certificate-authority": f"{p}/ca.crt",
                            },
                        }
                    ],
                    "users": [
                        {
                            "name": "admin",
                            "user": {"client-certificate": f"{p}/admin.crt", "client-key": f"{p}/admin.key"},
                        }
                    ],
                    "contexts": [{"name": "cluster", "context": {"cluster": "cluster", "user": "admin"}}],
                }
            )
        )

    def _start(self, name: str, cmd: list[str]) -> Proc:
        proc = start(name, cmd, log_dir=self.logs)
        self.procs[name] = proc
        return proc

    def _etcd(self) -> None:
        self._start("etcd", etcd_cmd(self.kube_bin, self.workdir / "etcd"))

    def _apiserver(self) -> None:
        p = self.pki
        api = self._start(
            "kube-apiserver",
            apiserver_cmd(
                self.kube_bin,
                p,
                GATEWAY,
                f"--kubelet-client-certificate={p}/admin.crt",
                f"--kubelet-client-key={p}/admin.key",
                "--kubelet-preferred-address-types=InternalIP",
                "--authorization-mode=Node,RBAC",
            ),
        )
        wait_for(
            "the API server to be ready",
            lambda: self.kubectl("get", "--raw", "/readyz", check=False).stdout.strip() == "ok",
            timeout=120,
            interval=0.5,
            proc=api,
        )

    def _controllers(self) -> None:
        p = self.pki
        common = [f"--kubeconfig={self.kubeconfig}", "--leader-elect=false", "--bind-address=127.0.0.1"]
        self._start(
            "kube-controller-manager",
            [
                str(self.node_bin / "kube-controller-manager"),
                *common,
                f"--service-account-private-key-file={p}/sa.key",
                f"--root-ca-file={p}/ca.crt",
                f"--service-cluster-ip-range={SERVICE_RANGE}",
                "--use-service-account-credentials=false",
            ],
        )
        self._start("kube-scheduler", [str(self.node_bin / "kube-scheduler"), *common])

    def _containerd(self) -> None:
        root = self.workdir / "containerd"
        cni = self.workdir / "cni"
        (cni / "10-edgerep.conflist").write_text(
            json.dumps(
                {
                    "cniVersion": "1.0.0",
                    "name": "edgerep-cluster",
                    "plugins": [
                        {
                            "type": "bridge",
                            "bridge": BRIDGE,
                            "isGateway": True,
                            # pods reach Service addresses (and the API server) through the node
                            "isDefaultGateway": True,
                            "ipMasq": False,
                            "ipam": {
                                "type": "host-local",
                                "ranges": [
                                    [{"subnet": POD_SUBNET, "gateway": GATEWAY, "rangeStart": "10.217.0.10"}]
                                ],
                                "dataDir": str(self.workdir / "cni-ipam"),
                            },
                        },
                        {"type": "portmap", "capabilities": {"portMappings": True}},
                    ],
                }
            )
        )
        from .images import pause_ref  # noqa: PLC0415 - the chart's references, read when a cluster starts

        config = f"""version = 2
root = "{root}/root"
state = "{root}/state"
[grpc]
  address = "{self.sock}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_ref()}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  disable_tcp_service = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
"""
        root.mkdir(parents=True, exist_ok=True)
        (root / "config.toml").write_text(config)
        proc = self._start("containerd", ["containerd", "--config", str(root / "config.toml")])
        wait_for(
            "containerd",
            lambda: self.ctr("version", check=False).returncode == 0,
            timeout=30,
            proc=proc,
        )

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ctr", "--address", str(self.sock), "-n", "k8s.io", *args], check=check, timeout=300)

    def import_images(self, archives: list[Path]) -> None:
        for a in archives:
            self.ctr("images", "import", str(a))

    def _kubelet(self) -> None:
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": GATEWAY,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(self.pki / "ca.crt")},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(self.pki / "apiserver.crt"),
            "tlsPrivateKeyFile": str(self.pki / "apiserver.key"),
            "cgroupDriver": "cgroupfs",
            "failCgroupV1": False,
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.sock}",
            "clusterDNS": [GATEWAY],
            "clusterDomain": "cluster.local",
            "resolvConf": "/etc/resolv.conf",
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
            "protectKernelDefaults": False,
        }
        (self.workdir / "kubelet.json").write_text(json.dumps(config))
        self._start(
            "kubelet",
            [
                str(self.node_bin / "kubelet"),
                f"--config={self.workdir / 'kubelet.json'}",
                f"--kubeconfig={self.kubeconfig}",
                f"--root-dir={self.kubelet_dir}",
                f"--hostname-override={NODE}",
                f"--node-ip={GATEWAY}",
                "--node-labels=edgerep.io/edge=true",
                "--v=1",
            ],
        )

    def _proxy_and_dns(self) -> None:
        self._start(
            "kube-proxy",
            [
                str(self.node_bin / "kube-proxy"),
                f"--kubeconfig={self.kubeconfig}",
                "--proxy-mode=iptables",
                f"--hostname-override={NODE}",
                f"--cluster-cidr={POD_SUBNET}",
                "--conntrack-max-per-core=0",
                "--metrics-bind-address=127.0.0.1:10249",
                "--healthz-bind-address=127.0.0.1:10256",
            ],
        )
        corefile = self.workdir / "Corefile"
        corefile.write_text(
            f""".:53 {{
    bind {GATEWAY}
    errors
    kubernetes cluster.local in-addr.arpa {{
        kubeconfig {self.kubeconfig} cluster
        fallthrough in-addr.arpa
    }}
    forward . /etc/resolv.conf
    cache 5
}}
"""
        )
        self._start("coredns", [str(self.node_bin / "coredns"), "-conf", str(corefile)])

    # --- teardown helpers --------------------------------------------------------------
    def _kill_shims(self) -> None:
        """containerd-shim processes of this containerd (they outlive it by design)."""
        root = str(self.workdir / "containerd")
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline and b"containerd-shim" in cmdline[0] and any(root.encode() in a for a in cmdline):
                try:
                    os.killpg(int(pid), 9)
                except (ProcessLookupError, PermissionError):
                    os.kill(int(pid), 9)
        # the pod processes the shims ran: any process left in the kubepods cgroups
        for procs in Path("/sys/fs/cgroup").glob("*/kubepods/**/cgroup.procs"):
            for pid in procs.read_text().split():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass

    def _remove_pod_netns(self) -> None:
        """Network namespaces the CRI made (cni-<uuid>) that were not there before."""
        before = self.snapshot.netns if self.snapshot else set()
        if os.path.isdir("/run/netns"):
            for ns in os.listdir("/run/netns"):
                if ns.startswith("cni-") and ns not in before:
                    run(["ip", "netns", "del", ns], check=False)

    def _remove_cgroups(self) -> None:
        """The kubelet's kubepods hierarchy in every controller (deepest first)."""
        for top in Path("/sys/fs/cgroup").glob("*/kubepods"):
            dirs = sorted((d for d in top.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True)
            for d in dirs + [top]:
                for _ in range(20):
                    try:
                        d.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.1)

    def tail_logs(self) -> None:
        for proc in self.procs.values():
            log.error("--- %s ---\n%s", proc.name, proc.tail(25))

    # --- clients -------------------------------------------------------------------------
    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120):
        return run(
            [str(self.kube_bin / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            check=check,
            timeout=timeout,
        )

    def helm(self, *args: str, check: bool = True, timeout: float = 300):
        helm = Path(os.environ.get("EDGEREP_TOOLS_DIR", Path.home() / ".cache" / "edgerep" / "bin")) / "helm"
        return run([str(helm), "--kubeconfig", str(self.kubeconfig), *args], check=check, timeout=timeout)


def edgerep_attachments() -> list[str]:
    """edgerep's tcx links, tc filters and XDP programs on the host's interfaces (its programs are named stream_*)."""
    from edgerep_loader import stream_sys  # noqa: PLC0415 - bpf(2) helpers of the loader, for the tcx chain

    found = []
    for link in json.loads(run(["ip", "-d", "-j", "link", "show"]).stdout):
        name = link["ifname"]
        for prog in stream_sys.tcx_prog_ids(link["ifindex"]):
            info = stream_sys.prog_info_by_id(prog)
            if info is not None and info.name.startswith("stream_"):
                found.append(f"tcx ingress {info.name} on {name}")
        xdp = link.get("xdp", {})
        progs = [xdp.get("prog", {})] + [a.get("prog", {}) for a in xdp.get("attached", [])]
        if any(p.get("name", "").startswith("stream_") for p in progs):
            found.append(f"xdp on {name}")
        for hook in ("ingress", "egress"):
            out = run(["tc", "filter", "show", "dev", name, hook], check=False).stdout
            if "stream_" in out:
                found.append(f"tc {hook} filter on {name}")
    return found


def leftovers() -> list[str]:
    """What a cluster run could leave on the machine; empty when it left nothing."""
    found = edgerep_attachments()
    if run(["ip", "link", "show", BRIDGE], check=False).returncode == 0:
        found.append(f"link {BRIDGE}")
    for top in Path("/sys/fs/cgroup").glob("*/kubepods"):
        found.append(str(top))
    for name in ("kubelet", "kube-proxy", "kube-apiserver", "containerd-shim-runc-v2", "coredns"):
        r = run(["pgrep", "-f", f"edgerep-cluster-.*{name}|{name}.*edgerep-cluster-"], check=False)
        if r.stdout.strip():
            found.append(f"process {name}: {r.stdout.split()}")
    saved = run(["iptables-save"], check=False).stdout
    if "KUBE-" in saved:
        found.append("iptables KUBE- chains")
    for d in LOG_DIRS:
        if os.path.isdir(d) and any(
            e.startswith(("edgerep-system_", "erc-")) or "edgerep" in e for e in os.listdir(d)
        ):
            found.append(f"container logs in {d}")
    for m in _mounts_under("/"):
        if "edgerep-cluster-" in m:
            found.append(f"mount {m}")
    found += Sensor.leftovers()  # the scenarios' camera, outside the node
    return found
