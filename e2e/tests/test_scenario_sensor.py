# SPDX-License-Identifier: Apache-2.0
"""Scenario: consumers' needs fed back to the sensor (docs/SENSOR.md).

A real H.264 clip (ffmpeg, CBR with B-frames) leaves the camera through edgerep-sensor, which
drops at the source what the effective quality in the EdgeReplica's status says no consumer
receives. Budgets are changed with kubectl; the access link's bitrate, measured from the
sensor namespace's interface counters, must follow within a second, and every consumer must
still get what its policy promises: an unbudgeted consumer the whole stream, a DifferentialFirst
one every reference-frame datagram.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from conftest import running_edge
from edgerep_e2e import media
from edgerep_e2e.accesslink import CAMERA_PORT, FRAME_OVERHEAD, LinkMeter, sensor_reports, start_sensor
from edgerep_e2e.apps import received, start_sink
from edgerep_e2e.manifests import budget, consumer, edge_replica, stream
from edgerep_e2e.proc import settle, start, stop_all

log = logging.getLogger("edgerep.e2e")
NS = "video"
#: How soon the access link must carry the new effective quality after kubectl changed it.
FOLLOW_WITHIN = 1.0


@pytest.fixture
def edge(workdir, request):
    with running_edge(["node-a", "node-b"], workdir, request) as edge:
        yield edge


class Camera:
    """A clip sent in real time to edgerep-sensor; its stream's figures."""

    def __init__(self, seconds: int = 10, bitrate: str = "8M"):
        self.clip = media.clip("h264", seconds=seconds, bitrate=bitrate)
        self.pps = media.datagrams_per_second(self.clip)
        self.datagrams = media.datagrams(self.clip)
        self.reference = media.reference_datagrams(self.clip)
        #: bits per second the whole stream takes on the link (frames, as the edge charges budgets)
        self.link_bps = (
            (self.clip.stat().st_size + len(self.datagrams) * FRAME_OVERHEAD) * 8 / media.duration(self.clip)
        )

    def start(self, topo, workdir, loops: int):
        self.started = time.time()
        self.loops = loops
        return start(
            "camera",
            media.sender_command(self.clip, "127.0.0.1", CAMERA_PORT, loops=loops),
            log_dir=workdir / "logs",
            netns=topo.sensor,
        )

    def sent(self) -> list[bytes]:
        return self.datagrams * self.loops

    def index_at(self, t: float) -> int:
        """The datagram the camera sends at time t, as scheduled (the real one comes later, never earlier)."""
        return int((t - self.started) * self.pps)


def sinks_for(topo, system, workdir, pods: dict[str, tuple[str, str]]):
    """Consumer pods (name -> (node, app label)), registered, each with a sink."""
    made = {name: topo.add_pod(node, f"{name}-0", {"app": app}) for name, (node, app) in pods.items()}
    system.register_pods(NS, list(made.values()))
    return made, {name: start_sink(pod, workdir) for name, pod in made.items()}


def lost_reference(camera: Camera, pod) -> tuple[int, list[float]]:
    """How many datagrams a consumer lost, and when (s after the camera started) each lost reference one was due."""
    got = media.received_datagrams(pod.host_dir / "recv.ts")
    lost = media.lost_datagrams(camera.sent(), got)
    refs = camera.reference * camera.loops
    return len(lost), [round(i / camera.pps, 2) for i in lost if refs[i]]


def spans(indexes: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive indexes, as (first, last)."""
    out: list[tuple[int, int]] = []
    for i in indexes:
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def feedback(cp, name: str = "cameras") -> dict:
    return cp.get_json(f"er/{name}", "-n", NS)["status"]["stream"]["sensorFeedback"][0]


def patch(cp, ops: list[dict], name: str = "cameras") -> float:
    """A JSON patch of the resource with kubectl; the time just before it was sent."""
    at = time.time()
    cp.kubectl("patch", f"er/{name}", "-n", NS, "--type=json", "-p", json.dumps(ops))
    return at


def wait_settled(meter: LinkMeter, after: float, ok, timeout: float = 8.0) -> float | None:
    """When the link's rate came to satisfy ``ok`` after ``after`` (see LinkMeter.settled_at), once it has."""
    while True:
        at = meter.settled_at(after, ok)
        if at is not None or time.time() > after + timeout:
            return at
        time.sleep(0.25)


def test_sensor_follows_its_consumers(edge, workdir):
    topo, cp, system = edge
    # one pass of a long clip, not a short one looped: a consumer's datagrams after a gap must match
    # the right place of what was sent, and a loop repeats every datagram
    camera = Camera(seconds=30)
    full = camera.link_bps
    b80, b60, b65 = full * 0.8, full * 0.6, full * 0.65
    pods, sinks = sinks_for(
        topo,
        system,
        workdir,
        {"full": ("node-a", "full"), "b80": ("node-a", "b80"), "b60": ("node-b", "b60")},
    )
    cp.apply_json(
        edge_replica(
            "cameras",
            NS,
            stream=stream(
                [consumer("full"), consumer("b80", qoc=budget(b80)), consumer("b60", qoc=budget(b60))]
            ),
        )
    )
    cp.kubectl("wait", "--for=condition=Ready", "er/cameras", "-n", NS, "--timeout=120s", timeout=130)
    assert feedback(cp)["full"] is True
    explained = cp.kubectl("explain", "er.status.stream.sensorFeedback").stdout
    assert "effective quality" in explained and "maxBitrate" in explained, explained
    meter = LinkMeter(topo.sensor, workdir)
    sensor = start_sensor(topo, cp, workdir, f"{NS}/cameras")
    time.sleep(1.0)
    sender = camera.start(topo, workdir, loops=1)
    try:
        time.sleep(5)
        t0 = time.time()
        phases = {"all three, one unbudgeted": meter.rate(t0 - 3, t0)}
        assert phases["all three, one unbudgeted"] >= 0.95 * full, f"{phases} of {full:.0f}"

        # the unbudgeted consumer leaves: the sensor drops differentials beyond the largest budget
        t_remove = patch(cp, [{"op": "remove", "path": "/spec/stream/consumers/0"}])
        settled = wait_settled(meter, t_remove, lambda r: 0.4 * b80 <= r <= 1.1 * b80)
        assert (
            settled is not None
        ), f"the access link never settled at {b80:.0f} bit/s: {meter.rate(t_remove, time.time()):.0f}"
        follow = {"unbudgeted consumer removed": settled - t_remove}
        time.sleep(4)
        fb = feedback(cp)
        assert (fb["full"], fb["maxBitrate"], fb["policy"]) == (False, int(b80), "DifferentialFirst"), fb
        phases["budgets 80% and 60%"] = meter.rate(time.time() - 3, time.time())
        assert settle(
            lambda: feedback(cp).get("accessLinkSavedBitrate", 0) > 0.2 * full, timeout=10
        ), feedback(cp)
        saved = feedback(cp)

        # the largest budget shrinks below the other one: the other one is now the largest
        t_shrink = patch(
            cp, [{"op": "replace", "path": "/spec/stream/consumers/0/qoc/maxBitrate", "value": str(int(b65))}]
        )
        settled = wait_settled(meter, t_shrink, lambda r: 0.4 * b65 <= r <= 1.1 * b65)
        assert (
            settled is not None
        ), f"never settled at {b65:.0f} bit/s: {meter.rate(t_shrink, time.time()):.0f}"
        follow["largest budget 80% -> 65%"] = settled - t_shrink
        time.sleep(4)
        phases["budgets 65% and 60%"] = meter.rate(time.time() - 3, time.time())

        # the unbudgeted consumer comes back: the whole stream again
        t_back = patch(cp, [{"op": "add", "path": "/spec/stream/consumers/-", "value": consumer("full")}])
        settled = wait_settled(meter, t_back, lambda r: r >= 0.95 * full)
        assert settled is not None, f"never back to the whole stream: {meter.rate(t_back, time.time()):.0f}"
        follow["unbudgeted consumer back"] = settled - t_back
        assert sender.popen.wait(timeout=120) == 0, sender.tail()
        t_end = time.time()
        phases["unbudgeted again"] = meter.rate(t_back + 2, t_end - 0.5)
        settle(lambda: received(pods["b60"]) > 0 and time.time() - t_end > 1.5, timeout=5)
    finally:
        stop_all([sensor, meter.proc, *sinks.values()])
    report = sensor_reports(sensor)
    log.info(
        "sensor scenario: full %.0f bit/s; link %s; followed in %s s; status %s; sensor %s",
        full,
        {k: round(v) for k, v in phases.items()},
        {k: round(v, 2) for k, v in follow.items()},
        saved,
        report[-1],
    )
    for what, seconds in follow.items():
        assert seconds <= FOLLOW_WITHIN, f"{what}: the access link followed after {seconds:.2f} s"
    assert phases["budgets 80% and 60%"] <= 1.05 * b80 and phases["budgets 65% and 60%"] <= 1.05 * b65, phases
    assert phases["unbudgeted again"] >= 0.95 * full, phases
    assert report[-1]["droppedReference"] == 0, "the sensor dropped reference datagrams"
    assert report[-1]["droppedPackets"] > 0

    # what each consumer's policy promises
    marks = {
        k: round(t - camera.started, 2)
        for k, t in (("removed", t_remove), ("shrunk", t_shrink), ("back", t_back))
    }
    for name in ("b80", "b60"):
        lost, lost_ref = lost_reference(camera, pods[name])
        assert (
            lost > 0 and not lost_ref
        ), f"{name}: lost {lost} datagrams, reference ones due at {lost_ref} s ({marks})"
    got = media.received_datagrams(pods["full"].host_dir / "recv.ts")
    lost = media.lost_datagrams(camera.sent(), got)
    before, after = camera.index_at(t_remove - 1.5), camera.index_at(t_back + 2.0)
    assert lost, "the unbudgeted consumer was removed for a while"
    runs = [(round(a / camera.pps, 2), round(b / camera.pps, 2), b - a + 1) for a, b in spans(lost)]
    why = f"lost (from s, to s, datagrams) {runs[:20]}, marks {marks}, {len(camera.sent())} sent"
    assert not [
        i for i in lost if i < before
    ], f"the unbudgeted consumer lost datagrams while it was one: {why}"
    assert not [
        i for i in lost if i > after
    ], f"the unbudgeted consumer lost datagrams after it came back: {why}"
