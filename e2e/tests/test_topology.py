# SPDX-License-Identifier: Apache-2.0
"""The harness itself: namespaces, routing, a real API server, pods registered with status, clean teardown."""

from __future__ import annotations

import json
import os
import subprocess
import time

from edgerep_e2e import PREFIX
from edgerep_e2e.controlplane import ControlPlane
from edgerep_e2e.proc import run, start, wait_for
from edgerep_e2e.topology import Topology


def _netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split(" ", 1)[0] for line in out.splitlines()}


def test_two_node_topology_with_api_server_and_registered_pods(workdir):
    topo = Topology(["node-a", "node-b"], workdir)
    with topo:
        cp = ControlPlane(topo, workdir)
        try:
            cp.start()
            a = topo.add_pod("node-a", "web-0", {"app": "web"})
            b = topo.add_pod("node-b", "web-1", {"app": "web"})
            for node in topo.nodes:
                cp.register_node(node.name, node.ip)
            for pod in (a, b):
                cp.register_pod("demo", pod)

            # the API server reports the pods as a kubelet would have
            pods = cp.get_json("pods", "-n", "demo", "-l", "app=web")["items"]
            by_name = {p["metadata"]["name"]: p for p in pods}
            assert by_name["web-0"]["spec"]["nodeName"] == "node-a"
            assert by_name["web-1"]["status"]["podIP"] == b.ip
            assert (
                by_name["web-0"]["status"]["containerStatuses"][0]["containerID"]
                == f"containerd://{a.container_id}"
            )
            ready = [c for c in by_name["web-1"]["status"]["conditions"] if c["type"] == "Ready"]
            assert ready and ready[0]["status"] == "True"

            # pods on different nodes reach each other through the fabric
            run(["ping", "-c", "1", "-W", "2", b.ip], netns=a.netns)
            # the sensor reaches a pod behind node-b: UDP, received by a process in the pod's cgroup
            recv = b.start(
                "recv",
                [
                    "/usr/bin/python3",
                    "-c",
                    "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                    "s.bind(('0.0.0.0',6000));print(s.recvfrom(100)[0].decode(),flush=True)",
                ],
                log_dir=workdir / "logs",
            )
            try:
                wait_for(
                    "the receiver to run in the pod's cgroup",
                    lambda: str(recv.pid) in open(os.path.join(b.cgroup, "cgroup.procs")).read().split(),
                    timeout=10,
                    proc=recv,
                )
                for _ in range(20):
                    run(
                        [
                            "/usr/bin/python3",
                            "-c",
                            "import socket;socket.socket(socket.AF_INET,socket.SOCK_DGRAM)"
                            f".sendto(b'frame',('{b.ip}',6000))",
                        ],
                        netns=topo.sensor,
                    )
                    if "frame" in recv.tail():
                        break
                    time.sleep(0.1)
                assert "frame" in recv.tail()
            finally:
                recv.stop()
            assert a.cgroup_id == os.stat(a.cgroup).st_ino and a.cgroup_id > 0

            # each pod sees its own /srv: a write in one is invisible to the other and to the host
            a.run(["sh", "-c", "echo origin > /srv/state.txt"])
            assert (a.host_dir / "state.txt").read_text() == "origin\n"
            assert not (b.host_dir / "state.txt").exists()
            assert not os.path.exists("/srv/state.txt")
            assert open(f"/proc/{a.infra.pid}/root/srv/state.txt").read() == "origin\n"
        finally:
            cp.stop()
    # nothing of this run is left
    assert not {n for n in _netns_names() if n.startswith(f"{PREFIX}-{topo.tag}")}
    assert not os.path.exists(topo.cgroup_root)
