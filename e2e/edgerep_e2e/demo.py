# SPDX-License-Identifier: Apache-2.0
"""`make demo`: a three-node edge on this machine, driven only through the Kubernetes API.

It builds the topology, starts a real API server, the packaged operator and a
loader and agent per node, creates consumer and web pods, applies one
EdgeReplica with both halves, streams real H.264 video and drives a real web
app, and shows what happens: a live table from the operator's status, the
`kubectl get er` line, and a final summary (PSNR per consumer, replicas
checked byte for byte). It writes a PNG of bitrate over time and PSNR per
consumer, and leaves nothing running.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import media
from .apps import add_web_pods, start_sink, start_webapp, web_url
from .controlplane import ControlPlane
from . import suitelock
from .files import differences_by_kind, tree_digest
from .manifests import INGRESS_PORT, budget, consumer, edge_replica, stream, web_state
from .plugin import operator_service, run_plugin
from .prometheus import OPERATOR_HTTP_PORT
from .proc import start, wait_for
from .system import REPO, EdgeSystem
from .topology import CTL_IP, Topology

OUT = REPO / "e2e" / "out"
NS = "demo"


def say(step: str) -> None:
    print(f"\033[1m==>\033[0m {step}", flush=True)


def shown_psnr(value: float | None) -> str:
    if value is None:
        return "-"
    return "exact" if value >= media.PSNR_EXACT else f"{value:.1f}"


def render(status: dict, get_line: str, elapsed: float, psnr: dict[str, float]) -> str:
    lines = [
        f"t={elapsed:5.1f}s   {get_line}",
        "",
        f"  {'consumer':<10} {'pods':<14} {'delivered':>10} {'drop diff':>10} {'drop ref':>9} {'Mbit/s':>7}"
        f" {'PSNR dB':>8}",
    ]
    for c in (status.get("stream") or {}).get("consumers", []):
        lines.append(
            f"  {c['name']:<10} {','.join(c.get('pods', [])):<14} {c.get('deliveredPackets', 0):>10} "
            f"{c.get('droppedDifferential', 0):>10} {c.get('droppedReference', 0):>9} "
            f"{c.get('bitrate', 0) / 1e6:>7.2f} {shown_psnr(psnr.get(c['name'])):>8}"
        )
    state = status.get("state") or {}
    lines += [
        "",
        f"  origin {state.get('originPod', '-')}  last seq {state.get('lastSeq', 0)}",
        f"  {'replica':<12} {'node':<8} {'applied seq':>11} {'lag ms':>7} {'resyncs':>8}",
    ]
    for r in state.get("replicas", []):
        lines.append(
            f"  {r['pod']:<12} {r.get('node', ''):<8} {r.get('appliedSeq', 0):>11} "
            f"{r.get('lagMillis', 0):>7} {r.get('resyncs', 0):>8}"
        )
    conditions = " ".join(f"{c['type']}={c['status']}" for c in status.get("conditions", []))
    return "\n".join(lines + ["", f"  {conditions}"])


class LivePsnr(threading.Thread):
    """The PSNR of what each consumer has received so far, one consumer every few seconds, at low priority.

    A growing capture ends inside a frame, so its last second is left out.
    """

    def __init__(
        self, captures: dict[str, Path], original: Path, fps: float, workdir: Path, every: float = 1.0
    ):
        super().__init__(daemon=True)
        self.captures, self.original, self.fps, self.workdir, self.every = (
            captures,
            original,
            fps,
            workdir,
            every,
        )
        self.values: dict[str, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        measured = {name: 0.0 for name in self.captures}
        while not self.halt.wait(self.every):
            name = min(measured, key=measured.get)  # the one measured longest ago; unmeasured first
            snap = self.workdir / f"psnr-{name}.ts"
            try:
                data = self.captures[name].read_bytes()
                snap.write_bytes(data[: len(data) - len(data) % 188])
                errors = media.frame_errors(snap, self.original, growing=True, nice=True)[
                    : -int(self.fps) or None
                ]
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                continue  # nothing decodable yet
            if errors:
                self.values[name] = media.psnr_of(errors)
                measured[name] = time.monotonic()


def per_second(errors: list[float], fps: float) -> tuple[list[float], list[float]]:
    """PSNR of each second of a per-frame error series."""
    step = max(int(round(fps)), 1)
    xs = [start / fps for start in range(0, len(errors), step)]
    return xs, [media.psnr_of(errors[start : start + step]) for start in range(0, len(errors), step)]


def plot(samples: list[tuple[float, dict]], psnr: dict[str, list[float]], fps: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = sorted({c["name"] for _, s in samples for c in (s.get("stream") or {}).get("consumers", [])})
    colors = {name: f"C{i}" for i, name in enumerate(names)}
    for name in names:
        xs, ys = [], []
        for t, s in samples:
            for c in (s.get("stream") or {}).get("consumers", []):
                if c["name"] == name:
                    xs.append(t)
                    ys.append(c.get("bitrate", 0) / 1e6)
        left.plot(xs, ys, label=name, color=colors[name])
        if psnr.get(name):
            right.plot(*per_second(psnr[name], fps), label=name, color=colors[name])
    left.set_xlabel("seconds since the stream started")
    left.set_ylabel("delivered Mbit/s (operator status)")
    left.set_title("bitrate per consumer")
    left.legend()
    right.set_xlabel("seconds of video")
    right.set_ylabel(f"PSNR dB vs original ({media.PSNR_EXACT:.0f} = identical)")
    right.set_title("picture quality per consumer, mean per second")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20, help="length of the video stream")
    parser.add_argument("--requests", type=int, default=300, help="requests driven to the web app")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    lock = suitelock.hold("the demo")  # noqa: F841 (held until the demo exits)
    workdir = Path(tempfile.mkdtemp(prefix="edgerep-e2e-demo-"))
    Topology.remove_leftovers()
    say(f"encoding a {args.seconds}s H.264 clip with ffmpeg (cached after the first run)")
    clip = media.clip("h264", seconds=args.seconds, bitrate="8M")
    rate = clip.stat().st_size * 8 / media.duration(clip)
    fps = media.frame_rate(clip)
    say("building three edge nodes, a sensor and a control plane in network namespaces")
    topo = Topology(["node-a", "node-b", "node-c"], workdir)
    cp = ControlPlane(topo, workdir)
    system = EdgeSystem(topo, cp, workdir)
    try:
        topo.up()
        say("starting kube-apiserver and etcd")
        cp.start()
        say("starting the operator, and a loader and an agent on every node")
        system.start()
        say("creating pods: 3 video consumers, a web origin and 2 web replicas")
        pods = {
            "detector": topo.add_pod("node-a", "detector-0", {"app": "detector"}),
            "counter-a": topo.add_pod("node-a", "counter-a-0", {"app": "counter-a"}),
            "counter-b": topo.add_pod("node-b", "counter-b-0", {"app": "counter-b"}),
        }
        origin, replicas = add_web_pods(topo, ["node-b", "node-c"])
        system.register_pods(NS, [*pods.values(), origin, *replicas])
        sinks = [start_sink(p, workdir) for p in pods.values()]
        app = start_webapp(origin, workdir)
        consumers = [
            consumer("detector"),
            consumer("counter-a", qoc=budget(rate * 0.8, policy=None)),
            consumer("counter-b", qoc=budget(rate * 0.6, policy=None)),
        ]
        er = edge_replica("edge", NS, stream=stream(consumers), state=web_state(max_lag=None))
        say("kubectl apply -f edgereplica.yaml; kubectl wait --for=condition=Ready er/edge")
        cp.apply_json(er)
        cp.kubectl("wait", "--for=condition=Ready", "er/edge", "-n", NS, "--timeout=180s", timeout=190)
        # what the chart's Service gives on a cluster: kubectl edgerep reads the operator through it
        operator_service(cp, "edgerep-operator-metrics", CTL_IP, OPERATOR_HTTP_PORT)
        say(
            f"streaming {args.seconds}s of video ({rate / 1e6:.1f} Mbit/s) into node-a and driving the web app"
        )
        sender = start(
            "sensor",
            media.sender_command(clip, topo.node("node-a").ip, INGRESS_PORT),
            log_dir=workdir / "logs",
            netns=topo.sensor,
        )
        url = web_url(origin)
        driver = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                topo.sensor,
                "/usr/bin/python3",
                "-c",
                "import urllib.request,time\n"
                "for _ in range(100):\n"
                f"    try: urllib.request.urlopen('{url}/health',timeout=1).read(); break\n"
                "    except Exception: time.sleep(0.1)\n"
                f"for i in range({args.requests}):\n"
                f"    urllib.request.urlopen(urllib.request.Request('{url}/items',"
                "data=b'{\"n\": %d}' % i, method='POST'), timeout=5).read()\n"
                f"    time.sleep({args.seconds / max(args.requests, 1) / 2:.4f})\n",
            ]
        )
        samples: list[tuple[float, dict]] = []
        live = LivePsnr({name: pod.host_dir / "recv.ts" for name, pod in pods.items()}, clip, fps, workdir)
        live.start()
        begin = time.monotonic()
        tty = sys.stdout.isatty()
        while sender.alive() or time.monotonic() - begin < 3:
            status = cp.get_json("er/edge", "-n", NS).get("status", {})
            get_line = cp.kubectl("get", "er", "-n", NS, "--no-headers").stdout.strip()
            elapsed = time.monotonic() - begin
            samples.append((elapsed, status))
            text = render(status, get_line, elapsed, live.values)
            print(("\033[H\033[J" if tty else "") + text + ("" if tty else "\n"), flush=True)
            time.sleep(1)
        driver.wait(timeout=120)
        time.sleep(3)
        app.stop()
        for s in sinks:
            s.stop()

        live.halt.set()

        say("summary")
        sent = media.datagrams(clip)
        reference = media.reference_datagrams(clip)
        psnr: dict[str, list[float]] = {}
        healthy = True
        for name, pod in pods.items():
            got = pod.host_dir / "recv.ts"
            lost = media.lost_datagrams(sent, media.received_datagrams(got))
            lost_ref = sum(1 for i in lost if reference[i])
            psnr[name] = media.frame_errors(got, clip) if got.stat().st_size else []
            print(
                f"  consumer {name:<10} received {len(sent) - len(lost):>6} of {len(sent)} datagrams"
                f"  lost {len(lost):>5} (key-frame {lost_ref})  PSNR {shown_psnr(media.psnr_of(psnr[name]))}"
            )
            healthy &= lost_ref == 0
        expected = tree_digest(origin.host_dir)
        for r in replicas:
            diff = wait_for_match(r.host_dir, expected)
            verdict = "identical (types, bytes, modes, owners, times, links)"
            if diff:
                verdict = "DIFFERS: " + "; ".join(
                    f"{k} {len(v)} ({', '.join(v[:3])})" for k, v in diff.items()
                )
            print(f"  replica  {r.name:<12} {len(expected)} paths  {verdict}")
            healthy &= not diff
        print(f"  {cp.kubectl('get', 'er', '-n', NS).stdout.strip()}")
        say(f"kubectl edgerep status edge -n {NS}")
        plugin = run_plugin(cp, topo, "status", "edge", "-n", NS)
        print(plugin.stdout.rstrip() or plugin.stderr.rstrip())
        png = OUT / "demo.png"
        plot(samples, psnr, fps, png)
        (OUT / "demo-status.json").write_text(json.dumps(samples[-1][1], indent=1))
        say(f"wrote {png} (bitrate and PSNR per consumer over time) and {OUT / 'demo-status.json'}")
        if not healthy:
            print("\ndemo finished, but a consumer lost key-frame data or a replica differs", file=sys.stderr)
        return 0 if healthy else 1
    except Exception as e:  # noqa: BLE001 - a person reads this, then the teardown runs
        print(f"\ndemo failed: {e}", file=sys.stderr)
        for proc in [system.operator] + [p for rt in system.nodes.values() for p in (rt.agent, rt.loader)]:
            if proc is not None:
                print(f"--- {proc.name} (last lines)\n{proc.tail(15)}", file=sys.stderr)
        return 1
    finally:
        say("tearing down: processes, namespaces, cgroups, pinned maps")
        system.stop()
        cp.stop()
        topo.down()
        shutil.rmtree(workdir, ignore_errors=True)


def wait_for_match(root: Path, expected: dict[str, str]) -> dict[str, list[str]]:
    """Waits for root to match; what still differs, by kind, when it does not (empty: identical)."""
    try:
        wait_for("replica to match", lambda: tree_digest(root) == expected, timeout=20, interval=0.5)
        return {}
    except TimeoutError:
        return differences_by_kind(expected, tree_digest(root))


if __name__ == "__main__":
    sys.exit(main())
