# SPDX-License-Identifier: Apache-2.0
"""EdgeReplica manifests as the scenarios and the demo apply them (``cp.apply_json``, ``kubectl apply``).

The pieces compose: ``edge_replica(name, ns, stream=stream([consumer(...), ...]), state=web_state())``.
"""

from __future__ import annotations

API_VERSION = "edgerep.io/v1alpha1"
#: Where the sensor sends the stream: this UDP port on eth0 of node-a.
INGRESS_PORT = 5004
#: The UDP port a consumer pod receives its copy on (where its udp_sink listens).
CONSUMER_PORT = 6000
#: Labels of the web app's origin pod and of its replica pods.
WEB_ORIGIN = {"app": "web", "role": "origin"}
WEB_EDGE = {"app": "web", "role": "edge"}


def edge_replica(name: str, namespace: str, *, stream: dict | None = None, state: dict | None = None) -> dict:
    """An EdgeReplica with the halves given (``stream`` and ``state`` are spec.stream and spec.state)."""
    spec = {}
    if stream is not None:
        spec["stream"] = stream
    if state is not None:
        spec["state"] = state
    return {
        "apiVersion": API_VERSION,
        "kind": "EdgeReplica",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def stream(consumers: list[dict], *, ingress: dict | None = None, **fields) -> dict:
    """spec.stream: UDP INGRESS_PORT on eth0 of node-a (what ``ingress`` holds overrides or adds to it)
    copied to ``consumers``; ``fields`` are the rest of spec.stream (inspection, datapath, qocProfile)."""
    return {
        "ingress": {"interface": "eth0", "port": INGRESS_PORT, "nodeName": "node-a", **(ingress or {})},
        **fields,
        "consumers": consumers,
    }


def consumer(name: str, app: str | None = None, port=CONSUMER_PORT, qoc: dict | None = None) -> dict:
    """A consumer: the pods labelled app=``app`` (``name`` unless told), on ``port``, with ``qoc`` if any."""
    out = {"name": name, "podSelector": {"matchLabels": {"app": app or name}}, "port": port}
    if qoc is not None:
        out["qoc"] = qoc
    return out


def budget(bps: float, policy: str | None = "DifferentialFirst") -> dict:
    """A consumer's qoc: at most ``bps`` bit/s (whole), dropping by ``policy`` (the default one if None)."""
    qoc = {"maxBitrate": str(int(bps))}
    if policy is not None:
        qoc["policy"] = policy
    return qoc


def state(
    origin: dict, replicas: dict, *, container: str | None = None, paths: list[str] | None = None, **fields
) -> dict:
    """spec.state: the origin pod (its labels, and ``container`` if told) and the replica pods (their labels),
    replicating ``paths`` (``/srv`` unless told); ``fields`` are the rest of spec.state (maxLag)."""
    selected = {"podSelector": {"matchLabels": dict(origin)}}
    if container is not None:
        selected["container"] = container
    return {
        "origin": selected,
        "paths": ["/srv"] if paths is None else paths,
        "replicas": {"podSelector": {"matchLabels": dict(replicas)}},
        **fields,
    }


def web_state(max_lag: str | None = "1s") -> dict:
    """spec.state of the web app: /srv of its container "web", from the WEB_ORIGIN pod to the WEB_EDGE pods,
    with ``max_lag`` (none set if None)."""
    return state(WEB_ORIGIN, WEB_EDGE, container="web", **({} if max_lag is None else {"maxLag": max_lag}))
