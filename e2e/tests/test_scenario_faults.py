# SPDX-License-Identifier: Apache-2.0
"""Scenario 4: the control plane crashes while the data flows — operator, then an agent, then a loader.

One edge of two nodes carries both halves at once: a 4 Mbit/s H.264 stream enters node-a and is
copied to an unbudgeted consumer on each node, and a web app on node-a, written to all along, is
replicated to node-b. Each component is SIGKILLed in turn and restarted:

- operator: the data plane keeps its last configuration; a spec change made meanwhile is programmed
  once it is back (status catches up);
- node-a's agent: the resource reports it (Ready=False, Programmed=False/AgentUnavailable,
  Degraded=True/NodeUnavailable naming node-a), then recovers to Ready;
- node-a's loader: tc keeps forwarding with what is pinned, the resource reports the outage
  (Degraded=True/LoaderUnavailable, Ready=False: the origin's writes are not captured), and state
  capture resumes after the restart.

Through all three the unbudgeted consumers lose no datagram, and after each recovery the replica
becomes byte-identical to the origin again. The loader's crash is a test of its own.
"""

from __future__ import annotations

import json
import logging
import signal
import time

import pytest

from conftest import running_edge
from edgerep_e2e import media
from edgerep_e2e.apps import add_web_pods, received, start_sink, start_webapp, web_url
from edgerep_e2e.files import tree_digest
from edgerep_e2e.manifests import INGRESS_PORT, consumer, edge_replica, stream, web_state
from edgerep_e2e.proc import start, wait_for

log = logging.getLogger("edgerep.e2e")
NS = "edge"
LOOPS = 8  # of the 30 s clip: more than the faults take; the sender is stopped when they are done


@pytest.fixture
def edge(workdir, request):
    with running_edge(["node-a", "node-b"], workdir, request) as edge:
        yield edge


def conditions(cp) -> dict:
    er = cp.get_json("er/both", "-n", NS)
    return {c["type"]: c for c in (er.get("status") or {}).get("conditions", [])}


def ready(cp) -> bool:
    return conditions(cp).get("Ready", {}).get("status") == "True"


class Writer:
    """POSTs to the web app from the sensor's namespace, about 20 a second, until stopped."""

    def __init__(self, topo, url: str, workdir):
        self.topo, self.url, self.workdir, self.proc, self.rounds = topo, url, workdir, None, 0

    def start(self) -> None:
        self.rounds += 1
        driver = (
            "import urllib.request, time\n"
            "for _ in range(100):\n"
            "    try:\n"
            f"        urllib.request.urlopen('{self.url}/health', timeout=1).read(); break\n"
            "    except Exception:\n"
            "        time.sleep(0.1)\n"
            "i = 0\n"
            "while True:\n"
            f'    body = (\'{{"round": {self.rounds}, "n": %d, "pad": "%s"}}\' % (i, \'x\' * (i % 300)))'
            ".encode()\n"
            f"    urllib.request.urlopen(urllib.request.Request('{self.url}/items', data=body, method='POST'),"
            " timeout=5).read()\n"
            "    i += 1\n"
            "    time.sleep(0.05)\n"
        )
        self.proc = start(
            f"writer-{self.rounds}",
            ["/usr/bin/python3", "-c", driver],
            log_dir=self.workdir / "logs",
            netns=self.topo.sensor,
        )

    def pause(self) -> None:
        assert (
            self.proc is not None and self.proc.alive()
        ), f"the writer died: {self.proc and self.proc.tail()}"
        self.proc.stop()


def identical(origin, replica) -> dict | None:
    """The origin's tree when the replica's equals it (both read now: a request in flight may still land)."""
    expected = tree_digest(origin.host_dir)
    return expected if tree_digest(replica.host_dir) == expected else None


def converged(writer: Writer, origin, replica, what: str) -> int:
    """Pause the writes, wait for the replica to equal the origin, resume; the number of items."""
    writer.pause()
    expected = wait_for(
        f"the replica to match the origin after {what}",
        lambda: identical(origin, replica),
        timeout=60,
        interval=0.5,
    )
    writer.start()
    return len([k for k in expected if k.startswith("items/")])


class Running:
    """Both halves flowing on the edge: the stream to two unbudgeted consumers, the app being written."""

    def __init__(self, topo, cp, system, workdir):
        self.topo, self.cp, self.system, self.workdir = topo, cp, system, workdir
        self.node_a = topo.node("node-a")
        self.clip = media.clip("h264", seconds=30, size="640x360", bitrate="4M")
        self.full = [
            topo.add_pod("node-a", "full-a", {"app": "full"}),
            topo.add_pod("node-b", "full-b", {"app": "full"}),
        ]
        self.origin, (self.replica,) = add_web_pods(topo, ["node-b"])
        system.register_pods(NS, [*self.full, self.origin, self.replica])
        self.sinks = [start_sink(pod, workdir) for pod in self.full]
        cp.apply_json(edge_replica("both", NS, stream=stream([consumer("full")]), state=web_state()))
        cp.kubectl("wait", "--for=condition=Ready", "er/both", "-n", NS, "--timeout=120s", timeout=130)
        self.app = start_webapp(self.origin, workdir)
        self.sender = start(
            "sensor",
            media.sender_command(self.clip, self.node_a.ip, INGRESS_PORT, loops=LOOPS),
            log_dir=workdir / "logs",
            netns=topo.sensor,
        )
        self.writer = Writer(topo, web_url(self.origin), workdir)
        self.writer.start()
        # both halves flowing before any fault: datagrams at every consumer, items on the replica
        wait_for("datagrams at every consumer", lambda: all(received(p) > 200 for p in self.full), timeout=60)
        wait_for(
            "items replicated",
            lambda: len([k for k in tree_digest(self.replica.host_dir) if k.startswith("items/")]) >= 10,
            timeout=60,
        )

    def delivered(self) -> int:
        """deliveredPackets of the consumer as the resource reports it."""
        status = self.cp.get_json("er/both", "-n", NS).get("status") or {}
        return sum(c.get("deliveredPackets", 0) for c in (status.get("stream") or {}).get("consumers", []))

    def stop_stream_and_check(self) -> None:
        """Stop the sender: each unbudgeted consumer got every datagram sent, in order, none lost."""
        assert self.sender.alive(), "the sender finished before the faults were over: raise LOOPS"
        self.sender.stop()
        for s in self.sinks:
            s.stop()  # a datagram still on its way is one of the tail the sender never finished, forgiven below
        sent = media.datagrams(self.clip) * LOOPS
        for pod in self.full:
            got = media.received_datagrams(pod.host_dir / "recv.ts")
            lost, _ = media.lost_before_stop(sent, got)
            log.info("%s received %d datagrams, lost %d", pod.name, len(got), len(lost))
            received = len(got)
            assert received > 2000, f"{pod.name} received {received} datagrams, too few to judge"
            assert not lost, f"{pod.name} lost {len(lost)} datagrams (first {lost[:10]}) across the crashes"


def describe(conds: dict) -> str:
    return json.dumps({k: [v["status"], v["reason"], v["message"]] for k, v in conds.items()})


def test_data_flows_through_operator_and_agent_crashes(edge, workdir):
    topo, cp, system = edge
    run = Running(topo, cp, system, workdir)
    timings = {}

    # 1. the operator crashes; a spec change is made while it is away
    t = time.monotonic()
    system.operator.kill()
    cp.kubectl("patch", "er/both", "-n", NS, "--type=merge", "-p", '{"spec":{"state":{"maxLag":"2s"}}}')
    assert cp.get_json("er/both", "-n", NS)["metadata"]["generation"] == 2
    assert cp.get_json("er/both", "-n", NS)["status"]["observedGeneration"] == 1
    system.start_operator()
    wait_for(
        "generation 2 Ready after the operator's restart",
        lambda: ready(cp) and conditions(cp)["Ready"]["observedGeneration"] == 2,
        timeout=90,
    )
    timings["operator"] = time.monotonic() - t
    items = converged(run.writer, run.origin, run.replica, "the operator's crash")
    log.info(
        "operator crash: Ready at generation 2 %.1fs after the kill, %d items", timings["operator"], items
    )

    # 2. node-a's agent crashes
    t = time.monotonic()
    system.kill_agent(run.node_a)
    seen = wait_for(
        "the resource to report node-a's agent gone",
        lambda: (c := conditions(cp))["Ready"]["status"] == "False"
        and c["Degraded"]["status"] == "True"
        and c,
        timeout=60,
    )
    log.info("agent down: %s", describe(seen))
    assert seen["Programmed"]["reason"] == "AgentUnavailable" and "node-a" in seen["Programmed"]["message"]
    assert seen["Degraded"]["reason"] == "NodeUnavailable" and "node-a" in seen["Degraded"]["message"]
    time.sleep(3)  # the outage lasts a while (the scenario, not a wait for anything)
    system.start_agent(run.node_a)
    wait_for("Ready after the agent's restart", lambda: ready(cp), timeout=60)
    timings["agent"] = time.monotonic() - t
    items = converged(run.writer, run.origin, run.replica, "the agent's crash")
    log.info("agent crash: Ready %.1fs after the kill, %d items", timings["agent"], items)

    run.writer.pause()
    run.stop_stream_and_check()
    run.app.stop()
    expected = tree_digest(run.origin.host_dir)
    wait_for(
        "the replica to match the origin at the end", lambda: tree_digest(run.replica.host_dir) == expected
    )
    wait_for(
        "InSync and Ready at the end", lambda: ready(cp) and conditions(cp)["InSync"]["status"] == "True"
    )
    log.info("faults: %s", json.dumps({k: round(v, 1) for k, v in timings.items()}))

    # asked to stop, the operator stops (it used to hang in its shutdown hooks until SIGKILL)
    t = time.monotonic()
    system.operator.stop(timeout=10)
    assert system.operator.popen.returncode == 128 + signal.SIGTERM, system.operator.popen.returncode
    log.info("operator stopped on SIGTERM in %.1fs", time.monotonic() - t)


def test_data_flows_through_a_loader_crash(edge, workdir):
    topo, cp, system = edge
    run = Running(topo, cp, system, workdir)
    items = converged(run.writer, run.origin, run.replica, "the start")
    t = time.monotonic()
    system.kill_loader(run.node_a)
    during = wait_for(
        "the resource to report node-a's loader gone",
        lambda: (c := conditions(cp))["Degraded"]["reason"] == "LoaderUnavailable" and c,
        timeout=60,
    )
    log.info("loader down: %s", describe(during))
    system.start_loader(run.node_a)
    streams = system.loader_streams(run.node_a)
    assert [len(s.consumers) for s in streams.streams] == [2], f"the restarted loader adopted {streams}"
    wait_for("Ready after the loader's restart", lambda: ready(cp), timeout=60)
    log.info("loader crash: Ready %.1fs after the kill, %d items before it", time.monotonic() - t, items)
    # the counters go on from the pinned maps
    counted = run.delivered()
    wait_for("the consumers' counters to go on", lambda: run.delivered() > counted, timeout=60)
    run.writer.pause()
    run.stop_stream_and_check()
    run.app.stop()

    # the outage was reported: the kernel still forwards (Degraded), the origin is not captured (not Ready)
    assert during["Degraded"]["status"] == "True", describe(during)
    assert during["Degraded"]["reason"] == "LoaderUnavailable" and "node-a" in during["Degraded"]["message"]
    assert during["Ready"]["status"] == "False" and "LoaderUnavailable" in during["Ready"]["message"]
    # capture resumed with the restarted loader: the replica converges
    expected = tree_digest(run.origin.host_dir)
    wait_for(
        "the replica to match the origin", lambda: tree_digest(run.replica.host_dir) == expected, timeout=30
    )
    wait_for(
        "InSync and Ready at the end", lambda: ready(cp) and conditions(cp)["InSync"]["status"] == "True"
    )
