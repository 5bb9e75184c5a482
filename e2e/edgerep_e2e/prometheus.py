# SPDX-License-Identifier: Apache-2.0
"""A real Prometheus (Debian's ``prometheus``) scraping a running e2e system.

It runs in the control-plane namespace on that namespace's loopback, with a
scrape config generated from the topology: the operator's /q/metrics, every
agent's /q/metrics and every loader's /metrics, each second. Queries go
through its HTTP API, as Grafana's would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

from .proc import Proc, start, stop_all, wait_for
from .system import LOADER_METRICS_PORT
from .topology import CTL_IP, Topology

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
LISTEN = "127.0.0.1:9090"
OPERATOR_HTTP_PORT = 8080
AGENT_HTTP_PORT = 8081
SCRAPE_INTERVAL = "1s"


def scrape_config(topology: Topology) -> dict:
    """The scrape jobs of a topology: operator, agents and loaders.

    The loader's series carry no node label of their own: its targets get one, as the chart's PodMonitor
    gives them from the pod's node (the agent's series have theirs already).
    """

    def job(name: str, path: str, targets: list[tuple[str, dict]]) -> dict:
        return {
            "job_name": name,
            "metrics_path": path,
            "scrape_interval": SCRAPE_INTERVAL,
            "scrape_timeout": SCRAPE_INTERVAL,
            "static_configs": [{"targets": [t], "labels": labels} for t, labels in targets],
        }

    nodes = topology.nodes
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": [
            job("edgerep-operator", "/q/metrics", [(f"{CTL_IP}:{OPERATOR_HTTP_PORT}", {})]),
            job("edgerep-agent", "/q/metrics", [(f"{n.ip}:{AGENT_HTTP_PORT}", {}) for n in nodes]),
            job(
                "edgerep-loader",
                "/metrics",
                [(f"{n.ip}:{LOADER_METRICS_PORT}", {"node": n.name}) for n in nodes],
            ),
        ],
    }


class Prometheus:
    """Started by ``start()``, stopped (and its data removed) by ``stop()``, also on failure."""

    def __init__(self, topology: Topology, workdir: Path):
        self.topology = topology
        self.dir = workdir / "prometheus"
        self.proc: Proc | None = None

    def start(self) -> "Prometheus":
        if not Path(PROMETHEUS).exists():
            raise RuntimeError("prometheus is missing: run `make setup` (apt: prometheus)")
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "prometheus.yml"
        # JSON is YAML: no YAML library needed to write it
        config.write_text(json.dumps(scrape_config(self.topology), indent=2))
        check = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"promtool refused the generated config:\n{check.stdout}{check.stderr}")
        self.proc = start(
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address={LISTEN}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            log_dir=self.dir,
            netns=self.topology.ctl,
        )
        wait_for("Prometheus ready", lambda: self._get("/-/ready") is not None, timeout=60, proc=self.proc)
        return self

    def stop(self) -> None:
        stop_all([self.proc])
        shutil.rmtree(self.dir / "data", ignore_errors=True)

    def _get(self, path: str, params: dict | None = None) -> str | None:
        url = f"http://{LISTEN}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        r = subprocess.run(
            ["ip", "netns", "exec", self.topology.ctl, "curl", "-sS", "--max-time", "10", url],
            capture_output=True,
            text=True,
        )
        return r.stdout if r.returncode == 0 else None

    def api(self, path: str, **params) -> dict:
        """One call of the HTTP API; the parsed answer (its ``status`` is "success" or "error")."""
        out = self._get(f"/api/v1/{path}", params)
        if out is None:
            raise RuntimeError(f"Prometheus did not answer /api/v1/{path}")
        return json.loads(out)

    def query(self, expr: str) -> list[dict]:
        """An instant query's result vector; an error if the expression does not parse or fails."""
        r = self.api("query", query=expr)
        if r.get("status") != "success":
            raise ValueError(f"{expr!r}: {r.get('errorType')}: {r.get('error')}")
        return r["data"]["result"]

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, None when it returns nothing."""
        res = self.query(expr)
        if not res:
            return None
        assert len(res) == 1, f"{expr!r} returned {len(res)} series: {res}"
        return float(res[0]["value"][1])

    def by(self, expr: str, label: str) -> dict[str, float]:
        """An instant query's values keyed by one label."""
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def targets(self) -> list[dict]:
        return self.api("targets")["data"]["activeTargets"]

    def all_up(self) -> bool:
        t = self.targets()
        return bool(t) and all(x["health"] == "up" for x in t)

    def series_names(self) -> set[str]:
        """Every metric name Prometheus holds now."""
        return set(self.api("label/__name__/values")["data"])
