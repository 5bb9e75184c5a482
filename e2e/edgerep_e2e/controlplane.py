# SPDX-License-Identifier: Apache-2.0
"""A real kube-apiserver and etcd inside the control-plane namespace, and kubectl for them.

The binaries are the ones `scripts/setup kube` builds from their Go modules.
Certificates are made with openssl for this run only: a CA, the API server's
serving certificate, an admin client certificate, and the service-account
signing key (so TokenRequest and TokenReview work as on a real cluster).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from .proc import Proc, run, start, wait_for
from .topology import CTL_IP, Pod, Topology

log = logging.getLogger("edgerep.e2e")

API_PORT = 6443
SERVICE_RANGE = "10.215.0.0/24"
AGENT_AUDIENCE = "edgerep-agent"


def kube_bin_dir() -> Path:
    """Directory with etcd, kube-apiserver and kubectl (real binaries under bin/)."""
    base = Path(os.environ.get("KUBE_API_TEST_DIR", Path.home() / ".kubeapitest")) / "k8s"
    dirs = sorted(d for d in base.glob("*-linux-amd64") if (d / "bin" / "kube-apiserver").exists())
    if not dirs:
        raise RuntimeError(f"no kube-apiserver under {base}: run `scripts/setup kube`")
    return dirs[-1] / "bin"


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {result.stderr.strip()}")


def make_certs(pki: Path, ips: tuple[str, ...] = (CTL_IP,)) -> None:
    """CA, API server serving cert (SAN: ``ips`` and loopback), admin client cert, SA key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=edgerep-e2e-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=pki,
    )
    (pki / "server.ext").write_text(
        "subjectAltName="
        + "".join(f"IP:{ip}," for ip in ips)
        + "IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth\n"
    )
    (pki / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subj, ext in (
        ("apiserver", "/CN=kube-apiserver", "server.ext"),
        ("admin", "/O=system:masters/CN=edgerep-e2e-admin", "client.ext"),
    ):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            subj,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=pki,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            f"{name}.crt",
            cwd=pki,
        )
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def etcd_cmd(bin_dir: Path, data_dir: Path) -> list[str]:
    """etcd with every listener on loopback."""
    return [
        str(bin_dir / "etcd"),
        "--data-dir",
        str(data_dir),
        "--listen-client-urls",
        "http://127.0.0.1:2379",
        "--advertise-client-urls",
        "http://127.0.0.1:2379",
        "--listen-peer-urls",
        "http://127.0.0.1:2380",
        "--initial-advertise-peer-urls",
        "http://127.0.0.1:2380",
        "--initial-cluster",
        "default=http://127.0.0.1:2380",
        "--listen-metrics-urls",
        "http://127.0.0.1:2381",
    ]


def apiserver_cmd(bin_dir: Path, pki: Path, address: str, *extra: str) -> list[str]:
    """kube-apiserver on address:API_PORT over the etcd of :func:`etcd_cmd`, with the certificates of
    :func:`make_certs` and service-account tokens the agents' audience accepts."""
    p = str(pki)
    return [
        str(bin_dir / "kube-apiserver"),
        "--etcd-servers=http://127.0.0.1:2379",
        f"--bind-address={address}",
        f"--advertise-address={address}",
        f"--secure-port={API_PORT}",
        f"--tls-cert-file={p}/apiserver.crt",
        f"--tls-private-key-file={p}/apiserver.key",
        f"--client-ca-file={p}/ca.crt",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={p}/sa.pub",
        f"--service-account-signing-key-file={p}/sa.key",
        f"--api-audiences=https://kubernetes.default.svc,{AGENT_AUDIENCE}",
        f"--service-cluster-ip-range={SERVICE_RANGE}",
        "--allow-privileged",
        *extra,
    ]


class ControlPlane:
    """etcd + kube-apiserver in the topology's control-plane namespace."""

    def __init__(self, topology: Topology, workdir: Path):
        self.topology = topology
        self.workdir = workdir
        self.pki = workdir / "pki"
        self.kubeconfig = workdir / "kubeconfig"
        self.bin = kube_bin_dir()
        self.procs: list[Proc] = []

    @property
    def server(self) -> str:
        return f"https://{CTL_IP}:{API_PORT}"

    def start(self) -> None:
        make_certs(self.pki)
        logs = self.workdir / "logs"
        etcd = start("etcd", etcd_cmd(self.bin, self.workdir / "etcd"), log_dir=logs, netns=self.topology.ctl)
        self.procs.append(etcd)
        p = str(self.pki)
        api = start(
            "kube-apiserver",
            apiserver_cmd(
                self.bin,
                self.pki,
                CTL_IP,
                "--authorization-mode=RBAC",
                # no controller-manager runs: nothing would create the default service accounts
                "--disable-admission-plugins=ServiceAccount",
            ),
            log_dir=logs,
            netns=self.topology.ctl,
        )
        self.procs.append(api)
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "e2e",
                    "clusters": [
                        {
                            "name": "e2e",
                            "cluster": {"server": self.server, "certificate-authority": f"{p}/ca.crt"},
                        }
                    ],
                    "users": [
                        {
                            "name": "admin",
                            "user": {"client-certificate": f"{p}/admin.crt", "client-key": f"{p}/admin.key"},
                        }
                    ],
                    "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
                }
            )
        )
        wait_for(
            "the API server to be ready",
            lambda: self.kubectl("get", "--raw", "/readyz", check=False).stdout.strip() == "ok",
            timeout=90,
            interval=0.5,
            proc=api,
        )
        log.info("API server ready at %s", self.server)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    # --- kubectl ---------------------------------------------------------------
    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60):
        """Run the real kubectl against this API server (from inside the control-plane namespace)."""
        return run(
            [str(self.bin / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            netns=self.topology.ctl,
            input=input,
            check=check,
            timeout=timeout,
        )

    def apply_json(self, obj: dict) -> None:
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(obj))

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def condition(self, resource: str, namespace: str, type_: str) -> dict:
        """One condition of a resource's status as the API server has it ({} when it has none yet)."""
        status = self.get_json(resource, "-n", namespace).get("status") or {}
        return next((c for c in status.get("conditions", []) if c["type"] == type_), {})

    def delete_pod(self, namespace: str, name: str, force: bool = False) -> None:
        """Delete a Pod object: gracefully (it keeps a deletionTimestamp, as while a kubelet stops its
        containers) or, with ``force``, at once (as the kubelet's final delete)."""
        args = ["delete", "pod", name, "-n", namespace, "--wait=false"]
        if force:
            args += ["--grace-period=0", "--force"]
        self.kubectl(*args)

    # --- cluster objects that a kubelet would maintain ----------------------------
    def register_node(self, name: str, ip: str) -> None:
        self.apply_json(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": {"kubernetes.io/hostname": name, "edgerep.io/edge": "true"},
                },
            }
        )
        now = _now()
        self.kubectl(
            "patch",
            "node",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(
                {
                    "status": {
                        "addresses": [
                            {"type": "InternalIP", "address": ip},
                            {"type": "Hostname", "address": name},
                        ],
                        "conditions": [
                            {
                                "type": "Ready",
                                "status": "True",
                                "reason": "KubeletReady",
                                "lastHeartbeatTime": now,
                                "lastTransitionTime": now,
                            }
                        ],
                    }
                }
            ),
        )

    def register_pod(self, namespace: str, pod: Pod) -> None:
        """Create the Pod object and set the status a kubelet would: node, IP, container ID, Ready."""
        self.apply_json({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        self.apply_json(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod.name, "namespace": namespace, "labels": pod.labels},
                "spec": {
                    "nodeName": pod.node.name,
                    "containers": [{"name": pod.container, "image": "edgerep-e2e/pod:local"}],
                },
            }
        )
        now = _now()
        status = {
            "status": {
                "phase": "Running",
                "hostIP": pod.node.ip,
                "podIP": pod.ip,
                "podIPs": [{"ip": pod.ip}],
                "startTime": now,
                "conditions": [
                    {"type": t, "status": "True", "lastTransitionTime": now}
                    for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
                ],
                "containerStatuses": [
                    {
                        "name": pod.container,
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "image": "edgerep-e2e/pod:local",
                        "imageID": "edgerep-e2e/pod@sha256:" + "0" * 64,
                        "containerID": f"containerd://{pod.container_id}",
                        "state": {"running": {"startedAt": now}},
                    }
                ],
            }
        }
        self.kubectl(
            "patch",
            "pod",
            pod.name,
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
        )


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
