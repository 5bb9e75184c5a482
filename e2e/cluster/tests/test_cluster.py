# SPDX-License-Identifier: Apache-2.0
"""edgerep installed with helm on a real node, from images built here; driven only by kubectl and helm.

The tests run in order and share one installation: install; the state example with a web app's
origin pod and two replica pods; a stream from a sensor outside the node to three consumer pods;
rollout restart of the agents while both flow; upgrade; uninstall. The scenario pods run the e2e
image (edgerep_e2e.cluster_workloads).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from edgerep_e2e import bpfobjs, media
from edgerep_e2e.cluster import NODE, PIN_DIR, edgerep_attachments
from edgerep_e2e.cluster_workloads import (
    NS as PODS_NS,
    SENSOR_HOST_IP,
    SENSOR_LINK,
    Pods,
    Sensor,
    Sink,
    Writer,
    idle_pod,
    origin_pod,
)
from edgerep_e2e.files import differences, differences_by_kind
from edgerep_e2e.manifests import CONSUMER_PORT, INGRESS_PORT, budget, consumer, edge_replica, stream
from edgerep_e2e.proc import settle

log = logging.getLogger("edgerep.e2e")

NS = "edgerep-system"
RELEASE = "edgerep"
CHART = str(Path(__file__).resolve().parents[3] / "charts" / "edgerep")
DS = f"ds/{RELEASE}-agent"
DEPLOY = f"deploy/{RELEASE}-operator"


def describe(cluster) -> str:
    """What a failure needs: pods, their events and container states."""
    pods = cluster.kubectl("get", "pods", "-A", "-o", "wide", check=False).stdout
    events = cluster.kubectl("get", "events", "-A", "--sort-by=.lastTimestamp", check=False).stdout
    logs = cluster.kubectl(
        "logs",
        "-n",
        NS,
        "-l",
        "app.kubernetes.io/instance=edgerep",
        "--all-containers",
        "--tail=30",
        "--prefix",
        check=False,
    ).stdout
    return f"{pods}\n{events[-6000:]}\n{logs[-8000:]}"


def rollout(cluster, what: str, timeout: int = 240) -> None:
    r = cluster.kubectl(
        "rollout", "status", "-n", NS, what, f"--timeout={timeout}s", check=False, timeout=timeout + 30
    )
    assert r.returncode == 0, f"{what} not rolled out: {r.stderr}\n{describe(cluster)}"


def test_images_are_on_the_node_under_the_charts_references(cluster):
    from edgerep_e2e.images import refs

    listed = set(cluster.ctr("images", "ls", "-q").stdout.split())
    assert set(refs().values()) <= listed


def test_helm_install_runs_operator_and_agent_pods(cluster):
    cluster.kubectl("create", "namespace", NS)
    cluster.kubectl("label", "namespace", NS, "pod-security.kubernetes.io/enforce=privileged")
    out = cluster.helm("install", RELEASE, CHART, "--namespace", NS).stdout
    assert "pod-security.kubernetes.io/enforce=privileged" in out
    rollout(cluster, DEPLOY)
    rollout(cluster, DS)
    pod = json.loads(
        cluster.kubectl(
            "get", "pods", "-n", NS, "-l", "app.kubernetes.io/component=agent", "-o", "json"
        ).stdout
    )["items"][0]
    ready = {c["name"]: c["ready"] for c in pod["status"]["containerStatuses"]}
    assert ready == {"agent": True, "loader": True}, describe(cluster)


def test_the_kubelets_cgroup_layout_is_the_one_the_agent_resolves(cluster):
    """cgroupfs driver on a hybrid hierarchy: a container's cgroup v2 directory is
    kubepods/<qos>/pod<uid>/<container id> under the cgroup2 mount, holding its processes; CgroupResolver's
    "directory named <id>" form (PodResolutionTest) is what the real kubelet and runc make."""
    pod = json.loads(
        cluster.kubectl(
            "get", "pods", "-n", NS, "-l", "app.kubernetes.io/component=operator", "-o", "json"
        ).stdout
    )["items"][0]
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    mount = next(
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split(" - ")[1].startswith("cgroup2 ")
    )
    qos = pod["status"]["qosClass"].lower()
    want = (
        Path(mount) / "kubepods" / ("" if qos == "guaranteed" else qos) / f"pod{pod['metadata']['uid']}" / cid
    )
    assert want.is_dir(), sorted(str(p) for p in Path(mount, "kubepods").rglob(cid))
    assert (want / "cgroup.procs").read_text().split(), "the container's cgroup v2 directory holds no process"


def test_agent_registers_with_the_operator(cluster):
    # the agent proved its node with its projected token: the operator lists it in its agents ConfigMap
    def registered():
        r = cluster.kubectl("get", "configmap", "-n", NS, "edgerep-agents", "-o", "json", check=False)
        return r.returncode == 0 and "erc-node1" in r.stdout

    assert settle(registered, timeout=120), describe(cluster)


# --- the scenarios, in real pods of the e2e image ---------------------------------------------------------

#: The state example (deploy/examples/state.yaml): /data of container "web", origin and edge pods of app=web.
STATE_EXAMPLE = Path(CHART).parents[1] / "deploy" / "examples" / "state.yaml"
STATE_ROOT = "/data"
ORIGIN = "web-origin"
REPLICAS = ("web-edge-0", "web-edge-1")
STATE_REQUESTS = 300
#: What the origin does to its tree besides the app's requests, with coreutils: nested directories,
#: owners, set-id and permission bits (a set-uid file written to after its chmod), times in ns, a symlink
#: (with its own time), a link out of the tree, a hard link, a rename and an unlink. Each is a property the
#: strict comparison must see.
TREE_OPS = f"""set -e
cd {STATE_ROOT}
mkdir -p static/css
printf 'body {{ margin: 0 }}\\n' > static/css/site.css
printf '<p>home</p>\\n' > static/index.html
ln -s index.html static/home.html
ln -s ../app.db static/db-link
ln static/index.html static/index-hardlink.html
printf 'draft\\n' > static/draft.txt && mv static/draft.txt static/final.txt
printf 'gone\\n' > static/gone.txt && rm static/gone.txt
chown -R 101:102 static
chmod 0640 static/index.html
chmod 2750 static/css
printf '#!/bin/sh\n' > static/tool && chmod 4755 static/tool && printf 'exit 0\n' >> static/tool
touch -d '2001-02-03 04:05:06.123456789' static/css/site.css
touch -h -d '2002-03-04 05:06:07.5' static/home.html
"""
#: Consumers of the stream example and their pods (app=<name>, pod <name>-0): the drop policy of each
#: budget, None for the unbudgeted one.
CONSUMERS = {"full": None, "diff": "DifferentialFirst", "uniform": "Uniform"}
#: Share of the stream's bitrate the budgeted consumers get.
BUDGET = 0.8
#: The loader's token bucket depth for a budget: a quarter of a second of it (stream_service.py).
BURST_SECONDS = 0.25
#: Bytes of a copy on the wire, which the token bucket counts (a consumer counts only the 1316 of payload).
FRAME = media.DATAGRAM + 42
RESTART_LOOPS = 10  # of the 30 s clip: longer than a rollout of the agent; stopped when the checks are done


def er_describe(cluster, name: str) -> str:
    return cluster.kubectl("describe", "er", "-n", PODS_NS, name, check=False).stdout


def wait_er_ready(cluster, *names: str, timeout: int = 180) -> None:
    r = cluster.kubectl(
        "wait",
        "-n",
        PODS_NS,
        "--for=condition=Ready",
        *[f"er/{n}" for n in names],
        f"--timeout={timeout}s",
        check=False,
        timeout=timeout + 30,
    )
    assert r.returncode == 0, r.stderr + "".join(er_describe(cluster, n) for n in names) + describe(cluster)


def replicas_identical(pods, timeout: float = 60) -> dict:
    """Wait for every replica pod's whole tree to equal the origin's (both read from inside the pods);
    the origin's tree. On timeout, each differing path and how it differs."""
    last = {}

    def same():
        last["origin"] = pods.tree(ORIGIN, STATE_ROOT)
        for r in REPLICAS:
            last[r] = pods.tree(r, STATE_ROOT)
        return all(last[r] == last["origin"] for r in REPLICAS) and last["origin"]

    if settle(same, timeout=timeout, interval=1):
        return last["origin"]
    report = []
    for r in REPLICAS:
        if r in last and "origin" in last:
            kinds = differences_by_kind(last["origin"], last[r])
            report.append(f"{r}: {kinds}\n  " + "\n  ".join(differences(last["origin"], last[r])[:30]))
    raise AssertionError("replicas differ from the origin:\n" + "\n".join(report))


def database(pods, name: str) -> tuple[str, int]:
    """integrity_check and the item count of the web app's database in a pod, judged by sqlite3 on a
    copy (opening a WAL database writes beside it)."""
    out = pods.sh(
        name,
        f"rm -rf /tmp/check && mkdir /tmp/check && cp -p {STATE_ROOT}/app.db /tmp/check/"
        f" && if [ -e {STATE_ROOT}/app.db-wal ]; then cp -p {STATE_ROOT}/app.db-wal /tmp/check/; fi"
        " && sqlite3 /tmp/check/app.db 'PRAGMA integrity_check' 'SELECT count(*) FROM items'",
    ).split()
    return out[0], int(out[1])


@pytest.fixture(scope="module")
def pods(cluster):
    return Pods(cluster, PODS_NS)


@pytest.fixture(scope="module")
def sensor(cluster):
    """The camera outside the node; its link is the stream's ingress interface. Removed even on failure."""
    with Sensor() as s:
        yield s


def test_web_app_state_in_replica_pods_strictly_identical(cluster, pods):
    """The state example with real pods: the web app in the origin pod has state before the EdgeReplica
    exists (the replicas start from a resync), then takes requests and tree changes; both replica pods
    end strictly identical to it, read from inside each pod, and its database is sound in each."""
    pods.create(
        origin_pod(ORIGIN, {"app": "web", "role": "origin"}, STATE_ROOT),
        *[idle_pod(r, {"app": "web", "role": "edge"}, "web", mkdir=STATE_ROOT) for r in REPLICAS],
    )
    before = Writer(pods, ORIGIN, "before", count=50, interval=0).wait()
    assert before == {"stored": 50, "stopped": True, "error": None}, before
    cluster.kubectl("apply", "-n", PODS_NS, "-f", str(STATE_EXAMPLE))
    wait_er_ready(cluster, "web")

    during = Writer(pods, ORIGIN, "state", count=STATE_REQUESTS, interval=0).wait()
    assert during == {"stored": STATE_REQUESTS, "stopped": True, "error": None}, during
    pods.sh(ORIGIN, TREE_OPS)
    tree = replicas_identical(pods)

    # the comparison saw every kind of property it checks, so none of them went unchecked
    entries = list(tree.values())
    assert len([k for k in tree if k.startswith("items/")]) == 50 + STATE_REQUESTS
    assert tree["static/home.html"] == "link ->index.html uid=101 gid=102 mtime=1015218367500000us"
    assert tree["static/db-link"].startswith("link ->../app.db ")
    assert "hardlink-of=static/index-hardlink.html" in tree["static/index.html"]
    assert tree["static/css"].startswith("dir mode=2750 uid=101 gid=102 ")
    assert "mtime=981173106123456789 " in tree["static/css/site.css"]
    assert tree["static/index.html"].startswith("file mode=0640 uid=101 gid=102 ")
    assert tree["static/tool"].startswith("file mode=4755 uid=0 gid=0 ")
    assert "static/gone.txt" not in tree and "static/draft.txt" not in tree and "static/final.txt" in tree
    assert any(e.startswith("file ") and "app.db" in k for k, e in tree.items())
    assert sum(e.startswith("dir ") for e in entries) >= 4 and "." in tree
    for r in REPLICAS:
        assert database(pods, r) == ("ok", 50 + STATE_REQUESTS), r

    def in_sync():
        er = json.loads(cluster.kubectl("get", "er", "-n", PODS_NS, "web", "-o", "json").stdout)
        conds = {c["type"]: c["status"] for c in er["status"]["conditions"]}
        replicas = {r["pod"] for r in er["status"].get("state", {}).get("replicas", [])}
        return conds.get("InSync") == "True" and replicas == set(REPLICAS)

    assert settle(in_sync, timeout=60), er_describe(cluster, "web")


def delivered(cluster, name: str) -> dict:
    """deliveredPackets per consumer, as the EdgeReplica's status has them."""
    status = json.loads(cluster.kubectl("get", "er", "-n", PODS_NS, name, "-o", "json").stdout).get(
        "status", {}
    )
    return {c["name"]: c.get("deliveredPackets", 0) for c in status.get("stream", {}).get("consumers", [])}


def decoded_frames(pods, name: str, path: str) -> int:
    """Video frames ffmpeg (ffprobe) decodes from a capture, inside the consumer's pod."""
    return media.parse_frames(pods.exec(name, *media.frames_command(path), timeout=300).stdout)


def test_stream_to_consumer_pods_with_budgets(cluster, pods, sensor):
    """A 22 Mbit/s H.264 clip from the sensor through the node's tc replicator to three consumer pods:
    unbudgeted (every datagram, bit-exact), DifferentialFirst at 80 % (no key-frame datagram lost) and
    Uniform at 80 %; both budgets hold and the status counts what each pod received."""
    clip = media.clip("h264", seconds=8, bitrate="22M")
    rate_bps = clip.stat().st_size * 8 / media.duration(clip)
    pods.create(*[idle_pod(f"{n}-0", {"app": n}, "sink") for n in CONSUMERS])
    sinks = {n: Sink(pods, f"{n}-0", "/srv/stream.ts", CONSUMER_PORT) for n in CONSUMERS}
    budget_bps = rate_bps * BUDGET
    er = edge_replica(
        "cameras",
        PODS_NS,
        stream=stream(
            [consumer(n, qoc=None if p is None else budget(budget_bps, p)) for n, p in CONSUMERS.items()],
            ingress={"interface": SENSOR_LINK, "nodeName": NODE},
            inspection="MPEGTS",
            datapath="TC",
        ),
    )
    cluster.kubectl("apply", "-f", "-", input=json.dumps(er))
    wait_er_ready(cluster, "cameras")

    began = time.monotonic()
    sender = sensor.send(media.sender_command(clip, SENSOR_HOST_IP, INGRESS_PORT), cluster.workdir / "logs")
    assert sender.popen.wait(timeout=120) == 0, sender.tail()
    sending = time.monotonic() - began  # the kernel saw the stream within this window
    originals = media.datagrams(clip)
    assert sender.tail(1).strip() == str(len(originals)), sender.tail()
    settle(lambda: sinks["full"].received() == len(originals), timeout=30)
    # the counters are coalesced every 2 s: once they agree with the pods, nothing is in flight
    settle(lambda: delivered(cluster, "cameras") == {n: s.received() for n, s in sinks.items()}, timeout=30)
    counted = delivered(cluster, "cameras")
    summaries = {n: s.stop() for n, s in sinks.items()}

    reference = media.reference_datagrams(clip)
    frames = media.decodable_frames(clip)
    report = {}
    for n, sink in sinks.items():
        local = sink.fetch(cluster.workdir / "captures")
        got = media.received_datagrams(local)
        lost = media.lost_datagrams(originals, got)
        report[n] = {
            "received": len(got),
            "lost": len(lost),
            "lost_reference": sum(1 for i in lost if reference[i]),
            "delivered_bps": summaries[n]["bytes"] * 8 / sending,
            "frames_decoded_in_pod": decoded_frames(pods, sink.name, sink.out),
            "psnr": media.psnr(local, clip),
            "status_delivered": counted.get(n),
        }
        assert summaries[n]["packets"] == len(got), (n, summaries[n])
    log.info("stream to consumer pods (%.0f bit/s, budgets %.0f bit/s): %s", rate_bps, budget_bps, report)
    full, diff, uniform = report["full"], report["diff"], report["uniform"]
    assert full["lost"] == 0 and full["psnr"] == float("inf"), full
    # bit-exact: the capture is the clip, byte for byte
    assert (cluster.workdir / "captures" / "full-0-stream.ts").read_bytes() == clip.read_bytes()
    assert full["frames_decoded_in_pod"] == frames, full
    assert diff["lost_reference"] == 0, diff
    for name, r in (("diff", diff), ("uniform", uniform)):
        assert 0 < r["lost"] and r["frames_decoded_in_pod"] > 0, (name, r)
        # the token bucket: the budget over the window plus its depth (it counts frames; payload is less)
        allowed = budget_bps / 8 * (sending + BURST_SECONDS) + FRAME
        assert summaries[name]["bytes"] <= allowed, (name, summaries[name]["bytes"], allowed)
    assert (
        uniform["lost_reference"] > 0
    ), uniform  # Uniform's budget spares no class: what DifferentialFirst avoids
    for n, r in report.items():
        assert abs(r["status_delivered"] - r["received"]) <= 0.01 * r["received"], (n, r)


def agent_pods(cluster) -> list[str]:
    return cluster.kubectl(
        "get", "pods", "-n", NS, "-l", "app.kubernetes.io/component=agent", "-o", "name"
    ).stdout.split()


def test_rollout_restart_of_the_agents_while_the_stream_flows_and_the_app_writes(cluster, pods, sensor):
    """`kubectl rollout restart` of the DaemonSet: the new loader adopts what the old one pinned, so the
    unbudgeted consumer pod loses no datagram, the app keeps taking requests, both EdgeReplicas are
    Ready again and the replica pods converge to the origin's tree."""
    clip = media.clip("h264", seconds=30, size="640x360", bitrate="4M")
    full = Sink(pods, "full-0", "/srv/restart.ts", CONSUMER_PORT)
    writer = Writer(pods, ORIGIN, "restart")
    sender = sensor.send(
        media.sender_command(clip, SENSOR_HOST_IP, INGRESS_PORT, loops=RESTART_LOOPS),
        cluster.workdir / "logs",
    )
    try:
        took = restart_agents(cluster, full, writer)
        assert sender.alive(), "the sender finished before the restart was over: raise RESTART_LOOPS"
    finally:
        sender.stop()
    full.stop()
    written = writer.stop()
    got = media.received_datagrams(full.fetch(cluster.workdir / "captures"))
    lost, sent = media.lost_before_stop(media.datagrams(clip) * RESTART_LOOPS, got)
    log.info(
        "rollout restart: Ready again after %.1f s; %d of %d datagrams received, %d lost; %d items",
        took,
        len(got),
        sent,
        len(lost),
        written["stored"],
    )
    assert len(got) > 5000, f"{len(got)} datagrams received: too few to judge"
    assert not lost, f"{len(lost)} of {sent} datagrams lost across the restart (first {lost[:10]})"
    assert written["error"] is None and written["stored"] > 0, written
    tree = replicas_identical(pods)
    assert len([k for k in tree if k.startswith("items/")]) == 50 + STATE_REQUESTS + written["stored"]
    # both EdgeReplicas stay: the uninstall meets a live stream and a live state replication


def restart_agents(cluster, full: Sink, writer: Writer) -> float:
    """Roll the DaemonSet while the stream and the writes flow; seconds until both EdgeReplicas are Ready
    again with new agent pods, which go on forwarding and replicating."""
    assert settle(
        lambda: full.received() > 200, timeout=60
    ), f"no stream before the restart: {full.summary()}"
    old = agent_pods(cluster)
    t = time.monotonic()
    cluster.kubectl("rollout", "restart", "-n", NS, DS)
    rollout(cluster, DS)
    wait_er_ready(cluster, "cameras", "web")
    took = time.monotonic() - t
    assert set(agent_pods(cluster)).isdisjoint(old), (old, agent_pods(cluster))
    at, stored = full.received(), writer.summary()["stored"]
    assert settle(lambda: full.received() > at + 1000, timeout=60), full.summary()
    assert settle(lambda: writer.summary()["stored"] > stored, timeout=30), writer.summary()
    return took


def test_helm_upgrade_with_a_changed_value(cluster):
    cluster.helm("upgrade", RELEASE, CHART, "--namespace", NS, "--set", "agent.logLevel=DEBUG")
    rollout(cluster, DS)
    rollout(cluster, DEPLOY)
    env = cluster.kubectl(
        "get", "-n", NS, DS, "-o", "jsonpath={.spec.template.spec.containers[0].env}"
    ).stdout
    assert "DEBUG" in env


def test_a_missing_agent_image_is_named_in_the_condition(cluster):
    """Bad input: an upgrade to an agent image the node cannot get. The EdgeReplica's Programmed condition names
    the node, the agent pod and the kubelet's reason and image; an upgrade back recovers it."""

    def message():
        return cluster.kubectl(
            "get",
            "er",
            "-n",
            "default",
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Programmed')].message}",
            check=False,
        ).stdout

    cluster.helm(
        "upgrade", RELEASE, CHART, "--namespace", NS, "--reuse-values", "--set", "agent.image=agent-gone"
    )
    assert settle(lambda: "ImagePull" in message() and "agent-gone" in message(), timeout=180), (
        message(),
        describe(cluster),
    )
    assert "no agent connected on node(s) erc-node1 (agent pod edgerep-agent-" in message()
    cluster.helm("upgrade", RELEASE, CHART, "--namespace", NS, "--reuse-values", "--set", "agent.image=agent")
    rollout(cluster, DS)
    r = cluster.kubectl(
        "wait", "-n", "default", "--for=condition=Ready", "er/web", "--timeout=180s", check=False, timeout=210
    )
    assert r.returncode == 0, r.stderr + message()


def test_teardown_is_refused_to_anyone_but_the_uninstall_hook(cluster):
    """Any pod reaches the operator's HTTP port: a teardown without the uninstall account's token is refused
    (403, naming why) and changes nothing."""
    import urllib.error
    import urllib.request

    pod = json.loads(
        cluster.kubectl(
            "get", "pods", "-n", NS, "-l", "app.kubernetes.io/component=operator", "-o", "json"
        ).stdout
    )["items"][0]
    url = f"http://{pod['status']['podIP']}:8080/edgerep/v1/teardown"
    agent_token = cluster.kubectl("create", "token", f"{RELEASE}-agent", "-n", NS).stdout.strip()
    for headers, words in (
        ({}, "a bearer token is required"),
        ({"Authorization": "Bearer not-a-token"}, "not authenticated"),
        ({"Authorization": f"Bearer {agent_token}"}, f"system:serviceaccount:{NS}:{RELEASE}-agent may not"),
    ):
        req = urllib.request.Request(url, method="POST", data=b"", headers=headers)
        try:
            urllib.request.urlopen(req, timeout=30)
            raise AssertionError(f"a teardown with {list(headers)} was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 403, e
            assert words in json.load(e)["error"]
    r = cluster.kubectl(
        "wait", "-n", "default", "--for=condition=Ready", "er/web", "--timeout=60s", check=False, timeout=90
    )
    assert r.returncode == 0, r.stderr
    assert PIN_DIR.exists()


def test_helm_uninstall_leaves_nothing(cluster):
    """Uninstalled while EdgeReplicas still exist: the pre-delete hook has every agent remove edgerep's programs,
    traces and pins, and the operator release its finalizers; the garbage collector takes what the operator made
    (CA Secret, agents' ConfigMap, leader Lease). The EdgeReplicas stay, with the CRD, and delete at once."""
    before = json.loads(cluster.kubectl("get", "er", "-A", "-o", "json").stdout)["items"]
    assert before, "the uninstall is meant to meet live EdgeReplicas"
    assert PIN_DIR.exists(), "nothing was pinned: the uninstall would prove nothing"
    assert edgerep_attachments(), "no stream attached: the uninstall would prove nothing of the kernel side"
    loaded = bpfobjs.held_by_loader(str(PIN_DIR))
    assert {n.split()[0] for n in bpfobjs.alive(loaded)} >= {"stream_tc", "stream_xdp"}, bpfobjs.alive(loaded)
    cluster.helm("uninstall", RELEASE, "--namespace", NS, "--wait", "--timeout=300s", timeout=330)
    assert settle(
        lambda: cluster.kubectl("get", "pods", "-n", NS, "-o", "name").stdout.strip() == "", timeout=180
    ), describe(cluster)
    assert settle(
        lambda: cluster.kubectl(
            "get", "secrets,configmaps,leases,jobs,serviceaccounts", "-n", NS, "-o", "name"
        ).stdout.split()
        == ["configmap/kube-root-ca.crt", "serviceaccount/default"],
        timeout=60,
    ), ("left after helm uninstall", cluster.kubectl("get", "all,secrets,configmaps,leases", "-n", NS).stdout)
    pins = sorted(str(p) for p in PIN_DIR.rglob("*")) if PIN_DIR.exists() else []
    assert not PIN_DIR.exists(), f"pins left: {pins}"
    assert edgerep_attachments() == []
    # nothing holds a program of the node's loader any more: not a pin, an attachment or a process (freeing them
    # takes a moment)
    assert settle(lambda: bpfobjs.alive(loaded) == [], timeout=30), bpfobjs.alive(loaded)
    after = json.loads(cluster.kubectl("get", "er", "-A", "-o", "json").stdout)["items"]
    assert sorted(e["metadata"]["name"] for e in after) == sorted(e["metadata"]["name"] for e in before)
    stuck = {
        e["metadata"]["name"]: e["metadata"].get("finalizers")
        for e in after
        if e["metadata"].get("finalizers")
    }
    assert stuck == {}, "finalizers nothing will remove"
    for e in after:
        cluster.kubectl(
            "delete", "er", "-n", e["metadata"]["namespace"], e["metadata"]["name"], "--timeout=30s"
        )


def test_a_restricted_namespace_names_pod_security_as_the_cause(cluster):
    """Bad input: installed where Pod Security enforces 'restricted', the agents cannot start; the DaemonSet's
    events say why (and the operator, which is restricted-compliant, still runs)."""
    ns = "erc-restricted"
    cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    try:
        cluster.helm("install", "strict", CHART, "--namespace", ns)

        def reason():
            ev = cluster.kubectl(
                "get",
                "events",
                "-n",
                ns,
                "--field-selector",
                "reason=FailedCreate",
                "-o",
                "jsonpath={.items[*].message}",
            ).stdout
            return "violates PodSecurity" in ev and "restricted" in ev and ev

        assert settle(reason, timeout=60), describe(cluster)
    finally:
        cluster.helm("uninstall", "strict", "--namespace", ns, "--wait", check=False)
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
