"""Scenario 2: a real web app's files and SQLite database replicated to two replicas on other nodes.

The origin app is a black box to edgerep: its writes are captured by syscall
tracepoints on node-a and replayed by the agents of node-b and node-c into the
replica pods' own /srv. After 1000 requests every replica must be
byte-identical to the origin and its database must pass integrity_check.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess

import pytest

from conftest import running_edge
from edgerep_e2e.files import tree_digest
from edgerep_e2e.proc import wait_for
from edgerep_e2e.system import REPO

log = logging.getLogger("edgerep.e2e")
APP = str(REPO / "e2e" / "apps" / "webapp.py")
NS = "web"
REQUESTS = 1000


@pytest.fixture
def edge(workdir, request):
    with running_edge(["node-a", "node-b", "node-c"], workdir, request) as edge:
        yield edge


def test_web_app_state_replicated_byte_identical(edge, workdir):
    topo, cp, system = edge
    origin = topo.add_pod("node-a", "web-origin", {"app": "web", "role": "origin"}, container="web")
    replicas = [
        topo.add_pod("node-b", "web-edge-b", {"app": "web", "role": "edge"}, container="web"),
        topo.add_pod("node-c", "web-edge-c", {"app": "web", "role": "edge"}, container="web"),
    ]
    system.register_pods(NS, [origin, *replicas])
    cp.apply_json(
        {
            "apiVersion": "edgerep.io/v1alpha1",
            "kind": "EdgeReplica",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {
                "state": {
                    "origin": {
                        "podSelector": {"matchLabels": {"app": "web", "role": "origin"}},
                        "container": "web",
                    },
                    "paths": ["/srv"],
                    "replicas": {"podSelector": {"matchLabels": {"app": "web", "role": "edge"}}},
                    "maxLag": "1s",
                }
            },
        }
    )
    cp.kubectl("wait", "--for=condition=Ready", "er/web", "-n", NS, "--timeout=120s", timeout=130)

    app = origin.start(
        "web", ["/usr/bin/python3", APP, "--root", "/srv", "--port", "8080"], log_dir=workdir / "logs"
    )
    url = f"http://{origin.ip}:8080"
    driver = (
        f"import urllib.request\n"
        f"for _ in range(100):\n"
        f"    try:\n"
        f"        urllib.request.urlopen('{url}/health', timeout=1).read(); break\n"
        f"    except Exception:\n"
        f"        import time; time.sleep(0.1)\n"
        f"for i in range({REQUESTS}):\n"
        f'    body = (\'{{"n": %d, "pad": "%s"}}\' % (i, \'x\' * (i % 300))).encode()\n'
        f"    urllib.request.urlopen(urllib.request.Request('{url}/items', data=body, method='POST'),"
        f" timeout=5).read()\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", topo.sensor, "/usr/bin/python3", "-c", driver], check=True, timeout=600
    )
    app.stop()

    expected = tree_digest(origin.host_dir)
    assert len([k for k in expected if k.startswith("items/")]) == REQUESTS
    for replica in replicas:
        wait_for(
            f"{replica.name} to match the origin",
            lambda r=replica: tree_digest(r.host_dir) == expected,
            timeout=30,
            interval=0.5,
        )
        # judge a copy: opening the database (WAL mode) writes next to it
        check = workdir / f"check-{replica.name}"
        check.mkdir()
        for f in replica.host_dir.glob("app.db*"):
            shutil.copy2(f, check / f.name)
        db = sqlite3.connect(check / "app.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == REQUESTS
        db.close()
    wait_for(
        "InSync=True",
        lambda: any(
            c["type"] == "InSync" and c["status"] == "True"
            for c in cp.get_json("er/web", "-n", NS)["status"]["conditions"]
        ),
        timeout=30,
    )
    status = cp.get_json("er/web", "-n", NS)["status"]
    log.info("state scenario status: %s", json.dumps(status.get("state")))
    assert {r["pod"] for r in status["state"]["replicas"]} == {r.name for r in replicas}
    assert all(r.get("lagMillis", 0) <= 1000 for r in status["state"]["replicas"])
