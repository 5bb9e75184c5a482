# SPDX-License-Identifier: Apache-2.0
"""Scenario 5: bad input — invalid manifests through kubectl, and a hostile origin app.

- Invalid manifests: each case is either refused by ``kubectl apply`` with the schema's own message,
  or taken by the schema and then reported by the running operator as ``Accepted=False`` with a
  reason (plus a Warning Event), without status churn; the table says which, per case.
- A hostile origin app (replicated path ``/srv/data``): it writes through ``..``, through symbolic
  links that leave the replicated path or the root (absolute, relative, climbing above ``/``), swaps a
  directory for a link, renames files out of the path, through a link and into it, truncates and
  mkdirs through links. Every replica pod has ``/srv/outside`` beside the replicated path (same mount)
  and a private ``/media`` (another mount), each with a canary file: after the app ran and every
  replica applied the origin's last op, each replica's canaries are intact and alone, nothing named
  ``pwned`` exists anywhere outside the origin's own directories and the replicated paths, every agent
  and loader is alive, the resource is Ready and InSync. Then the replicas' files, directories and
  links must equal the origin's: links are mirrored verbatim, and what the app wrote through them out
  of the replicated path is refused on every replica.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import time
from pathlib import Path

import pytest

from conftest import running_edge
from edgerep_e2e import manifests
from edgerep_e2e.files import differences, tree_digest
from edgerep_e2e.proc import wait_for

log = logging.getLogger("edgerep.e2e")
CORPUS = "corpus"
NS = "web"


@pytest.fixture
def edge(workdir, request):
    with running_edge(["node-a", "node-b"], workdir, request) as edge:
        yield edge


# the cases' specs: spec.stream with one consumer "det" unless told, spec.state from role=origin to role=edge
def stream(consumers=None, **ingress) -> dict:
    return {"stream": manifests.stream(consumers or consumer(), ingress=ingress)}


def consumer(**fields) -> list:
    return [manifests.consumer("det", **fields)]


def state(**fields) -> dict:
    return {"state": manifests.state({"role": "origin"}, {"role": "edge"}, **fields)}


#: name -> (spec, expectation): "schema: <message kubectl prints>" or "Accepted=False <Reason>"
CASES = {
    "ingress-port-zero": (
        stream(port=0),
        "schema: spec.stream.ingress.port in body should be greater than or equal to 1",
    ),
    "ingress-port-70000": (
        stream(port=70000),
        "schema: spec.stream.ingress.port in body should be less than or equal to 65535",
    ),
    "consumer-port-zero": (
        stream(consumer(port=0)),
        "schema: spec.stream.consumers[0].port in body should be greater than or equal to 1",
    ),
    "consumer-port-string": (
        stream(consumer(port="6000x")),
        'schema: spec.stream.consumers[0].port: Invalid value: "string"',
    ),
    "neither-stream-nor-state": ({}, "schema: at least one of spec.stream and spec.state must be set"),
    "duplicate-consumer-names": (
        stream(consumer() + consumer()),
        "schema: consumer names must be unique",
    ),
    "no-consumers": (
        {"stream": {**stream()["stream"], "consumers": []}},
        "schema: spec.stream.consumers in body should have at least 1 items",
    ),
    "bitrate-fast": (
        stream(consumer(qoc={"maxBitrate": "fast"})),
        "schema: spec.stream.consumers[0].qoc.maxBitrate in body should match",
    ),
    "policy-unknown": (
        stream(consumer(qoc={"maxBitrate": "2M", "policy": "Aggressive"})),
        'schema: spec.stream.consumers[0].qoc.policy: Unsupported value: "Aggressive"',
    ),
    "rate-and-bitrate": (
        stream(consumer(qoc={"maxBitrate": "2M", "minDetectionRate": 0.9})),
        "schema: set either minDetectionRate or maxBitrate, not both",
    ),
    "uniform-without-budget": (
        stream(consumer(qoc={"policy": "Uniform"})),
        "schema: policy Uniform needs minDetectionRate or maxBitrate",
    ),
    "detection-rate-above-one": (
        stream(consumer(qoc={"minDetectionRate": 1.5})),
        "schema: spec.stream.consumers[0].qoc.minDetectionRate in body should be less than or equal to 1",
    ),
    "protocol-tcp": (
        stream(protocol="TCP"),
        'schema: spec.stream.ingress.protocol: Unsupported value: "TCP"',
    ),
    "interface-too-long": (
        stream(interface="averyverylongname"),
        "schema: spec.stream.ingress.interface in body should match",
    ),
    "consumer-selector-missing": (
        stream([{"name": "det", "port": 6000}]),
        "schema: spec.stream.consumers[0].podSelector: Required value",
    ),
    "replica-selector-missing": (
        {"state": {**state()["state"], "replicas": {}}},
        "schema: spec.state.replicas.podSelector: Required value",
    ),
    "path-dotdot": (state(paths=["/srv/../etc"]), "schema: paths must be absolute, must not be '/'"),
    "path-root": (state(paths=["/"]), "schema: paths must be absolute, must not be '/'"),
    "path-relative": (state(paths=["srv"]), "schema: paths must be absolute, must not be '/'"),
    "path-double-slash": (state(paths=["//etc"]), "schema: paths must be absolute, must not be '/'"),
    "max-lag-soon": (state(maxLag="soon"), "schema: spec.state.maxLag in body should match"),
    # taken by the schema, refused by the operator
    "bitrate-zero": (stream(consumer(qoc={"maxBitrate": "0"})), "Accepted=False InvalidBitrate"),
    "max-lag-zero": (state(maxLag="0s"), "Accepted=False InvalidMaxLag"),
    "profile-unknown": (
        {"stream": {**stream()["stream"], "qocProfile": "nosuch"}},
        "Accepted=False UnknownQocProfile",
    ),
    "selector-unknown-operator": (
        stream(
            [
                {
                    "name": "det",
                    "podSelector": {
                        "matchExpressions": [{"key": "app", "operator": "Maybe", "values": ["a"]}]
                    },
                    "port": 6000,
                }
            ]
        ),
        "Accepted=False InvalidSelector",
    ),
    "selector-in-without-values": (
        stream(
            [
                {
                    "name": "det",
                    "podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]},
                    "port": 6000,
                }
            ]
        ),
        "Accepted=False InvalidSelector",
    ),
    "selector-contradiction": (
        stream(
            [
                {
                    "name": "det",
                    "podSelector": {
                        "matchLabels": {"app": "det"},
                        "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["det"]}],
                    },
                    "port": 6000,
                }
            ]
        ),
        "Accepted=False SelectorNeverMatches",
    ),
    "origin-ambiguous": (
        {"state": {**state()["state"], "origin": {"podSelector": {"matchLabels": {"role": "twin"}}}}},
        "Accepted=False OriginAmbiguous",
    ),
    "replicas-include-origin": (
        {
            "state": {
                **state()["state"],
                "replicas": {"podSelector": {"matchLabels": {"app": "solo"}}},
                "origin": {"podSelector": {"matchLabels": {"app": "solo", "role": "origin"}}},
            }
        },
        "Accepted=False ReplicaSelectsOrigin",
    ),
    "ingress-port-taken": (stream(port=7000), "Accepted=False IngressPortConflict"),
}


def manifest(name: str, spec: dict, namespace: str = CORPUS) -> str:
    return json.dumps(manifests.edge_replica(name, namespace, **spec))


def check_corpus(topo, cp, system) -> None:
    """Every case refused by the schema or reported Accepted=False, as its expectation says."""
    real = topo.add_pod("node-a", "corpus-pod", {})
    # Pod objects only (no process needs to run for a refused resource): two that the same origin
    # selector matches, and one that an origin and a replica selector both match
    system.register_pods(
        CORPUS,
        [
            dataclasses.replace(real, name="twin-a", labels={"role": "twin"}),
            dataclasses.replace(real, name="twin-b", labels={"role": "twin"}),
            dataclasses.replace(real, name="solo", labels={"app": "solo", "role": "origin"}),
        ],
    )
    # an older resource holding ingress port 7000 on node-a
    cp.kubectl("apply", "-f", "-", input=manifest("holder", stream(port=7000)))
    wait_for(
        "the holder accepted",
        lambda: cp.condition("er/holder", CORPUS, "Accepted").get("status") == "True",
        timeout=30,
    )
    # creation timestamps have a resolution of a second: the corpus comes strictly after the holder
    created = cp.get_json("er/holder", "-n", CORPUS)["metadata"]["creationTimestamp"]
    holder_second = datetime.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    wait_for("the next second", lambda: time.time() >= holder_second + 1, timeout=30, interval=0.02)

    failures, semantic = [], []
    for name, (spec, expect) in CASES.items():
        result = cp.kubectl("apply", "-f", "-", input=manifest(name, spec), check=False)
        kind, _, expected = expect.partition(" ")
        if kind == "schema:":
            if result.returncode == 0:
                failures.append(f"{name}: accepted by the API server, expected '{expected}'")
            elif expected not in result.stderr:
                failures.append(f"{name}: refused with '{result.stderr.strip()}', expected '{expected}'")
        elif result.returncode != 0:
            failures.append(f"{name}: refused by the API server ({result.stderr.strip()}), expected {expect}")
        else:
            semantic.append((name, expected))
    assert not failures, "\n".join(failures)
    log.info(
        "corpus: %d refused by the schema, %d taken for the operator",
        len(CASES) - len(semantic),
        len(semantic),
    )

    def verdicts():
        wrong = []
        for name, reason in semantic:
            accepted = cp.condition(f"er/{name}", CORPUS, "Accepted")
            if (
                accepted.get("status") != "False"
                or accepted.get("reason") != reason
                or not accepted.get("message")
            ):
                wrong.append(f"{name}: {accepted or 'no Accepted condition'}")
        return wrong

    wait_for(
        "every semantic case reported Accepted=False with its reason", lambda: not verdicts(), timeout=60
    )
    events = cp.get_json("events", "-n", CORPUS)["items"]
    versions = {}
    for name, reason in semantic:
        assert cp.condition(f"er/{name}", CORPUS, "Ready").get("status") == "False", name
        assert any(
            e["type"] == "Warning" and e["reason"] == reason and e["involvedObject"]["name"] == name
            for e in events
        ), f"{name}: no Warning event {reason}"
        versions[name] = cp.get_json(f"er/{name}", "-n", CORPUS)["metadata"]["resourceVersion"]
        log.info("%s: %s", name, cp.condition(f"er/{name}", CORPUS, "Accepted")["message"])
    # refused resources are left alone (no status churn): by the time the operator accepted a resource made
    # after them, none was written again (the operator's own suite checks that a reconcile of one writes nothing)
    cp.kubectl("apply", "-f", "-", input=manifest("after-corpus", stream(port=7001)))
    wait_for(
        "a valid resource made after the corpus accepted",
        lambda: cp.condition("er/after-corpus", CORPUS, "Accepted").get("status") == "True",
        timeout=60,
    )
    for name, _ in semantic:
        assert cp.get_json(f"er/{name}", "-n", CORPUS)["metadata"]["resourceVersion"] == versions[name], name
    assert system.operator.alive(), "the operator died on the corpus"


# --- the hostile origin ----------------------------------------------------------------------------

#: Replicated: /srv/data only. /srv/outside is beside it on the same mount (renames there succeed on
#: the origin), /media is a mount of its own (a different place the pod can reach).
HOSTILE = r"""
import os

def write(path, data=b"pwned\n"):
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        print("refused by the kernel:", path, e)

def attempt(what, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        print("refused by the kernel:", what, e)

D = "/srv/data"
os.makedirs(D + "/legit", exist_ok=True)
write(D + "/legit/a.txt", b"a" * 5000)
write(D + "/legit/moveme", b"m" * 100)
write(D + "/legit/b.txt", b"b" * 100)
# symbolic links that leave the replicated path or the root: absolute, relative, climbing above /
os.symlink("/media", D + "/link-abs")
os.symlink("../../media", D + "/link-rel")
os.symlink("../../../../../../../media", D + "/link-deep")
os.symlink("../outside", D + "/link-side")
os.symlink("../../", D + "/link-up")
os.symlink("/media/canary.txt", D + "/canary-link")
os.symlink("/srv/outside/canary.txt", D + "/side-canary-link")
write(D + "/link-abs/pwned")
write(D + "/link-rel/pwned-rel")
write(D + "/link-deep/pwned-deep")
write(D + "/link-side/pwned-side")
write(D + "/link-up/pwned-up")
write(D + "/link-up/media/pwned-up-media")
write(D + "/canary-link", b"pwned through a link\n")
write(D + "/side-canary-link", b"pwned through a link\n")
attempt("truncate through a link", os.truncate, D + "/canary-link", 3)
attempt("truncate through a link", os.truncate, D + "/side-canary-link", 3)
attempt("mkdir through a link", os.mkdir, D + "/link-abs/pwned-dir")
attempt("mkdir through a link", os.mkdir, D + "/link-side/pwned-dir")
# .. in the path, absolute and relative to the working directory
write(D + "/../../media/pwned-dotdot")
write(D + "/../outside/pwned-dotdot-side")
write(D + "/legit/../../outside/pwned-dotdot2")
os.chdir(D + "/legit")
write("../../outside/pwned-relative")
write("../../../media/pwned-relative")
# renames out of the replicated path, through a link, and into it from outside
attempt("rename out", os.rename, D + "/legit/moveme", D + "/../outside/pwned-renamed")
attempt("rename through a link", os.rename, D + "/legit/b.txt", D + "/link-side/pwned-renamed2")
write("/srv/outside/came-in.txt", b"written outside, then moved in\n")
attempt("rename in", os.rename, "/srv/outside/came-in.txt", D + "/legit/came-in.txt")
# a directory swapped for a link after it was written to
os.makedirs(D + "/dir")
write(D + "/dir/f", b"f" * 10)
os.rename(D + "/dir", D + "/dir-old")
os.symlink("/srv/outside", D + "/dir")
write(D + "/dir/pwned-swap")
# and legitimate writes after all that
write(D + "/legit/after.txt", b"after\n" * 100)
print("done")
"""


def files_and_dirs(root: Path) -> dict[str, str]:
    """Every path under root with all a program observes of it (files.tree_digest: links listed, never followed)."""
    return tree_digest(root)


def check_hostile_origin(topo, cp, system, workdir: Path) -> None:
    origin = topo.add_pod("node-a", "web-origin", {"role": "origin"}, container="web", outside=True)
    replicas = [
        topo.add_pod("node-a", "web-edge-a", {"role": "edge"}, container="web", outside=True),
        topo.add_pod("node-b", "web-edge-b", {"role": "edge"}, container="web", outside=True),
    ]
    canary = b"canary: must never change\n"
    canaries = []
    for pod in [origin, *replicas]:
        (pod.host_dir / "data").mkdir()
        (pod.host_dir / "outside").mkdir()
        canaries += [pod.outside_dir / "canary.txt", pod.host_dir / "outside" / "canary.txt"]
    for path in canaries:
        path.write_bytes(canary)
    system.register_pods(NS, [origin, *replicas])
    spec = {"state": {**state()["state"], "paths": ["/srv/data"], "maxLag": "1s"}}
    cp.kubectl("apply", "-f", "-", input=manifest("web", spec, NS))
    cp.kubectl("wait", "--for=condition=Ready", "er/web", "-n", NS, "--timeout=120s", timeout=130)

    app = origin.start("hostile", ["/usr/bin/python3", "-c", HOSTILE], log_dir=workdir / "logs")
    assert app.popen.wait(timeout=60) == 0, app.tail()
    log.info("hostile app:\n%s", app.tail(40))
    # it did reach outside on its own pod: that is the origin's business, not edgerep's
    assert (origin.outside_dir / "pwned").exists() and (
        origin.host_dir / "outside" / "pwned-renamed"
    ).exists()

    def data(pod) -> dict[str, str]:
        return {k: v for k, v in files_and_dirs(pod.host_dir / "data").items() if not v.startswith("link")}

    expected = data(origin)
    assert {"legit/after.txt", "legit/came-in.txt", "dir-old/f"} <= set(expected), expected
    assert "legit/moveme" not in expected and "legit/b.txt" not in expected

    def caught_up():
        st = (cp.get_json("er/web", "-n", NS).get("status") or {}).get("state") or {}
        return (
            st.get("lastSeq")
            and len(st.get("replicas", [])) == 2
            and all(r.get("appliedSeq") == st["lastSeq"] for r in st["replicas"])
            and st
        )

    st = wait_for("every replica at the origin's last sequence", caught_up, timeout=60)
    log.info("replication after the hostile app: %s", json.dumps(st))
    wait_for(
        "the legitimate files on every replica",
        lambda: all(data(r).get("legit/after.txt") == expected["legit/after.txt"] for r in replicas),
        timeout=30,
    )

    # 1. nothing outside any replica's replicated path changed
    for replica in replicas:
        for outside in (replica.outside_dir, replica.host_dir / "outside"):
            assert sorted(p.name for p in outside.iterdir()) == ["canary.txt"], f"{outside} was written to"
            assert (outside / "canary.txt").read_bytes() == canary, f"{outside}/canary.txt changed"
        assert sorted(p.name for p in replica.host_dir.iterdir()) == ["data", "outside"], replica.name
    # nothing named pwned anywhere outside the pods' replicated paths but in the origin's own directories
    stray = [
        str(p)
        for p in workdir.rglob("*pwned*")
        if origin.host_dir not in p.parents
        and origin.outside_dir not in p.parents
        and "logs" not in p.parts
        and not any(r.host_dir / "data" in p.parents for r in replicas)
    ]
    assert not stray, f"files named pwned outside the origin: {stray}"
    for host_path in ("/pwned", "/media/pwned", "/srv/pwned", "/etc/pwned", "/tmp/pwned", "/outside"):
        assert not os.path.lexists(host_path), host_path
    assert not any(Path("/media").iterdir()), "the host's own /media was written to"

    # 2. healthy: every agent and loader alive, Ready and InSync
    for rt in system.nodes.values():
        assert rt.agent.alive() and rt.loader.alive(), f"{rt.node.name}'s agent or loader died"
    wait_for(
        "Ready and InSync",
        lambda: cp.condition("er/web", NS, "Ready").get("status") == "True"
        and cp.condition("er/web", NS, "InSync").get("status") == "True",
        timeout=30,
    )
    events = [e for e in cp.get_json("events", "-n", NS)["items"] if e["type"] == "Warning"]
    log.info("warnings: %s", [(e["reason"], e["message"]) for e in events])

    # 3. faithful: each replica's files, directories and links are the origin's
    everything = files_and_dirs(origin.host_dir / "data")
    assert {"link-abs", "link-side", "dir", "canary-link"} <= {
        k for k, v in everything.items() if v.startswith("link")
    }, everything
    for replica in replicas:
        diff = differences(everything, files_and_dirs(replica.host_dir / "data"))
        assert not diff, f"{replica.name} differs from the origin:\n  " + "\n  ".join(diff)


def test_invalid_manifests_refused_by_schema_or_operator(edge):
    topo, cp, system = edge
    check_corpus(topo, cp, system)


def test_hostile_origin_cannot_write_outside_replica_roots(edge, workdir):
    topo, cp, system = edge
    check_hostile_origin(topo, cp, system, workdir)
