# SPDX-License-Identifier: Apache-2.0
"""What the scenarios run in pods: the web app (``e2e/apps/webapp.py``), its pods and requests, a UDP sink."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .manifests import CONSUMER_PORT, WEB_EDGE, WEB_ORIGIN

if TYPE_CHECKING:
    from .proc import Proc
    from .topology import Pod, Topology

E2E = Path(__file__).resolve().parents[1]
WEBAPP = E2E / "apps" / "webapp.py"
#: The port the web app listens on in its pod.
WEB_PORT = 8080


def add_web_pods(
    topo: Topology, replica_nodes: list[str], origin_node: str = "node-a"
) -> tuple[Pod, list[Pod]]:
    """The web app's pods as ``manifests.web_state()`` selects them, container "web": the origin
    "web-origin" on ``origin_node``, and a replica "web-edge-<x>" on each node-<x> of ``replica_nodes``."""
    origin = topo.add_pod(origin_node, "web-origin", WEB_ORIGIN, container="web")
    replicas = [
        topo.add_pod(node, "web-edge-" + node.removeprefix("node-"), WEB_EDGE, container="web")
        for node in replica_nodes
    ]
    return origin, replicas


def start_webapp(pod: Pod, workdir: Path, port: int = WEB_PORT) -> Proc:
    """The web app in ``pod``, keeping its files and SQLite database in the pod's /srv (log: workdir/logs)."""
    return pod.start(
        "web",
        ["/usr/bin/python3", str(WEBAPP), "--root", "/srv", "--port", str(port)],
        log_dir=workdir / "logs",
    )


def web_url(pod: Pod, port: int = WEB_PORT) -> str:
    """Where the web app of ``pod`` answers."""
    return f"http://{pod.ip}:{port}"


def post_items(topo: Topology, url: str, count: int, first: int = 0, timeout: float = 300) -> None:
    """``count`` POSTs (items ``first`` on) to the web app at ``url`` from the sensor's namespace, once it
    answers; an error if one fails or they take longer than ``timeout`` seconds."""
    driver = (
        f"import urllib.request, time\n"
        f"for _ in range(100):\n"
        f"    try:\n"
        f"        urllib.request.urlopen('{url}/health', timeout=1).read(); break\n"
        f"    except Exception:\n"
        f"        time.sleep(0.1)\n"
        f"for i in range({first}, {first + count}):\n"
        f'    body = (\'{{"n": %d, "pad": "%s"}}\' % (i, \'x\' * (i % 300))).encode()\n'
        f"    urllib.request.urlopen(urllib.request.Request('{url}/items', data=body, method='POST'),"
        f" timeout=5).read()\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", topo.sensor, "/usr/bin/python3", "-c", driver], check=True, timeout=timeout
    )


def start_sink(pod: Pod, workdir: Path, port: int = CONSUMER_PORT) -> Proc:
    """A consumer's receiver in ``pod``: each datagram to ``port`` kept in its /srv/recv.ts (see udp_sink)."""
    return pod.start(
        "sink",
        ["/usr/bin/python3", "-m", "edgerep_e2e.udp_sink", "--port", str(port), "--out", "/srv/recv.ts"],
        log_dir=workdir / "logs",
        env={"PYTHONPATH": str(E2E)},
    )


def received(pod: Pod) -> int:
    """Datagrams a pod's sink has received so far (its summary, written every half second and when it stops)."""
    try:
        return json.loads((pod.host_dir / "recv.ts.json").read_text())["packets"]
    except (OSError, ValueError):
        return 0


def received_by_now(pod: Pod, timeout: float = 30) -> int:
    """Datagrams a pod's sink had received by now: from a summary it wrote after this call began."""
    since = time.time()
    summary = pod.host_dir / "recv.ts.json"
    deadline = time.monotonic() + timeout
    while not (summary.exists() and summary.stat().st_mtime > since):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pod.name}'s sink wrote no summary for {timeout}s")
        time.sleep(0.05)
    return received(pod)
