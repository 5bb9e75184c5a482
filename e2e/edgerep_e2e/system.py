# SPDX-License-Identifier: Apache-2.0
"""edgerep itself on the topology: the packaged operator, and one loader and one agent per node.

The operator runs in the control-plane namespace against the real API server.
Each node's loader and agent join only the node's network namespace (not a
private mount namespace), so they see the host's bpffs, tracefs and cgroup
tree as on a real node; the agent reads the node's interfaces from a sysfs
mounted for that namespace. Agents bootstrap like in a cluster: each has an
agent Pod object on its node and a projected-style token bound to it.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .controlplane import AGENT_AUDIENCE, ControlPlane
from .proc import Proc, run, start, stop_all, wait_for
from .topology import CTL_IP, Node, Pod, Topology

log = logging.getLogger("edgerep.e2e")

REPO = Path(__file__).resolve().parents[2]
SYSTEM_NAMESPACE = "edgerep-system"
AGENT_SA = "edgerep-agent"
AGENT_POD_LABEL = ("app.kubernetes.io/name", "edgerep-agent")
OPERATOR_GRPC_PORT = 9443
AGENT_REPLICATION_PORT = 9444
LOADER_METRICS_PORT = 9465
JAVA = shutil.which("java") or "/usr/bin/java"

#: Prints "tcx <name>" for each program on the tcx ingress chain of the interface argv[1]
#: (argv[2]: the loader's package directory).
TCX_PROGRAMS = (
    "import socket, sys\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "from edgerep_loader import stream_sys as ss\n"
    "for i in ss.tcx_prog_ids(socket.if_nametoindex(sys.argv[1])):\n"
    "    print('tcx', ss.prog_info_by_id(i).name)\n"
)


def _jar(module: str) -> Path:
    jar = REPO / module / "target" / "quarkus-app" / "quarkus-run.jar"
    if not jar.exists():
        raise RuntimeError(f"{jar} is missing: run `make build` first")
    return jar


@dataclass
class NodeRuntime:
    """The processes and files of one node's edgerep components."""

    node: Node
    dir: Path
    pin_dir: str
    sysfs: Path
    loader: Proc | None = None
    agent: Proc | None = None

    @property
    def socket(self) -> Path:
        return self.dir / "loader.sock"


class EdgeSystem:
    """Starts, kills and restarts edgerep's processes on a topology; always cleans up."""

    def __init__(self, topology: Topology, control: ControlPlane, workdir: Path):
        self.topology = topology
        self.control = control
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.operator: Proc | None = None
        self.nodes: dict[str, NodeRuntime] = {}

    # --- operator ---------------------------------------------------------
    def start_operator(self) -> Proc:
        self.control.apply_json(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}}
        )
        self.control.kubectl("apply", "--server-side", "-f", str(REPO / "deploy" / "crds"))
        env = {
            "KUBECONFIG": str(self.control.kubeconfig),
            "EDGEREP_NAMESPACE": SYSTEM_NAMESPACE,
            "EDGEREP_GRPC_HOST": CTL_IP,
            "EDGEREP_GRPC_PORT": str(OPERATOR_GRPC_PORT),
            "EDGEREP_AGENT_AUDIENCE": AGENT_AUDIENCE,
            "EDGEREP_AGENT_SERVICE_ACCOUNT": AGENT_SA,
            "EDGEREP_AGENT_POD_LABEL": "=".join(AGENT_POD_LABEL),
            "QUARKUS_HTTP_HOST": CTL_IP,
            "QUARKUS_HTTP_PORT": "8080",
        }
        self.operator = start(
            "operator",
            [JAVA, "-Xmx512m", "-jar", str(_jar("operator"))],
            log_dir=self.logs,
            netns=self.topology.ctl,
            env=env,
        )
        wait_for("the operator's CA Secret", self.operator_ca, timeout=120, interval=0.5, proc=self.operator)
        return self.operator

    def operator_ca(self) -> str:
        out = self.control.kubectl(
            "get",
            "secret",
            "edgerep-ca",
            "-n",
            SYSTEM_NAMESPACE,
            "-o",
            "jsonpath={.data.tls\\.crt}",
            check=False,
        )
        return base64.b64decode(out.stdout).decode() if out.returncode == 0 and out.stdout else ""

    # --- nodes --------------------------------------------------------------
    def _runtime(self, node: Node) -> NodeRuntime:
        if node.name not in self.nodes:
            d = self.workdir / "nodes" / node.name
            d.mkdir(parents=True, exist_ok=True)
            self.nodes[node.name] = NodeRuntime(
                node, d, f"/sys/fs/bpf/{self.topology.base}-{node.name}", d / "sys"
            )
        return self.nodes[node.name]

    def start_loader(self, node: Node) -> Proc:
        rt = self._runtime(node)
        rt.loader = start(
            f"{node.name}-loader",
            [
                "nsenter",
                f"--net=/run/netns/{node.netns}",
                "--",
                "/usr/bin/python3",
                "-m",
                "edgerep_loader",
                "--socket",
                str(rt.socket),
                "--pin-dir",
                rt.pin_dir,
                "--metrics-addr",
                f"{node.ip}:{LOADER_METRICS_PORT}",
            ],
            log_dir=self.logs,
            env={"PYTHONPATH": str(REPO / "bpf" / "loader")},
        )
        wait_for(f"{node.name}'s loader socket", rt.socket.exists, timeout=60, proc=rt.loader)
        return rt.loader

    def _agent_identity(self, node: Node, rt: NodeRuntime) -> tuple[Path, Path]:
        """Agent Pod object on the node, a token bound to it, and the operator's CA."""
        pod = f"edgerep-agent-{node.name}"
        self.control.apply_json(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": AGENT_SA, "namespace": SYSTEM_NAMESPACE},
            }
        )
        self.control.apply_json(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod, "namespace": SYSTEM_NAMESPACE, "labels": dict([AGENT_POD_LABEL])},
                "spec": {
                    "nodeName": node.name,
                    "serviceAccountName": AGENT_SA,
                    "automountServiceAccountToken": False,
                    "containers": [{"name": "agent", "image": "edgerep/agent:e2e"}],
                },
            }
        )
        token = self.control.kubectl(
            "create",
            "token",
            AGENT_SA,
            "-n",
            SYSTEM_NAMESPACE,
            "--audience",
            AGENT_AUDIENCE,
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            pod,
            "--duration",
            "1h",
        ).stdout.strip()
        token_file = rt.dir / "token"
        token_file.write_text(token)
        ca_file = rt.dir / "ca.crt"
        ca_file.write_text(self.operator_ca())
        return token_file, ca_file

    def _mount_sysfs(self, node: Node, rt: NodeRuntime) -> None:
        """A sysfs tagged with the node's network namespace: the agent reads its interfaces there."""
        if os.path.ismount(rt.sysfs):
            return
        rt.sysfs.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "nsenter",
                f"--net=/run/netns/{node.netns}",
                "--",
                "mount",
                "-t",
                "sysfs",
                "sysfs",
                str(rt.sysfs),
            ],
            check=True,
        )

    def start_agent(self, node: Node) -> Proc:
        rt = self._runtime(node)
        self._mount_sysfs(node, rt)
        token_file, ca_file = self._agent_identity(node, rt)
        env = {
            "EDGEREP_AGENT_NODE_NAME": node.name,
            "EDGEREP_AGENT_OPERATOR_TARGET": f"{CTL_IP}:{OPERATOR_GRPC_PORT}",
            "EDGEREP_AGENT_TOKEN_FILE": str(token_file),
            "EDGEREP_AGENT_CA_FILE": str(ca_file),
            "EDGEREP_AGENT_LOADER_TARGET": f"unix:{rt.socket}",
            "EDGEREP_AGENT_STATE_DIR": str(rt.dir / "state"),
            "EDGEREP_AGENT_REPLICATION_ENDPOINT": f"{node.ip}:{AGENT_REPLICATION_PORT}",
            "EDGEREP_AGENT_SYS_CLASS_NET": str(rt.sysfs / "class" / "net"),
            "QUARKUS_HTTP_HOST": node.ip,
            "QUARKUS_HTTP_PORT": "8081",
        }
        rt.agent = start(
            f"{node.name}-agent",
            ["nsenter", f"--net=/run/netns/{node.netns}", "--", JAVA, "-Xmx384m", "-jar", str(_jar("agent"))],
            log_dir=self.logs,
            env=env,
        )
        return rt.agent

    def start_node(self, node: Node) -> None:
        self.start_loader(node)
        self.start_agent(node)

    # --- the whole thing -----------------------------------------------------
    def start(self) -> None:
        self.start_operator()
        for node in self.topology.nodes:
            self.start_node(node)

    def stop(self) -> None:
        """Stop every process, unmount, and remove the pinned kernel state of the run."""
        # agents before loaders before the operator, each kind on every node at once
        stop_all([rt.agent for rt in self.nodes.values()])
        stop_all([rt.loader for rt in self.nodes.values()])
        stop_all([self.operator])
        for rt in self.nodes.values():
            if os.path.ismount(rt.sysfs):
                subprocess.run(["umount", "-l", str(rt.sysfs)], check=False)
            shutil.rmtree(rt.pin_dir, ignore_errors=True)

    # --- crashes and restarts (faults) ----------------------------------------
    def restart_operator(self) -> Proc:
        """SIGKILL the operator (as a crash would) and start it again."""
        assert self.operator is not None
        self.operator.kill()
        return self.start_operator()

    def kill_agent(self, node: Node) -> None:
        rt = self._runtime(node)
        assert rt.agent is not None
        rt.agent.kill()

    def kill_loader(self, node: Node) -> None:
        rt = self._runtime(node)
        assert rt.loader is not None
        rt.loader.kill()
        # a crashed loader leaves its socket file behind; start_loader waits for a fresh one
        rt.socket.unlink(missing_ok=True)

    # --- what the kernel holds, as the loader reports it -------------------------
    def loader_call(self, node: Node, method: str, timeout: float = 10):
        """Call one of the Loader service's List* methods on a node's loader over its unix socket."""
        import grpc  # the loader's own stubs and grpc, from bpf/loader on PYTHONPATH
        from edgerep.v1 import loader_pb2, loader_pb2_grpc

        rt = self._runtime(node)
        with grpc.insecure_channel(f"unix:{rt.socket}") as channel:
            stub = loader_pb2_grpc.LoaderStub(channel)
            return getattr(stub, method)(getattr(loader_pb2, f"{method}Request")(), timeout=timeout)

    def loader_streams(self, node: Node):
        """The loader's ListStreams: programmed streams (with consumers) and replicator attachments."""
        return self.loader_call(node, "ListStreams")

    def loader_traces(self, node: Node):
        """The loader's ListTraces: traced cgroups and path prefixes per replication id."""
        return self.loader_call(node, "ListTraces")

    def tc_ingress_filters(self, node: Node, interface: str = "eth0") -> str:
        """`tc filter show` on the ingress hook of a node's interface, then the programs of its tcx
        chain, which `tc` does not list ("" when nothing is attached)."""
        filters = run(["tc", "filter", "show", "dev", interface, "ingress"], netns=node.netns).stdout.strip()
        tcx = run(
            ["/usr/bin/python3", "-c", TCX_PROGRAMS, interface, str(REPO / "bpf" / "loader")],
            netns=node.netns,
        ).stdout.strip()
        return "\n".join(x for x in (filters, tcx) if x)

    def xdp_attached(self, node: Node, interface: str = "eth0") -> bool:
        return " xdp" in run(["ip", "link", "show", "dev", interface], netns=node.netns).stdout

    def dump(self, lines: int = 40) -> str:
        """The last lines of every component's log, for a person reading a failure."""
        procs = [self.operator] + [p for rt in self.nodes.values() for p in (rt.loader, rt.agent)]
        return "\n".join(f"--- {p.name}\n{p.tail(lines)}" for p in procs if p is not None)

    def register_pods(self, namespace: str, pods: list[Pod]) -> None:
        for node in self.topology.nodes:
            self.control.register_node(node.name, node.ip)
        for pod in pods:
            self.control.register_pod(namespace, pod)
