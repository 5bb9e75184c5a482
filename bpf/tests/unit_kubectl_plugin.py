# SPDX-License-Identifier: Apache-2.0
"""tools/kubectl-edgerep against a stand-in kubectl: its tables, its JSON, --watch, and one line per bad case.

The plugin against the real API server and a running edge is e2e/tests/test_observability.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "tools" / "kubectl-edgerep"

VIEW = {
    "apiVersion": "edgerep.io/nodes/v1",
    "nodes": [
        {
            "node": "node-a",
            "connected": True,
            "agentVersion": "0.1.0",
            "loaderVersion": "0.1.0",
            "kernel": "6.18.0",
            "appliedVersion": 4,
            "desiredVersion": 4,
            "countersAtMillis": 1,
            "items": [
                {
                    "kind": "stream",
                    "key": "obs/cameras",
                    "ok": True,
                    "degraded": False,
                    "reason": "",
                    "message": "",
                },
                {
                    "kind": "state_origin",
                    "key": "obs/web",
                    "ok": True,
                    "degraded": False,
                    "reason": "",
                    "message": "",
                },
            ],
            "consumers": [
                {
                    "edgeReplica": "obs/cameras",
                    "consumer": "budget60",
                    "pod": "budget60-0",
                    "deliveredPackets": 900,
                    "deliveredBytes": 1184400,
                    "droppedReference": 0,
                    "droppedDifferential": 95,
                    "droppedDisposable": 5,
                    "bitrateBps": 4_800_000,
                    "budgetBps": 5_000_000,
                }
            ],
            "replicas": [],
            "origins": [
                {
                    "edgeReplica": "obs/web",
                    "lastSeq": 812,
                    "lostRecords": 0,
                    "drift": [{"pod": "web-edge-b", "driftedPaths": 2, "repairing": False}],
                }
            ],
        },
        {
            "node": "node-b",
            "connected": True,
            "agentVersion": "0.1.0",
            "loaderVersion": "",
            "kernel": "6.18.0",
            "appliedVersion": 3,
            "desiredVersion": 4,
            "countersAtMillis": 1,
            "items": [
                {
                    "kind": "state_replica",
                    "key": "obs/web",
                    "ok": True,
                    "degraded": True,
                    "reason": "LoaderUnavailable",
                    "message": "",
                }
            ],
            "consumers": [],
            "replicas": [
                {
                    "edgeReplica": "obs/web",
                    "pod": "web-edge-b",
                    "appliedSeq": 812,
                    "lagMillis": 2500,
                    "resyncs": 1,
                    "refusedOps": 0,
                    "confirmed": True,
                }
            ],
            "origins": [],
        },
    ],
}


@pytest.fixture
def kubectl(tmp_path):
    """A kubectl that prints ``answer`` (stdout) or ``error`` (stderr, exit 1) and records its arguments."""
    script = tmp_path / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/calls\n'
        f"if [ -f {tmp_path}/error ]; then cat {tmp_path}/error >&2; exit 1; fi\n"
        f"cat {tmp_path}/answer\n"
    )
    script.chmod(0o755)

    def answer(body=None, error=None):
        (tmp_path / "answer").write_text(json.dumps(VIEW if body is None else body))
        if error:
            (tmp_path / "error").write_text(error)
        return tmp_path

    return script, answer


def plugin(kubectl_path, *args, timeout=30):
    env = {**os.environ, "KUBECTL": str(kubectl_path)}
    return subprocess.run(
        [sys.executable, str(PLUGIN), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_status_table_per_consumer_and_replica_with_drift_beside_its_replica(kubectl):
    k, answer = kubectl
    d = answer()
    r = plugin(k, "status", "-A")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "EdgeReplica obs/cameras" in out and "EdgeReplica obs/web" in out
    line = next(ln for ln in out.splitlines() if "budget60-0" in ln).split()
    assert line[:7] == ["node-a", "budget60", "budget60-0", "900", "0", "95", "5"], line
    assert "4.8 Mb/s" in out and "5.0 Mb/s" in out
    assert "origin on node-a: sequence 812, lost records 0" in out
    # caught up with the origin (812): not behind, whatever the agent last measured (2.5 s), as the status says
    rep = next(ln for ln in out.splitlines() if "web-edge-b" in ln).split()
    assert rep == ["node-b", "web-edge-b", "812", "0.0s", "1", "yes", "2", "no"], rep
    calls = (d / "calls").read_text()
    assert (
        "get --raw /api/v1/namespaces/edgerep-system/services/http:edgerep-operator-metrics:http-metrics/proxy/edgerep/v1/nodes"
        in calls
    )


def test_status_of_one_resource_as_json(kubectl):
    k, answer = kubectl
    answer()
    r = plugin(k, "status", "cameras", "-n", "obs", "-o", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert list(got) == ["obs/cameras"]
    assert got["obs/cameras"]["consumers"][0]["deliveredPackets"] == 900
    assert plugin(k, "status", "cameras", "-n", "other").stdout.startswith("no EdgeReplica cameras")


def test_nodes_shows_versions_config_and_problems(kubectl):
    k, answer = kubectl
    answer()
    r = plugin(k, "nodes")
    assert r.returncode == 0, r.stderr
    a = next(ln for ln in r.stdout.splitlines() if ln.startswith("node-a")).split()
    assert a[:8] == ["node-a", "0.1.0", "0.1.0", "6.18.0", "4/4", "1", "1", "0"], a
    b = next(ln for ln in r.stdout.splitlines() if ln.startswith("node-b"))
    assert "unreachable" in b and "3/4" in b and "obs/web: LoaderUnavailable" in b


def test_watch_redraws_in_place(kubectl):
    k, answer = kubectl
    answer()
    try:
        plugin(k, "status", "-A", "--watch", "--interval", "0.2", timeout=1.5)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    else:
        pytest.fail("--watch returned by itself")
    assert out.count("\033[H\033[2J") >= 2, out


@pytest.mark.parametrize(
    "error,says",
    [
        (
            'Error from server (NotFound): services "edgerep-operator-metrics" not found',
            "edgerep is not installed here",
        ),
        (
            'Error from server (Forbidden): services "http:edgerep-operator-metrics:http-metrics" is forbidden: '
            'User "viewer" cannot get resource "services/proxy"',
            "not allowed to read edgerep's per-node state",
        ),
        (
            "Error from server (NotFound): the server could not find the requested resource",
            "older than this plugin",
        ),
        (
            'Error from server (ServiceUnavailable): no endpoints available for service "edgerep-operator-metrics"',
            "the operator is not running",
        ),
        ("The connection to the server 10.0.0.1:6443 was refused", "cannot read edgerep's per-node state"),
    ],
)
def test_each_bad_case_is_one_clear_line_and_a_non_zero_exit(kubectl, error, says):
    k, answer = kubectl
    answer(error=error)
    r = plugin(k, "status")
    assert r.returncode != 0 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr


def test_an_operator_with_another_view_version_is_refused(kubectl):
    k, answer = kubectl
    answer(body={"apiVersion": "edgerep.io/nodes/v0", "nodes": []})
    r = plugin(k, "nodes")
    assert r.returncode != 0 and "upgrade one of them" in r.stderr
