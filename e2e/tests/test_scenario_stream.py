# SPDX-License-Identifier: Apache-2.0
"""Scenario 1: a real H.264 stream copied in the kernel to three consumers with different budgets.

Everything is real: kube-apiserver, the packaged operator, a loader and an
agent per node; the only driver is kubectl. The budgeted consumers must lose
only differential packets, and the operator's counters must agree with what
the consumers received.
"""

from __future__ import annotations

import json
import logging

import pytest

from edgerep_e2e import media
from conftest import running_edge
from edgerep_e2e.apps import received, start_sink
from edgerep_e2e.manifests import INGRESS_PORT, budget, consumer, edge_replica, stream
from edgerep_e2e.proc import settle, start

log = logging.getLogger("edgerep.e2e")
NS = "video"


@pytest.fixture
def edge(workdir, request):
    with running_edge(["node-a", "node-b"], workdir, request) as edge:
        yield edge


def test_stream_to_three_consumers_with_budgets(edge, workdir):
    topo, cp, system = edge
    clip = media.clip("h264", seconds=8, bitrate="22M")
    rate_bps = clip.stat().st_size * 8 / media.duration(clip)
    pps = media.datagrams_per_second(clip)
    assert pps >= 2000, f"the clip must make at least 2 kpps, it makes {pps:.0f}"

    consumers = {
        "full": topo.add_pod("node-a", "full-0", {"app": "full"}),
        "budget80": topo.add_pod("node-a", "budget80-0", {"app": "budget80"}),
        "budget60": topo.add_pod("node-b", "budget60-0", {"app": "budget60"}),
    }
    system.register_pods(NS, list(consumers.values()))
    sinks = {name: start_sink(pod, workdir) for name, pod in consumers.items()}

    er = edge_replica(
        "cameras",
        NS,
        stream=stream(
            [
                consumer("full"),
                consumer("budget80", qoc=budget(rate_bps * 0.8)),
                consumer("budget60", qoc=budget(rate_bps * 0.6)),
            ],
            inspection="MPEGTS",
            datapath="TC",
        ),
    )
    cp.apply_json(er)
    cp.kubectl("wait", "--for=condition=Ready", "er/cameras", "-n", NS, "--timeout=120s", timeout=130)

    sender = start(
        "sensor",
        media.sender_command(clip, topo.node("node-a").ip, INGRESS_PORT),
        log_dir=workdir / "logs",
        netns=topo.sensor,
    )
    assert sender.popen.wait(timeout=120) == 0, sender.tail()
    assert sender.tail(1).strip() == str(len(media.datagrams(clip))), sender.tail()

    def delivered(status, name) -> int:
        return next(c for c in status["stream"]["consumers"] if c["name"] == name)["deliveredPackets"]

    # what was sent has arrived and the counters (coalesced every 2 s) caught up with it; if they never agree
    # exactly, the assertions below say by how much
    settle(lambda: received(consumers["full"]) == len(media.datagrams(clip)))
    settle(
        lambda: all(
            delivered(cp.get_json("er/cameras", "-n", NS)["status"], name) == received(pod)
            for name, pod in consumers.items()
        )
    )
    for sink in sinks.values():
        sink.stop()
    status = cp.get_json("er/cameras", "-n", NS)["status"]

    originals = media.datagrams(clip)
    reference = media.reference_datagrams(clip)
    report = {}
    for name, pod in consumers.items():
        got = media.received_datagrams(pod.host_dir / "recv.ts")
        lost = media.lost_datagrams(originals, got)
        lost_reference = [i for i in lost if reference[i]]
        report[name] = {
            "received": len(got),
            "lost": len(lost),
            "lost_reference": len(lost_reference),
            "psnr": media.psnr(pod.host_dir / "recv.ts", clip),
        }
        assert not lost_reference, f"{name} lost {len(lost_reference)} reference-frame datagrams"
        counted = next(c for c in status["stream"]["consumers"] if c["name"] == name)
        assert abs(counted["deliveredPackets"] - len(got)) <= 0.01 * len(
            got
        ), f"status says {counted['deliveredPackets']} delivered to {name}, it received {len(got)}"
    log.info("stream scenario: %s", json.dumps(report))
    assert report["full"]["lost"] == 0 and report["full"]["psnr"] == float("inf")
    assert 0 < report["budget80"]["lost"] < report["budget60"]["lost"]
