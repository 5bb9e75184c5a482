# SPDX-License-Identifier: Apache-2.0
"""edgerep installed with helm on a real node, from images built here; driven only by kubectl and helm.

The tests run in order and share one installation: install, an EdgeReplica Ready,
rollout restart, upgrade, uninstall.
"""

from __future__ import annotations

import json
from pathlib import Path


from edgerep_e2e import bpfobjs
from edgerep_e2e.cluster import PIN_DIR, edgerep_attachments
from edgerep_e2e.proc import settle

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


def app_pod(name: str, role: str, command: str) -> dict:
    """A real pod of the state example's app (app=web): a shell writing under /data, from an image built here."""
    from edgerep_e2e.images import refs

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web", "role": role}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "web",
                    "image": refs()["loader"],
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", command],
                }
            ],
        },
    }


def exec_out(cluster, pod: str, *cmd: str) -> str:
    return cluster.kubectl("exec", "-n", "default", pod, "-c", "web", "--", *cmd).stdout


def test_an_edgereplica_becomes_ready_and_replicas_follow_the_origin(cluster):
    origin = app_pod("web-origin", "origin", "mkdir -p /data && echo first > /data/a && exec sleep infinity")
    edge = app_pod("web-edge", "edge", "mkdir -p /data && exec sleep infinity")
    for pod in (origin, edge):
        cluster.kubectl("apply", "-n", "default", "-f", "-", input=json.dumps(pod))
    r = cluster.kubectl(
        "wait",
        "-n",
        "default",
        "--for=condition=Ready",
        "pod/web-origin",
        "pod/web-edge",
        "--timeout=120s",
        check=False,
        timeout=150,
    )
    assert r.returncode == 0, r.stderr + describe(cluster)
    example = Path(CHART).parents[1] / "deploy" / "examples" / "state.yaml"
    cluster.kubectl("apply", "-n", "default", "-f", str(example))
    r = cluster.kubectl(
        "wait", "-n", "default", "--for=condition=Ready", "er/web", "--timeout=180s", check=False, timeout=210
    )
    assert r.returncode == 0, (
        r.stderr + cluster.kubectl("describe", "er", "-n", "default", "web", check=False).stdout
    )
    # a write at the origin after the replica is in sync reaches it
    exec_out(cluster, "web-origin", "sh", "-c", "seq 1 20000 > /data/b && echo second >> /data/a")
    want = exec_out(cluster, "web-origin", "sha256sum", "/data/a", "/data/b")
    assert settle(
        lambda: exec_out(cluster, "web-edge", "sha256sum", "/data/a", "/data/b") == want, timeout=60
    ), (
        want,
        cluster.kubectl("exec", "-n", "default", "web-edge", "--", "ls", "-la", "/data", check=False).stdout,
        cluster.kubectl("describe", "er", "-n", "default", "web", check=False).stdout,
    )


def test_rollout_restart_of_the_agents(cluster):
    cluster.kubectl("rollout", "restart", "-n", NS, DS)
    rollout(cluster, DS)
    r = cluster.kubectl(
        "wait", "-n", "default", "--for=condition=Ready", "er/web", "--timeout=120s", check=False, timeout=150
    )
    assert r.returncode == 0, r.stderr


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
    # nothing holds a program any more: not a pin, an attachment or a process (freeing them takes a moment)
    assert settle(lambda: bpfobjs.edgerep_programs() == [], timeout=30), bpfobjs.edgerep_programs()
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
