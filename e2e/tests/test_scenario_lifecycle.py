# SPDX-License-Identifier: Apache-2.0
"""Scenario 3: an EdgeReplica's life with kubectl while data flows — change, grow, shrink, move, delete.

Two tests, each on its own edge:

- the stream one changes a consumer's budget with ``kubectl patch``, adds a consumer pod and deletes
  another while a 4 Mbit/s H.264 stream flows, and checks that the unbudgeted consumer never loses a
  datagram through any of it; then it deletes the EdgeReplica and checks that no stream, replicator
  or tc filter is left on any node before the object is gone.
- the state one moves the origin: its pod is deleted and a new origin pod starts on another node
  with the state the old one left (what a user moving a pod with its volume, or restoring a backup,
  brings along), slightly different from what the replicas hold; the replicas must end byte-identical
  to the new origin — edgerep treats whatever the current origin holds as the truth, so an origin
  that starts empty empties its replicas. Then the delete, with no trace left in any loader.
"""

from __future__ import annotations

import json
import logging
import shutil
import time

import pytest

from conftest import running_edge
from edgerep_e2e import media
from edgerep_e2e.apps import (
    add_web_pods,
    post_items,
    received,
    received_by_now,
    start_sink,
    start_webapp,
    web_url,
)
from edgerep_e2e.files import integrity, tree_digest, wait_identical
from edgerep_e2e.manifests import INGRESS_PORT, WEB_ORIGIN, budget, consumer, edge_replica, stream, web_state
from edgerep_e2e.proc import start, wait_for

log = logging.getLogger("edgerep.e2e")


def consumer_status(cp, ns: str, name: str, consumer: str) -> dict:
    status = cp.get_json(f"er/{name}", "-n", ns).get("status") or {}
    return next((c for c in (status.get("stream") or {}).get("consumers", []) if c["name"] == consumer), {})


def programmed_generation(cp, ns: str, name: str) -> int | None:
    """The generation the resource reports Programmed=True for (None while it is not programmed)."""
    er = cp.get_json(f"er/{name}", "-n", ns)
    programmed = next(
        (c for c in (er.get("status") or {}).get("conditions", []) if c["type"] == "Programmed"), {}
    )
    if (
        programmed.get("status") != "True"
        or er["status"].get("observedGeneration") != er["metadata"]["generation"]
    ):
        return None
    return programmed.get("observedGeneration")


def assert_deleted_everywhere(topo, cp, system, ns: str, name: str) -> None:
    """kubectl delete: kernel state gone from every node by the time the finalizer lets the object go."""
    er = cp.get_json(f"er/{name}", "-n", ns)
    assert er["metadata"].get("finalizers"), "a programmed EdgeReplica carries the operator's finalizer"
    held = {
        node.name: (
            len(system.loader_streams(node).streams),
            len(system.loader_traces(node).traces),
            bool(system.tc_ingress_filters(node)),
        )
        for node in topo.nodes
    }
    assert any(any(h) for h in held.values()), f"nothing was programmed to begin with: {held}"
    log.info("before the delete, per node (streams, traces, tc filter): %s", held)
    started = time.monotonic()
    cp.kubectl("delete", f"er/{name}", "-n", ns, "--wait=false")
    cp.kubectl("wait", "--for=delete", f"er/{name}", "-n", ns, "--timeout=60s", timeout=70)
    log.info("EdgeReplica %s gone %.1fs after kubectl delete", name, time.monotonic() - started)
    # no waiting from here: the finalizer is only removed once every node acknowledged the removal
    for node in topo.nodes:
        streams = system.loader_streams(node)
        assert not streams.streams, f"{node.name}: streams left in the loader: {streams.streams}"
        assert not streams.replicators, f"{node.name}: replicators left: {streams.replicator_interfaces}"
        traces = system.loader_traces(node)
        assert not traces.traces, f"{node.name}: traces left in the loader: {traces.traces}"
        assert system.tc_ingress_filters(node) == "", f"{node.name}: a tc filter is left on eth0 ingress"
        assert not system.xdp_attached(node), f"{node.name}: an XDP program is left on eth0"


# --- stream: patch a budget, add and remove consumer pods, delete ---------------------------------


@pytest.fixture
def stream_edge(workdir, request):
    with running_edge(["node-a", "node-b"], workdir, request) as edge:
        yield edge


#: Times the sensor sends the clip: the steps run while it streams, however long they take; it is stopped after.
SENDER_LOOPS = 10


def test_stream_lifecycle_patch_add_remove_delete(stream_edge, workdir):
    topo, cp, system = stream_edge
    ns = "video"
    clip = media.clip("h264", seconds=30, size="640x360", bitrate="4M")
    rate_bps = clip.stat().st_size * 8 / media.duration(clip)
    full0 = topo.add_pod("node-a", "full-0", {"app": "full"})
    cam0 = topo.add_pod("node-b", "cam-0", {"app": "cam"})
    system.register_pods(ns, [full0, cam0])
    sinks = {pod.name: start_sink(pod, workdir) for pod in (full0, cam0)}
    # cam's budget: three times the stream's rate, nothing needs dropping yet
    cameras = stream([consumer("full"), consumer("cam", qoc=budget(rate_bps * 3))])
    cp.apply_json(edge_replica("cameras", ns, stream=cameras))
    cp.kubectl("wait", "--for=condition=Ready", "er/cameras", "-n", ns, "--timeout=120s", timeout=130)
    assert programmed_generation(cp, ns, "cameras") == 1

    sender = start(
        "sensor",
        media.sender_command(clip, topo.node("node-a").ip, INGRESS_PORT, loops=SENDER_LOOPS),
        log_dir=workdir / "logs",
        netns=topo.sensor,
    )
    wait_for("the budgeted consumer to receive", lambda: received(cam0) > 200, timeout=20)
    before = consumer_status(cp, ns, "cameras", "cam")
    assert before.get("droppedDifferential", 0) == 0 and before.get("droppedReference", 0) == 0, before

    # 1. a new budget: 40 % of the stream's rate
    patched_at = time.monotonic()
    cp.kubectl(
        "patch",
        "er/cameras",
        "-n",
        ns,
        "--type=json",
        "-p",
        json.dumps(
            [
                {
                    "op": "replace",
                    "path": "/spec/stream/consumers/1/qoc/maxBitrate",
                    "value": str(int(rate_bps * 0.4)),
                }
            ]
        ),
    )
    wait_for("generation 2 programmed", lambda: programmed_generation(cp, ns, "cameras") == 2, timeout=30)
    dropping = wait_for(
        "the budgeted consumer's counters to show the new budget",
        lambda: (c := consumer_status(cp, ns, "cameras", "cam")).get("droppedDifferential", 0) > 0 and c,
        timeout=20,
    )
    log.info(
        "budget patched: programmed and dropping after %.1fs: %s", time.monotonic() - patched_at, dropping
    )
    assert dropping["droppedReference"] <= dropping["droppedDifferential"], dropping

    # 2. a new pod of the unbudgeted consumer, on the other node
    full1 = topo.add_pod("node-b", "full-1", {"app": "full"})
    sinks[full1.name] = start_sink(full1, workdir)
    system.register_pods(ns, [full1])
    wait_for("the new consumer pod to receive", lambda: received(full1) > 0, timeout=20)
    wait_for(
        "the new pod in the consumer's status",
        lambda: consumer_status(cp, ns, "cameras", "full").get("pods") == ["full-0", "full-1"],
        timeout=10,
    )

    # 3. a consumer pod deleted: its copy goes away, it receives nothing more
    cp.delete_pod(ns, cam0.name)
    wait_for(
        "cam-0's copy to leave node-a's loader",
        lambda: all(
            c.dst_ip != cam0.ip
            for s in system.loader_streams(topo.node("node-a")).streams
            for c in s.consumers
        ),
        timeout=20,
    )
    # what was in flight has arrived once full-0 got 50 datagrams more; then, while it gets 500 more, cam-0
    # gets none (progress measured by the stream, not by the clock)
    mark = received(full0)
    wait_for("50 more datagrams at full-0", lambda: received(full0) >= mark + 50, timeout=60)
    got = received_by_now(cam0)
    mark = received(full0)
    wait_for("500 more datagrams at full-0", lambda: received(full0) >= mark + 500, timeout=60)
    assert received_by_now(cam0) == got, "a deleted consumer pod still receives copies"
    assert consumer_status(cp, ns, "cameras", "cam").get("pods") == []
    cp.delete_pod(ns, cam0.name, force=True)

    assert sender.alive(), "the clip's loops ended before the steps did: raise SENDER_LOOPS"
    sender.stop()
    for s in sinks.values():
        s.stop()
    originals = media.datagrams(clip) * SENDER_LOOPS
    full0_got = media.received_datagrams(full0.host_dir / "recv.ts")
    lost, sent = media.lost_before_stop(originals, full0_got)
    assert (
        not lost
    ), f"the unbudgeted consumer lost {len(lost)} datagrams (first {lost[:10]}) across the changes"
    # the pod added mid-stream: everything from its first datagram on, nothing lost after it
    full1_got = media.received_datagrams(full1.host_dir / "recv.ts")
    first = originals.index(full1_got[0])
    late_lost, _ = media.lost_before_stop(originals[first:], full1_got)
    assert not late_lost, f"the added pod lost {len(late_lost)} datagrams after its first one"
    log.info(
        "stream lifecycle: full-0 %d/%d, full-1 %d from #%d, cam-0 %d before its deletion",
        len(full0_got),
        sent,
        len(full1_got),
        first,
        got,
    )

    # 4. delete
    assert_deleted_everywhere(topo, cp, system, ns, "cameras")


# --- state: move the origin to another node, delete -------------------------------------------------


@pytest.fixture
def state_edge(workdir, request):
    with running_edge(["node-a", "node-b", "node-c"], workdir, request) as edge:
        yield edge


def run_app(pod, workdir, topo, first: int, count: int) -> None:
    app = start_webapp(pod, workdir)
    try:
        post_items(topo, web_url(pod), count, first=first)
    finally:
        app.stop()


def test_state_origin_moves_to_another_node_then_delete(state_edge, workdir):
    topo, cp, system = state_edge
    ns = "web"
    origin, replicas = add_web_pods(topo, ["node-b", "node-c"])
    system.register_pods(ns, [origin, *replicas])
    cp.apply_json(edge_replica("web", ns, state=web_state()))
    cp.kubectl("wait", "--for=condition=Ready", "er/web", "-n", ns, "--timeout=120s", timeout=130)
    run_app(origin, workdir, topo, 0, 100)
    before = tree_digest(origin.host_dir)
    wait_identical(replicas, before, "the first origin")

    # the origin pod goes away (graceful delete, then its containers stop and the object is removed)
    cp.delete_pod(ns, origin.name)
    wait_for(
        "InSync=False NoOriginPod",
        lambda: cp.condition("er/web", ns, "InSync").get("reason") == "NoOriginPod",
        timeout=20,
    )
    topo.remove_pod(origin)
    cp.delete_pod(ns, origin.name, force=True)
    for replica in replicas:
        assert tree_digest(replica.host_dir) == before, f"{replica.name} changed while there was no origin"

    # a new origin on another node (node-b, which also runs a replica), with the state the old one left,
    # as a moved volume or a restored backup brings it: one item less, one file more than the replicas
    volume = workdir / "volume"
    shutil.copytree(origin.host_dir, volume)
    (volume / "items" / "1.json").unlink()
    (volume / "restored.txt").write_text("restored from a backup\n")
    moved = topo.add_pod("node-b", "web-origin-2", WEB_ORIGIN, container="web", data=volume)
    system.register_pods(ns, [moved])
    wait_for(
        "the new origin in status",
        lambda: (cp.get_json("er/web", "-n", ns).get("status") or {}).get("state", {}).get("originPod")
        == moved.name,
        timeout=30,
    )
    wait_identical(replicas, tree_digest(moved.host_dir), "the new origin before it writes")
    run_app(moved, workdir, topo, 100, 100)
    expected = tree_digest(moved.host_dir)
    assert "items/1.json" not in expected and "restored.txt" in expected
    assert len([k for k in expected if k.startswith("items/")]) == 199
    wait_identical(replicas, expected, "the new origin")
    for replica in replicas:
        assert integrity(replica, workdir) == ("ok", 200)
    cp.kubectl("wait", "--for=condition=Ready", "er/web", "-n", ns, "--timeout=30s", timeout=40)

    def caught_up():
        state = cp.get_json("er/web", "-n", ns)["status"]["state"]
        return all(r.get("appliedSeq") == state.get("lastSeq") for r in state["replicas"]) and state

    state = wait_for("every replica at the new origin's last sequence in status", caught_up, timeout=20)
    assert all(r.get("lagMillis", 0) == 0 for r in state["replicas"]), state
    status = cp.get_json("er/web", "-n", ns)["status"]
    log.info("origin moved: %s", json.dumps(status.get("state")))
    assert status["state"]["originPod"] == moved.name
    assert {r["pod"] for r in status["state"]["replicas"]} == {r.name for r in replicas}

    assert_deleted_everywhere(topo, cp, system, ns, "web")
