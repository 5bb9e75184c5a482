# SPDX-License-Identifier: Apache-2.0
"""The sensor-feedback scenarios' tools: edgerep-sensor in the sensor namespace and a meter on its link.

The camera (the paced sender of ``sensor.py``) sends to edgerep-sensor on the sensor namespace's
loopback; edgerep-sensor forwards to node-a over the namespace's ``eth0``, the access link, whose
transmitted bytes the meter samples every 50 ms from the kernel's interface counters.
"""

from __future__ import annotations

import json
from pathlib import Path

from .manifests import INGRESS_PORT
from .proc import Proc, start

REPO = Path(__file__).resolve().parents[2]
SENSOR = REPO / "sensor" / "edgerep-sensor"
#: Where the camera sends inside the sensor namespace (edgerep-sensor listens there).
CAMERA_PORT = 7004
#: Ethernet + IPv4 + UDP headers of each datagram on the link.
FRAME_OVERHEAD = 42

_SAMPLER = """
import sys, time
path = "/sys/class/net/%s/statistics/tx_bytes"
while True:
    with open(path) as f:
        print("%%.4f %%s" %% (time.time(), f.read().strip()), flush=True)
    time.sleep(%s)
"""


def start_sensor(
    topo, cp, workdir: Path, edgereplica: str, *, node: str = "node-a", ignore: bool = False
) -> Proc:
    """edgerep-sensor for ``edgereplica`` (NS/NAME) forwarding to ``node``'s ingress, with the admin kubeconfig."""
    cmd = ["/usr/bin/python3", str(SENSOR), "--listen", f"127.0.0.1:{CAMERA_PORT}"]
    cmd += ["--forward", f"{topo.node(node).ip}:{INGRESS_PORT}"]
    if ignore:
        cmd += ["--ignore-feedback"]
    else:
        cmd += ["--edgereplica", edgereplica, "--node", node, "--kubeconfig", str(cp.kubeconfig)]
    return start("edgerep-sensor", cmd, log_dir=workdir / "logs", netns=topo.sensor)


def sensor_reports(proc: Proc) -> list[dict]:
    """The once-a-second JSON lines edgerep-sensor printed so far."""
    out = []
    for line in proc.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


class LinkMeter:
    """Bytes sent on an interface of a namespace, sampled; rates over any span of the samples."""

    def __init__(self, netns: str, workdir: Path, iface: str = "eth0", interval: float = 0.05):
        self.proc = start(
            f"meter-{iface}",
            ["/usr/bin/python3", "-c", _SAMPLER % (iface, interval)],
            log_dir=workdir / "logs",
            netns=netns,
        )

    def stop(self) -> None:
        self.proc.stop()

    def samples(self) -> list[tuple[float, int]]:
        out = []
        for line in self.proc.log_path.read_text().splitlines():
            t, _, n = line.partition(" ")
            if n.isdigit():
                out.append((float(t), int(n)))
        return out

    def rate(self, t0: float, t1: float, samples=None) -> float:
        """Bits per second sent between the samples nearest to t0 and t1."""
        s = samples or self.samples()
        a = min(s, key=lambda x: abs(x[0] - t0))
        b = min(s, key=lambda x: abs(x[0] - t1))
        if b[0] <= a[0]:
            raise ValueError(f"no samples span {t0:.2f}..{t1:.2f}")
        return (b[1] - a[1]) * 8 / (b[0] - a[0])

    def settled_at(self, after: float, ok, window: float = 0.3, hold: float = 2.0) -> float | None:
        """The end of the first ``window`` after ``after`` whose rate satisfies ``ok`` and stays so for ``hold`` s."""
        s = self.samples()
        for t, _ in s:
            if t < after + window:
                continue
            if t + hold > s[-1][0]:
                return None
            if ok(self.rate(t - window, t, s)) and ok(self.rate(t, t + hold, s)):
                return t
        return None
