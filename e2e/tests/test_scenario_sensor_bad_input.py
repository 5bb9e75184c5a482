# SPDX-License-Identifier: Apache-2.0
"""Bad input to the sensor feedback loop: the edge still enforces each consumer's policy, nothing promised is lost.

- a sensor that ignores the feedback (sends everything): the edge enforces the budgets;
- consumers that ask for more than the sensor sends: the sensor drops nothing, they get it all;
- feedback for a stream that no longer exists (its port changed, the resource deleted and another one
  made on the port): the sensor sends the whole stream, and the new stream's unbudgeted consumer
  receives every datagram.
"""

from __future__ import annotations

import logging
import time

import pytest

from conftest import running_edge
from edgerep_e2e import media
from edgerep_e2e.accesslink import LinkMeter, sensor_reports, start_sensor
from edgerep_e2e.manifests import budget, consumer, edge_replica, stream
from edgerep_e2e.proc import settle, stop_all
from test_scenario_sensor import NS, Camera, feedback, lost_reference, patch, sinks_for, wait_settled

log = logging.getLogger("edgerep.e2e")


@pytest.fixture
def edge(workdir, request):
    with running_edge(["node-a", "node-b"], workdir, request) as edge:
        yield edge


def ready(cp, name: str) -> None:
    cp.kubectl("wait", "--for=condition=Ready", f"er/{name}", "-n", NS, "--timeout=120s", timeout=130)


def test_a_sensor_that_ignores_the_feedback(edge, workdir):
    topo, cp, system = edge
    camera = Camera()
    full = camera.link_bps
    budgets = {"b80": full * 0.8, "b60": full * 0.6}
    pods, sinks = sinks_for(topo, system, workdir, {"b80": ("node-a", "b80"), "b60": ("node-b", "b60")})
    cp.apply_json(
        edge_replica("cameras", NS, stream=stream([consumer(n, qoc=budget(b)) for n, b in budgets.items()]))
    )
    ready(cp, "cameras")
    meter = LinkMeter(topo.sensor, workdir)
    sensor = start_sensor(topo, cp, workdir, f"{NS}/cameras", ignore=True)
    time.sleep(1.0)
    sender = camera.start(topo, workdir, loops=1)
    try:
        assert sender.popen.wait(timeout=120) == 0, sender.tail()
        end = time.time()
        link = meter.rate(camera.started + 1, end - 0.5)
        time.sleep(1.5)
    finally:
        stop_all([sensor, meter.proc, *sinks.values()])
    fb = feedback(cp)
    log.info("ignoring sensor: link %.0f of %.0f bit/s; feedback %s", link, full, fb)
    assert link >= 0.95 * full, "a sensor ignoring the feedback sends everything"
    assert (fb["full"], fb["maxBitrate"]) == (False, int(budgets["b80"]))
    assert "sensorReportTime" not in fb, "it reported nothing"
    for name, bps in budgets.items():
        got = media.received_datagrams(pods[name].host_dir / "recv.ts")
        lost, lost_ref = lost_reference(camera, pods[name])
        delivered = sum(len(d) + 42 for d in got) * 8 / media.duration(camera.clip)
        log.info(
            "%s: %d lost, reference ones at %s s; %.0f bit/s of a %.0f budget",
            name,
            lost,
            lost_ref,
            delivered,
            bps,
        )
        assert lost > 0 and not lost_ref, f"{name}: lost {lost}, reference ones due at {lost_ref} s"
        assert delivered <= 1.05 * bps, f"{name} received {delivered:.0f} bit/s over its {bps:.0f} budget"


def test_more_than_the_sensor_sends_and_a_stream_that_no_longer_exists(edge, workdir):
    topo, cp, system = edge
    camera = Camera(seconds=30)  # one pass: see test_sensor_follows_its_consumers
    full = camera.link_bps
    pods, sinks = sinks_for(
        topo,
        system,
        workdir,
        {"big": ("node-a", "big"), "bigger": ("node-b", "bigger"), "fresh": ("node-a", "fresh")},
    )
    cp.apply_json(
        edge_replica(
            "cameras",
            NS,
            stream=stream(
                [consumer("big", qoc=budget(full * 1.5)), consumer("bigger", qoc=budget(full * 2))]
            ),
        )
    )
    ready(cp, "cameras")
    fb = feedback(cp)
    assert (fb["full"], fb["maxBitrate"]) == (False, int(full * 2)), fb
    meter = LinkMeter(topo.sensor, workdir)
    sensor = start_sensor(topo, cp, workdir, f"{NS}/cameras")
    time.sleep(1.0)
    sender = camera.start(topo, workdir, loops=1)
    try:
        time.sleep(6)
        more = sensor_reports(sensor)[-1]
        link_more = meter.rate(time.time() - 4, time.time())
        assert settle(lambda: "accessLinkSavedBitrate" in feedback(cp), timeout=10), feedback(cp)
        reported = feedback(cp)

        # the stream moves to another port: the feedback the sensor holds is for a stream that is gone
        t_moved = patch(cp, [{"op": "replace", "path": "/spec/stream/ingress/port", "value": 5006}])
        time.sleep(3)
        moved = sensor_reports(sensor)[-1]
        assert moved["time"] > t_moved + 1, moved

        # and then the resource goes; another one takes the port with an unbudgeted consumer
        cp.kubectl("delete", "er/cameras", "-n", NS, "--timeout=60s", timeout=70)
        cp.apply_json(edge_replica("lobby", NS, stream=stream([consumer("fresh")])))
        ready(cp, "lobby")
        t_lobby = time.time()
        assert settle(lambda: sensor_reports(sensor)[-1]["time"] > t_lobby, timeout=5), sensor.tail()
        gone = sensor_reports(sensor)[-1]
        assert sender.popen.wait(timeout=120) == 0, sender.tail()
        t_end = time.time()
        link_gone = meter.rate(t_lobby, t_end - 0.5)
        lobby = cp.get_json("er/lobby", "-n", NS)["status"]["stream"]["sensorFeedback"][0]
        time.sleep(1.5)
    finally:
        stop_all([sensor, meter.proc, *sinks.values()])
    log.info(
        "more than sent: link %.0f of %.0f, sensor %s, status %s; moved: %s; gone: %s, link %.0f; lobby %s",
        link_more,
        full,
        more,
        reported,
        moved,
        gone,
        link_gone,
        lobby,
    )
    # consumers asking for more than is sent: nothing dropped anywhere
    assert more["droppedPackets"] == 0 and more["savedBps"] == 0, more
    assert reported["accessLinkSavedBitrate"] == 0 and reported["accessLinkBitrate"] >= 0.9 * full, reported
    before = camera.index_at(t_moved - 1.5)
    for name in ("big", "bigger"):
        got = media.received_datagrams(pods[name].host_dir / "recv.ts")
        lost = media.lost_datagrams(camera.sent(), got)
        early = [i for i in lost if i < before]
        assert not early, f"{name} lost {len(early)} datagrams while it asked for more than was sent"
    # the stream gone: the sensor sends everything, the new stream's consumer gets every datagram
    assert moved["feedback"] == "full" and gone["feedback"] == "full", (moved, gone)
    assert gone["droppedPackets"] == more["droppedPackets"] == 0
    assert link_gone >= 0.95 * full, f"{link_gone:.0f} of {full:.0f}"
    assert "sensorReportTime" not in lobby, "a report for the old resource does not reach the new one"
    got = media.received_datagrams(pods["fresh"].host_dir / "recv.ts")
    lost = media.lost_datagrams(camera.sent(), got)
    after = camera.index_at(t_lobby + 0.5)
    late = [i for i in lost if i > after]
    assert not late, f"the new stream's unbudgeted consumer lost {len(late)} datagrams after it was Ready"
    assert len(got) > 0
