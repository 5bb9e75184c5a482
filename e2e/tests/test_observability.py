# SPDX-License-Identifier: Apache-2.0
"""Operating edgerep: a real Prometheus scrapes a running edge, and what it holds agrees with what happened.

One edge for the module (its start is the slow part): an H.264 stream to an unbudgeted and a budgeted
consumer, and a web app's state replicated to two nodes. Prometheus (Debian's) scrapes the operator,
the agents and the loaders each second; the tests query its HTTP API and compare with what the sinks
received, what the EdgeReplica's status says and what the replicas hold. The last test kills a loader:
its agent's scrape must still answer, with the loader's health at 0.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import running_edge
from edgerep_e2e import media
from edgerep_e2e.apps import add_web_pods, post_items, received, start_sink, start_webapp, web_url
from edgerep_e2e.files import tree_digest, wait_identical
from edgerep_e2e.manifests import INGRESS_PORT, budget, consumer, edge_replica, stream, web_state
from edgerep_e2e.proc import settle, start, wait_for
from edgerep_e2e.plugin import operator_service, run_plugin
from edgerep_e2e.prometheus import AGENT_HTTP_PORT, OPERATOR_HTTP_PORT, Prometheus
from edgerep_e2e.system import SYSTEM_NAMESPACE
from edgerep_e2e.topology import CTL_IP

log = logging.getLogger("edgerep.e2e")
NS = "obs"
REQUESTS = 200
REPO = Path(__file__).resolve().parents[2]
BPF_STATS = Path("/proc/sys/kernel/bpf_stats_enabled")


@contextlib.contextmanager
def bpf_stats_on():
    """kernel.bpf_stats_enabled=1 for the module (program run counts need it), restored after."""
    before = BPF_STATS.read_text().strip()
    BPF_STATS.write_text("1\n")
    try:
        yield
    finally:
        BPF_STATS.write_text(before + "\n")


@pytest.fixture(scope="module")
def observed(request):
    workdir = Path(tempfile.mkdtemp(prefix="edgerep-e2e-obs-"))
    try:
        with bpf_stats_on(), running_edge(["node-a", "node-b", "node-c"], workdir, request) as (
            topo,
            cp,
            system,
        ):
            prom = Prometheus(topo, workdir).start()
            try:
                yield drive(topo, cp, system, prom, workdir)
            finally:
                prom.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def drive(topo, cp, system, prom, workdir) -> dict:
    """The stream sent and the web app's requests made, every replica identical; what the tests compare with."""
    clip = media.clip("h264", seconds=6, bitrate="8M")
    rate_bps = clip.stat().st_size * 8 / media.duration(clip)
    consumers = {
        "full": topo.add_pod("node-a", "full-0", {"app": "full"}),
        "budget60": topo.add_pod("node-b", "budget60-0", {"app": "budget60"}),
    }
    origin, replicas = add_web_pods(topo, ["node-b", "node-c"])
    system.register_pods(NS, [*consumers.values(), origin, *replicas])
    sinks = {name: start_sink(pod, workdir) for name, pod in consumers.items()}
    cp.apply_json(
        edge_replica(
            "cameras",
            NS,
            stream=stream(
                [consumer("full"), consumer("budget60", qoc=budget(rate_bps * 0.6))], inspection="MPEGTS"
            ),
        )
    )
    cp.apply_json(edge_replica("web", NS, state=web_state()))
    for er in ("cameras", "web"):
        cp.kubectl("wait", "--for=condition=Ready", f"er/{er}", "-n", NS, "--timeout=120s", timeout=130)
    wait_for("every scrape target up", prom.all_up, timeout=60)

    sender = start(
        "sensor",
        media.sender_command(clip, topo.node("node-a").ip, INGRESS_PORT),
        log_dir=workdir / "logs",
        netns=topo.sensor,
    )
    app = start_webapp(origin, workdir)
    post_items(topo, web_url(origin), REQUESTS, timeout=300)
    app.stop()
    assert sender.popen.wait(timeout=120) == 0, sender.tail()
    sent = len(media.datagrams(clip))
    settle(lambda: received(consumers["full"]) == sent)
    expected = tree_digest(origin.host_dir)
    wait_identical(replicas, expected, "the origin", timeout=60)
    for s in sinks.values():
        s.stop()
    return {
        "topo": topo,
        "cp": cp,
        "system": system,
        "prom": prom,
        "sent": sent,
        "received": {name: received(pod) for name, pod in consumers.items()},
        "replicas": [r.name for r in replicas],
    }


def test_consumer_counters_agree_with_what_the_sinks_received(observed):
    prom, sent, got = observed["prom"], observed["sent"], observed["received"]
    sel = f'namespace="{NS}",edgereplica="cameras"'
    delivered = f"edgerep_consumer_delivered_packets_total{{{sel}}}"
    # the agents sample each second and Prometheus scrapes each second: wait for the last packets to show
    settle(lambda: prom.by(delivered, "consumer") == {k: float(v) for k, v in got.items()}, timeout=30)
    assert prom.by(delivered, "consumer") == {k: float(v) for k, v in got.items()}
    assert got["full"] == sent
    dropped = prom.by(
        f'sum by (class) (edgerep_consumer_dropped_packets_total{{{sel},consumer="budget60"}})', "class"
    )
    assert dropped.get("reference", 0) == 0, dropped
    assert dropped["differential"] + dropped.get("disposable", 0) > 0, dropped
    # every datagram of the budgeted consumer's copy was either delivered or dropped under one class
    assert got["budget60"] + sum(dropped.values()) == sent, (got, dropped)
    full_drops = prom.value(f'sum(edgerep_consumer_dropped_packets_total{{{sel},consumer="full"}})')
    assert full_drops == 0
    budgets = prom.by(f"edgerep_consumer_budget_bits_per_second{{{sel}}}", "consumer")
    assert set(budgets) == {"budget60"} and budgets["budget60"] > 0

    # the EdgeReplica's status says the same as the scrape; it travels one hop more (agent report, then a paced
    # status write at most once a second), so it may show the last packets a few seconds after the scrape does
    def status_delivered():
        status = observed["cp"].get_json("er/cameras", "-n", NS)["status"]
        return {c["name"]: c["deliveredPackets"] for c in status["stream"]["consumers"]}

    settle(lambda: status_delivered() == got, timeout=15)
    assert status_delivered() == got


#: Ops each replica is behind its origin (the origin's and the replica's series come from different nodes).
OPS_BEHIND = (
    "max by (namespace, edgereplica) (edgerep_origin_sequence{SEL}) - on (namespace, edgereplica) group_right"
    " edgerep_replica_applied_sequence{SEL}"
)


def test_replica_series_agree_with_the_origin_and_the_status(observed):
    prom, cp = observed["prom"], observed["cp"]
    sel = f'namespace="{NS}",edgereplica="web"'

    def caught_up():
        seq = prom.value(f"edgerep_origin_sequence{{{sel}}}")
        applied = prom.by(f"edgerep_replica_applied_sequence{{{sel}}}", "pod")
        return seq and set(applied) == set(observed["replicas"]) and all(v == seq for v in applied.values())

    assert settle(caught_up, timeout=30), (
        prom.query(f"edgerep_origin_sequence{{{sel}}}"),
        prom.query(f"edgerep_replica_applied_sequence{{{sel}}}"),
    )
    # in sync and confirmed: from here on each replica's lag is the last batch's and stays put
    assert settle(
        lambda: set(prom.by(f"edgerep_origin_replica_in_sync{{{sel}}} == 1", "pod"))
        == set(observed["replicas"])
        == set(prom.by(f"edgerep_replica_confirmed{{{sel}}} == 1", "pod")),
        timeout=60,
    )
    # the agent's lag is how stale the last op it applied was and keeps that value once caught up; the
    # status reports 0 for a replica that holds every op: what is behind is the sequence gap
    lag = prom.by(f"edgerep_replica_lag_seconds{{{sel}}}", "pod")
    assert set(lag) == set(observed["replicas"]) and all(v >= 0 for v in lag.values()), lag
    gap = prom.by(OPS_BEHIND.replace("{SEL}", "{" + sel + "}"), "pod")
    assert gap == {r: 0 for r in observed["replicas"]}, gap
    seq = prom.value(f"edgerep_origin_sequence{{{sel}}}")
    shipped = prom.by(f"edgerep_origin_replica_acked_sequence{{{sel}}}", "pod")
    assert shipped == {r: seq for r in observed["replicas"]}

    # the status travels one hop more than the scrape (agent report, then a write at most once a second)
    def status_says():
        state = cp.get_json("er/web", "-n", NS)["status"]["state"]
        return (
            state["lastSeq"],
            {r["pod"]: r["appliedSeq"] for r in state["replicas"]},
            {r["pod"]: r.get("lagMillis", 0) for r in state["replicas"]},
        )

    everyone = {r: seq for r in observed["replicas"]}
    settle(lambda: status_says() == (seq, everyone, {r: 0 for r in observed["replicas"]}), timeout=15)
    assert status_says() == (seq, everyone, {r: 0 for r in observed["replicas"]})
    assert prom.value(f"sum(edgerep_origin_lost_records_total{{{sel}}})") == 0


def test_loader_and_operator_series(observed):
    prom = observed["prom"]
    log.info(
        "samples per scrape by job: %s; scrape seconds: %s",
        {k: v for k, v in sorted(prom.by("sum by (job) (scrape_samples_scraped)", "job").items())},
        {k: round(v, 4) for k, v in sorted(prom.by("max by (job) (scrape_duration_seconds)", "job").items())},
    )
    # the tc replicator is attached on the ingress node and its program ran for every packet it saw
    attached = prom.by('edgerep_loader_replicator_attached{interface="eth0"}', "node")
    assert attached.get("node-a") == 1, attached
    assert prom.value('max(edgerep_loader_bpf_stats_enabled{node="node-a"})') == 1
    runs = prom.value('sum(edgerep_loader_program_runs_total{node="node-a",type="sched_cls"})')
    assert runs >= observed["sent"], runs
    # the state capture's maps on the origin node hold entries, within their capacity
    occupancy = prom.query('edgerep_loader_map_entries{node="node-a"} / edgerep_loader_map_capacity_entries')
    assert occupancy and all(0 <= float(r["value"][1]) <= 1 for r in occupancy)
    assert prom.value('sum(edgerep_loader_ring_records_total{node="node-a"})') > 0
    assert prom.value("sum(edgerep_loader_ring_lost_records_total)") == 0
    # the operator: three agents, configs pushed and applied, reconciles timed
    assert prom.value("edgerep_operator_connected_agents") == 3
    assert prom.value('sum(edgerep_operator_config_pushes_total{result="sent"})') >= 3
    assert prom.value("edgerep_operator_config_apply_seconds_count") >= 3
    assert prom.value('sum(edgerep_operator_reconcile_seconds_count{result="ok"})') > 0
    assert prom.by("edgerep_agent_operator_connected", "node") == {"node-a": 1, "node-b": 1, "node-c": 1}


def documented_metrics() -> list[str]:
    """Every series name the metrics reference of docs/OPERATING.md lists (its table's first column)."""
    text = (REPO / "docs" / "OPERATING.md").read_text()
    return sorted(set(re.findall(r"^\| `(edgerep_[a-z0-9_]+)`", text, re.M)))


def test_every_documented_metric_is_in_the_scrape(observed):
    names = documented_metrics()
    assert len(names) >= 30, names
    have = observed["prom"].series_names()
    # a histogram is documented by its base name; Prometheus holds its _bucket, _count and _sum
    missing = [n for n in names if n not in have and f"{n}_count" not in have]
    assert not missing, f"documented but not scraped: {missing}"
    undocumented = sorted(
        n
        for n in have
        if n.startswith("edgerep_") and re.sub(r"_(bucket|count|sum|max)$", "", n) not in names
    )
    assert not undocumented, f"scraped but not documented in docs/OPERATING.md: {undocumented}"


DASHBOARD = REPO / "charts" / "edgerep" / "dashboards" / "edgerep.json"
#: What Grafana puts in place of the dashboard's variables, for a query over the whole test edge.
GRAFANA_VARS = {"$namespace": ".*", "$edgereplica": ".*", "$__rate_interval": "15s", "$__range": "5m"}


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every variable of the shipped dashboard, variables filled in."""
    dash = json.loads(DASHBOARD.read_text())

    def fill(expr: str) -> str:
        for k, v in GRAFANA_VARS.items():
            expr = expr.replace(k, v)
        assert "$" not in expr, f"a variable the test does not fill: {expr}"
        return expr

    out = [
        (f"panel {p['title']!r} {t['refId']}", fill(t["expr"]))
        for p in dash["panels"]
        for t in p.get("targets", [])
    ]
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((.*), *(\w+)\)", v["query"]["query"])
            assert m, v["query"]
            out.append((f"variable {v['name']}", f"count by ({m.group(2)}) ({fill(m.group(1))})"))
    return out


def test_every_dashboard_query_parses_and_returns_data(observed):
    prom = observed["prom"]
    queries = dashboard_queries()
    assert len(queries) >= 25
    empty, failed = [], []
    for where, expr in queries:
        try:
            if not prom.query(expr):
                empty.append(f"{where}: {expr}")
        except ValueError as e:
            failed.append(f"{where}: {e}")
    assert not failed, "queries Prometheus refused:\n" + "\n".join(failed)
    assert not empty, "queries that returned nothing:\n" + "\n".join(empty)


def kubectl_edgerep(observed, *args, token: str | None = None):
    """The plugin as a user runs it, with the real kubectl against the real API server."""
    return run_plugin(observed["cp"], observed["topo"], *args, token=token)


def test_kubectl_edgerep_shows_what_the_sinks_received_and_every_node(observed):
    cp = observed["cp"]
    operator_service(cp, "edgerep-operator-metrics", CTL_IP, OPERATOR_HTTP_PORT)
    r = kubectl_edgerep(observed, "status", "-n", NS, "-o", "json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    delivered = {c["consumer"]: c["deliveredPackets"] for c in got[f"{NS}/cameras"]["consumers"]}
    assert delivered == observed["received"]
    seqs = {x["pod"]: x["appliedSeq"] for x in got[f"{NS}/web"]["replicas"]}
    assert set(seqs) == set(observed["replicas"]) and len(set(seqs.values())) == 1
    assert got[f"{NS}/web"]["origin"]["lastSeq"] == next(iter(seqs.values()))
    table = kubectl_edgerep(observed, "status", "-n", NS)
    assert table.returncode == 0, table.stderr
    log.info("kubectl edgerep status -n %s:\n%s", NS, table.stdout)
    for name, count in observed["received"].items():
        row = next(ln for ln in table.stdout.splitlines() if f" {name} " in ln).split()
        assert row[3] == str(count), row
    nodes = kubectl_edgerep(observed, "nodes")
    assert nodes.returncode == 0, nodes.stderr
    log.info("kubectl edgerep nodes:\n%s", nodes.stdout)
    rows = {ln.split()[0]: ln.split() for ln in nodes.stdout.splitlines()[1:]}
    assert set(rows) == {"node-a", "node-b", "node-c"}
    assert all(r[1] != "?" and r[2] != "unreachable" for r in rows.values()), rows


def test_kubectl_edgerep_bad_cases_are_one_line_each(observed):
    cp = observed["cp"]
    r = kubectl_edgerep(observed, "status", "--operator-namespace", "no-edgerep-here")
    assert (
        r.returncode != 0 and "edgerep is not installed here" in r.stderr and len(r.stderr.splitlines()) == 1
    )
    # a user without RBAC for the proxy: a service account with no binding, then with the chart's rule
    cp.apply_json(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "viewer", "namespace": SYSTEM_NAMESPACE},
        }
    )
    token = cp.kubectl("create", "token", "viewer", "-n", SYSTEM_NAMESPACE).stdout.strip()
    r = kubectl_edgerep(observed, "nodes", token=token)
    assert r.returncode != 0 and "not allowed" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    cp.apply_json(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "edgerep-status-viewer", "namespace": SYSTEM_NAMESPACE},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services/proxy"],
                    "resourceNames": [
                        "edgerep-operator-metrics",
                        "http:edgerep-operator-metrics:http-metrics",
                    ],
                    "verbs": ["get"],
                }
            ],
        }
    )
    cp.apply_json(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "viewer-status", "namespace": SYSTEM_NAMESPACE},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "edgerep-status-viewer",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": SYSTEM_NAMESPACE}],
        }
    )
    assert settle(lambda: kubectl_edgerep(observed, "nodes", token=token).returncode == 0, timeout=20)
    # an operator that does not serve the view (here: a Service whose endpoint is an agent's HTTP port)
    operator_service(cp, "old-operator", observed["topo"].node("node-a").ip, AGENT_HTTP_PORT)
    r = kubectl_edgerep(observed, "nodes", "--operator-service", "old-operator")
    assert (
        r.returncode != 0 and "older than this plugin" in r.stderr and len(r.stderr.splitlines()) == 1
    ), r.stderr


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) ")
LEVEL = re.compile(r"^\S+ +(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL)\b")


def component_logs(system) -> dict[str, list[str]]:
    logs = {}
    for f in sorted(system.logs.glob("*.log")):
        if f.stem == "operator" or f.stem.endswith(("-agent", "-loader")):
            logs[f.stem] = f.read_text(errors="replace").splitlines()
    return logs


def pem_bodies(text: str) -> list[str]:
    """The base64 lines of every PEM block in ``text`` (what a leaked key would show)."""
    return [ln for ln in text.splitlines() if ln and not ln.startswith("-----") and len(ln) >= 40]


def test_every_log_line_has_a_date_and_no_secret_is_logged(observed):
    system, cp = observed["system"], observed["cp"]
    logs = component_logs(system)
    assert {"operator", "node-a-agent", "node-a-loader"} <= set(logs), set(logs)
    for name, lines in logs.items():
        records = [ln for ln in lines if LEVEL.match(ln)]
        assert records, f"{name} logged no line"
        undated = [ln for ln in records if not ISO.match(ln)]
        assert not undated, f"{name}: lines without an ISO-8601 date: {undated[:3]}"
    secrets = {}
    key = cp.kubectl(
        "get", "secret", "edgerep-ca", "-n", SYSTEM_NAMESPACE, "-o", "jsonpath={.data.tls\\.key}"
    ).stdout
    secrets["the CA key"] = pem_bodies(base64.b64decode(key).decode())
    for rt in system.nodes.values():
        secrets[f"{rt.node.name}'s token"] = [rt.dir.joinpath("token").read_text().strip()]
        for k in rt.dir.rglob("*.key"):
            secrets[str(k)] = pem_bodies(k.read_text(errors="replace"))
    assert all(secrets.values()), secrets.keys()
    everything = "\n".join("\n".join(lines) for lines in logs.values())
    leaked = [what for what, parts in secrets.items() if any(p in everything for p in parts)]
    assert not leaked, f"logged: {leaked}"


def test_the_agent_logs_json_lines_when_asked(tmp_path):
    """The packaged agent with QUARKUS_LOG_CONSOLE_JSON_ENABLED=true (the chart's logging.format=json)."""
    jar = REPO / "agent" / "target" / "quarkus-app" / "quarkus-run.jar"
    env = {
        **os.environ,
        "QUARKUS_LOG_CONSOLE_JSON_ENABLED": "true",
        "QUARKUS_HTTP_HOST": "127.0.0.1",
        "QUARKUS_HTTP_PORT": "0",
        "EDGEREP_AGENT_STATE_DIR": str(tmp_path / "state"),
        "EDGEREP_AGENT_LOADER_TARGET": f"unix:{tmp_path}/no-loader.sock",
    }
    out = tmp_path / "agent.log"
    with open(out, "wb") as f:
        p = subprocess.Popen(
            ["java", "-Xmx128m", "-jar", str(jar)], stdout=f, stderr=subprocess.STDOUT, env=env
        )
    try:
        wait_for(
            "the agent's start-up line", lambda: "started in" in out.read_text(errors="replace"), timeout=120
        )
    finally:
        p.terminate()
        p.wait(timeout=30)
    lines = out.read_text().splitlines()
    records = [json.loads(ln) for ln in lines if ln.strip()]
    assert records and all("timestamp" in r and "level" in r and "message" in r for r in records), lines[:3]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", records[0]["timestamp"]), records[0]


def test_a_scrape_while_the_loader_is_down_answers_with_its_health_at_zero(observed):
    prom, system, topo = observed["prom"], observed["system"], observed["topo"]
    node = topo.node("node-b")
    system.kill_loader(node)
    wait_for(
        "node-b's agent reporting its loader down",
        lambda: prom.by("edgerep_agent_loader_up", "node").get("node-b") == 0,
        timeout=30,
    )
    up = prom.by('up{job="edgerep-agent"}', "instance")
    assert all(v == 1 for v in up.values()), up
    # what the kernel counted before stays exported while nobody can read it
    assert prom.query('edgerep_consumer_delivered_packets_total{consumer="budget60"}')
