# SPDX-License-Identifier: Apache-2.0
"""What the cluster suite runs in real pods, reached through kubectl only, and the sensor outside the node.

Pods run the e2e image (``deploy/images/build``): a consumer's UDP sink (``edgerep_e2e.udp_sink``),
the web app (``e2e/apps/webapp.py``) and its users (``edgerep_e2e.web_client``) are started with
``kubectl exec`` and report through JSON files read back the same way; captures leave the pod with
``kubectl cp``; a tree is compared through ``python3 -m edgerep_e2e.files`` run inside each pod.

The sensor is a network namespace (``erc-sensor``) joined to the host by a veth pair whose host end
(``erc-sensor0``) is the stream's ingress interface, as a camera's cable would be.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

from .images import refs
from .proc import Proc, run, start, wait_for

#: Namespace of the scenario pods and EdgeReplicas (the examples' default).
NS = "default"
#: The sensor's namespace, the host end of its link (the ingress interface) and their addresses.
SENSOR_NETNS = "erc-sensor"
SENSOR_LINK = "erc-sensor0"
SENSOR_HOST_IP = "10.218.0.1"
SENSOR_IP = "10.218.0.2"
SENSOR_PREFIX = 30
#: Where the image keeps the web app.
WEBAPP = "/opt/edgerep/e2e/apps/webapp.py"
WEB_PORT = 8080


def pod(name: str, labels: dict, container: str, command: str, *, ready_port: int | None = None) -> dict:
    """A pod of the e2e image running ``command`` (a shell line) in ``container``; with ``ready_port``,
    Ready once /health answers there (the web app)."""
    spec = {
        "name": container,
        "image": refs()["e2e"],
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", command],
    }
    if ready_port:
        spec["readinessProbe"] = {"httpGet": {"path": "/health", "port": ready_port}, "periodSeconds": 1}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [spec]},
    }


def origin_pod(name: str, labels: dict, root: str) -> dict:
    """The web app keeping its files and SQLite database under ``root``, container "web"."""
    return pod(
        name,
        labels,
        "web",
        f"mkdir -p {root} && exec python3 {WEBAPP} --root {root} --port {WEB_PORT}",
        ready_port=WEB_PORT,
    )


def idle_pod(name: str, labels: dict, container: str, mkdir: str = "/srv") -> dict:
    """A pod whose container only waits (a replica's or a consumer's, whose processes are exec'd)."""
    return pod(name, labels, container, f"mkdir -p {mkdir} && exec sleep infinity")


class Pods:
    """kubectl on the scenario pods of one namespace."""

    def __init__(self, cluster, ns: str = NS):
        self.cluster, self.ns = cluster, ns
        self.containers: dict[str, str] = {}

    def create(self, *manifests: dict, timeout: int = 180) -> None:
        """Apply the pods and wait for them Ready."""
        for m in manifests:
            self.cluster.kubectl("apply", "-n", self.ns, "-f", "-", input=json.dumps(m))
            self.containers[m["metadata"]["name"]] = m["spec"]["containers"][0]["name"]
        names = [f"pod/{m['metadata']['name']}" for m in manifests]
        r = self.cluster.kubectl(
            "wait",
            "-n",
            self.ns,
            "--for=condition=Ready",
            *names,
            f"--timeout={timeout}s",
            check=False,
            timeout=timeout + 30,
        )
        if r.returncode != 0:
            raise AssertionError(
                f"pods not Ready: {r.stderr}\n"
                + self.cluster.kubectl("describe", "-n", self.ns, *names, check=False).stdout[-6000:]
            )

    def exec(self, name: str, *cmd: str, check: bool = True, timeout: float = 120):
        return self.cluster.kubectl(
            "exec", "-n", self.ns, name, "-c", self.containers[name], "--", *cmd, check=check, timeout=timeout
        )

    def sh(self, name: str, script: str, timeout: float = 120) -> str:
        """Run a shell line in the pod; its stdout."""
        return self.exec(name, "sh", "-c", script, timeout=timeout).stdout

    def background(self, name: str, cmd: list[str], log: str) -> int:
        """Start ``cmd`` in the pod, detached, its output in ``log``; its pid in the container."""
        line = f"{shlex.join(cmd)} >{shlex.quote(log)} 2>&1 & echo $!"
        return int(self.sh(name, line).split()[-1])

    def terminate(self, name: str, pid: int) -> None:
        """SIGTERM to a process of the pod (the shell's kill: the image has no procps)."""
        self.exec(name, "sh", "-c", f"kill {pid}", check=False)

    def read_json(self, name: str, path: str) -> dict | None:
        r = self.exec(name, "cat", path, check=False)
        try:
            return json.loads(r.stdout) if r.returncode == 0 else None
        except ValueError:
            return None  # read while being replaced

    def copy_out(self, name: str, path: str, dest: Path) -> Path:
        self.cluster.kubectl(
            "cp", "-c", self.containers[name], f"{self.ns}/{name}:{path}", str(dest), timeout=300
        )
        return dest

    def tree(self, name: str, root: str) -> dict[str, str]:
        """edgerep_e2e.files.tree_digest of ``root`` as the pod sees it."""
        return json.loads(self.exec(name, "python3", "-m", "edgerep_e2e.files", root).stdout)

    def ip(self, name: str) -> str:
        return self.cluster.kubectl(
            "get", "pod", "-n", self.ns, name, "-o", "jsonpath={.status.podIP}"
        ).stdout

    def delete(self, *names: str) -> None:
        self.cluster.kubectl(
            "delete",
            "pod",
            "-n",
            self.ns,
            *names,
            "--ignore-not-found",
            "--wait=true",
            check=False,
            timeout=180,
        )


class Sink:
    """A udp_sink in a consumer pod keeping what arrives on ``port`` in ``out`` (and out.sizes, out.json)."""

    def __init__(self, pods: Pods, name: str, out: str, port: int):
        self.pods, self.name, self.out = pods, name, out
        self.pid = pods.background(
            name, ["python3", "-m", "edgerep_e2e.udp_sink", "--port", str(port), "--out", out], out + ".log"
        )
        wait_for(f"the sink in {name}", lambda: self.summary() is not None, timeout=30)

    def summary(self) -> dict | None:
        """packets, bytes, first and last arrival (epoch seconds), and stopped once it has."""
        return self.pods.read_json(self.name, self.out + ".json")

    def received(self) -> int:
        return (self.summary() or {}).get("packets", 0)

    def stop(self) -> dict:
        """SIGTERM: what had arrived is on disk once its last summary says stopped."""
        self.pods.terminate(self.name, self.pid)
        return wait_for(
            f"the sink in {self.name} to stop",
            lambda: (s := self.summary()) is not None and s.get("stopped") and s,
            timeout=30,
        )

    def fetch(self, dest: Path) -> Path:
        """The capture and its sizes file, copied to ``dest`` (a directory); the capture's path there."""
        dest.mkdir(parents=True, exist_ok=True)
        local = dest / f"{self.name}-{Path(self.out).name}"
        self.pods.copy_out(self.name, self.out, local)
        self.pods.copy_out(self.name, self.out + ".sizes", Path(str(local) + ".sizes"))
        return local


class Writer:
    """The web app's users in the origin pod: POST /items until stopped (or ``count`` of them)."""

    def __init__(self, pods: Pods, name: str, tag: str, count: int = 0, interval: float = 0.05):
        self.pods, self.name = pods, name
        self.progress = f"/tmp/writer-{tag}.json"
        cmd = ["python3", "-m", "edgerep_e2e.web_client", "--count", str(count), "--tag", tag]
        cmd += ["--interval", str(interval), "--progress", self.progress]
        self.pid = pods.background(name, cmd, f"/tmp/writer-{tag}.log")

    def summary(self) -> dict:
        return self.pods.read_json(self.name, self.progress) or {"stored": 0, "stopped": False, "error": None}

    def wait(self, timeout: float = 600) -> dict:
        """Until it has made its ``count`` requests (or failed)."""
        return wait_for(
            f"the writer in {self.name}", lambda: (s := self.summary())["stopped"] and s, timeout=timeout
        )

    def stop(self) -> dict:
        self.pods.terminate(self.name, self.pid)
        return self.wait(timeout=30)


class Sensor:
    """A network namespace outside the node with a veth into the host: the camera. Removed on exit."""

    def __enter__(self) -> "Sensor":
        try:
            run(["ip", "netns", "add", SENSOR_NETNS])
            run(
                [
                    "ip",
                    "link",
                    "add",
                    SENSOR_LINK,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    SENSOR_NETNS,
                ]
            )
            run(["ip", "addr", "add", f"{SENSOR_HOST_IP}/{SENSOR_PREFIX}", "dev", SENSOR_LINK])
            run(["ip", "link", "set", SENSOR_LINK, "up"])
            for cmd in (
                ["ip", "addr", "add", f"{SENSOR_IP}/{SENSOR_PREFIX}", "dev", "eth0"],
                ["ip", "link", "set", "eth0", "up"],
                ["ip", "link", "set", "lo", "up"],
            ):
                run(cmd, netns=SENSOR_NETNS)
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    @staticmethod
    def remove() -> None:
        run(["ip", "netns", "del", SENSOR_NETNS], check=False)
        run(["ip", "link", "del", SENSOR_LINK], check=False)

    @staticmethod
    def leftovers() -> list[str]:
        found = []
        if Path("/run/netns", SENSOR_NETNS).exists():
            found.append(f"netns {SENSOR_NETNS}")
        if run(["ip", "link", "show", SENSOR_LINK], check=False).returncode == 0:
            found.append(f"link {SENSOR_LINK}")
        return found

    def send(self, command: list[str], log_dir: Path) -> Proc:
        """Start a sender (``media.sender_command`` to SENSOR_HOST_IP) in the sensor's namespace."""
        return start("sensor", command, log_dir=log_dir, netns=SENSOR_NETNS)
