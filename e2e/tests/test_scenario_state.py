# SPDX-License-Identifier: Apache-2.0
"""Scenario 2: a real web app's files and SQLite database replicated to two replicas on other nodes.

The origin app is a black box to edgerep: its writes are captured by syscall
tracepoints on node-a and replayed by the agents of node-b and node-c into the
replica pods' own /srv. After 1000 requests every replica must be
byte-identical to the origin and its database must pass integrity_check.
"""

from __future__ import annotations

import json
import os
import logging

import pytest

from conftest import running_edge
from edgerep_e2e.apps import add_web_pods, post_items, start_webapp, web_url
from edgerep_e2e.files import integrity, tree_digest, wait_identical
from edgerep_e2e.manifests import edge_replica, web_state
from edgerep_e2e.proc import wait_for

log = logging.getLogger("edgerep.e2e")
NS = "web"
REQUESTS = 1000


@pytest.fixture
def edge(workdir, request):
    with running_edge(["node-a", "node-b", "node-c"], workdir, request) as edge:
        yield edge


def in_sync(cp) -> bool:
    conditions = cp.get_json("er/web", "-n", NS)["status"]["conditions"]
    return any(c["type"] == "InSync" and c["status"] == "True" for c in conditions)


def test_web_app_state_replicated_byte_identical(edge, workdir):
    topo, cp, system = edge
    origin, replicas = add_web_pods(topo, ["node-b", "node-c"])
    system.register_pods(NS, [origin, *replicas])
    cp.apply_json(edge_replica("web", NS, state=web_state()))
    cp.kubectl("wait", "--for=condition=Ready", "er/web", "-n", NS, "--timeout=120s", timeout=130)

    app = start_webapp(origin, workdir)
    post_items(topo, web_url(origin), REQUESTS, timeout=600)
    app.stop()

    expected = tree_digest(origin.host_dir)
    assert len([k for k in expected if k.startswith("items/")]) == REQUESTS
    wait_identical(replicas, expected, "the origin", timeout=30)
    for replica in replicas:
        checked, items = integrity(replica, workdir)
        assert checked == "ok"
        assert items == REQUESTS
    wait_for("InSync=True", lambda: in_sync(cp), timeout=30)
    status = cp.get_json("er/web", "-n", NS)["status"]
    log.info("state scenario status: %s", json.dumps(status.get("state")))
    assert {r["pod"] for r in status["state"]["replicas"]} == {r.name for r in replicas}
    assert all(r.get("lagMillis", 0) <= 1000 for r in status["state"]["replicas"])


def test_a_change_made_on_a_replica_behind_edgerep_is_found_and_repaired(edge, workdir):
    """Capture cannot see an edit made on a replica node by hand: the periodic whole-tree
    comparison (spec.state.verifyInterval) must find it, say so in status and as an event,
    and repair it, owner and times included."""
    topo, cp, system = edge
    origin, replicas = add_web_pods(topo, ["node-b", "node-c"])
    system.register_pods(NS, [origin, *replicas])
    cp.apply_json(edge_replica("web", NS, state={**web_state(), "verifyInterval": "2s"}))
    cp.kubectl("wait", "--for=condition=Ready", "er/web", "-n", NS, "--timeout=120s", timeout=130)
    app = start_webapp(origin, workdir)
    post_items(topo, web_url(origin), 50, timeout=120)
    app.stop()
    expected = tree_digest(origin.host_dir)
    wait_identical(replicas, expected, "the origin", timeout=30)
    # confirmed: the verification after the writes is behind us, only the periodic comparison is left
    wait_for("InSync=True", lambda: in_sync(cp), timeout=30)

    edited = replicas[0]
    victim = sorted(p for p in edited.host_dir.glob("items/*") if p.is_file())[0]
    victim.write_bytes(b"changed by hand\n")
    os.chown(victim, 4321, 4321)
    (edited.host_dir / "dropped-in.html").write_text("<p>not from the origin</p>\n")

    def drifted() -> bool:
        rs = cp.get_json("er/web", "-n", NS)["status"]["state"]["replicas"]
        return any(r["pod"] == edited.name and r.get("driftedPaths", 0) >= 2 for r in rs)

    wait_for(f"{edited.name} reported drifting in status", drifted, timeout=60)

    # the Event travels apart from the status (the agent's event queue, then the operator's recorder):
    # either may be written first
    def drift_events() -> list[str]:
        items = cp.get_json("events", "-n", NS, "--field-selector", "reason=Drift")["items"]
        return [e["message"] for e in items]

    wait_for(
        f"a Drift event naming {edited.name}",
        lambda: any(edited.name in m for m in drift_events()),
        timeout=30,
    )
    wait_identical([edited], expected, "the origin after the repair", timeout=30)
    wait_identical(replicas[1:], expected, "the origin (never edited)", timeout=5)

    # a file dropped into the origin's directory by a process outside its container
    before = {
        r["pod"]: r.get("driftedPaths", 0)
        for r in cp.get_json("er/web", "-n", NS)["status"]["state"]["replicas"]
    }
    (origin.host_dir / "kubectl-cp.txt").write_text("copied in from outside\n")
    os.utime(origin.host_dir / "kubectl-cp.txt", ns=(1, 946_684_800_000_000_001))
    expected = tree_digest(origin.host_dir)
    wait_identical(replicas, expected, "the origin with the dropped-in file", timeout=30)

    def counted() -> bool:
        rs = cp.get_json("er/web", "-n", NS)["status"]["state"]["replicas"]
        return all(r.get("driftedPaths", 0) > before.get(r["pod"], 0) for r in rs)

    wait_for("the dropped-in file counted as drift on every replica", counted, timeout=30)
