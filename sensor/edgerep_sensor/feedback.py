# SPDX-License-Identifier: Apache-2.0
"""The sensor's side of the feedback protocol (docs/SENSOR.md).

The sensor watches its EdgeReplica through the API server and acts on the entry of
``status.stream.sensorFeedback`` for the node it sends to; it reports what it sends and
saves in the annotation ``sensor.edgerep.io/<node>``, which the operator copies into that
entry. Whenever it cannot know what the consumers need — no entry for its node and port,
the resource gone, the API server unreachable for longer than ``stale_after`` — it sends
the whole stream: the edge still enforces every consumer's policy, so sending too much
costs bandwidth, never a consumer's packets.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from edgerep_sensor.kube import ApiError, Client

log = logging.getLogger("edgerep.sensor")

GROUP_PATH = "/apis/edgerep.io/v1alpha1"
REPORT_PREFIX = "sensor.edgerep.io/"


@dataclass(frozen=True)
class Feedback:
    """What the sensor may send: everything (``full``) or ``max_bitrate`` bit/s dropped by ``policy``."""

    full: bool
    max_bitrate: int | None = None
    policy: str | None = None
    why: str = ""

    def describe(self) -> str:
        return "full" if self.full else f"{self.max_bitrate} bit/s {self.policy}"


def full(why: str) -> Feedback:
    return Feedback(True, why=why)


def from_resource(er: dict | None, node: str, port: int) -> Feedback:
    """The feedback for the stream entering ``node`` on ``port`` in an EdgeReplica as the API has it."""
    if er is None:
        return full("the EdgeReplica does not exist")
    entries = ((er.get("status") or {}).get("stream") or {}).get("sensorFeedback") or []
    entry = next((e for e in entries if e.get("node") == node), None)
    if entry is None:
        return full(f"no sensor feedback for node {node}")
    if entry.get("port") != port:
        return full(f"the stream on {node} is on port {entry.get('port')}, not {port}")
    if entry.get("full", True):
        return full("a consumer receives the whole stream")
    rate, policy = entry.get("maxBitrate"), entry.get("policy")
    if not isinstance(rate, int) or rate <= 0 or policy not in ("DifferentialFirst", "Uniform"):
        return full(f"unusable feedback {entry}")
    return Feedback(False, rate, policy, "budgeted consumers only")


class Watcher:
    """Follows one EdgeReplica in a thread; :attr:`current` is the feedback to apply now."""

    def __init__(
        self, client: Client, namespace: str, name: str, node: str, port: int, stale_after: float = 5.0
    ):
        self.client, self.namespace, self.name, self.node, self.port = client, namespace, name, node, port
        self.stale_after = stale_after
        self._latest = full("no answer from the API server yet")
        self._since_lost: float | None = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.changed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feedback", daemon=True)

    @property
    def path(self) -> str:
        return f"{GROUP_PATH}/namespaces/{quote(self.namespace)}/edgereplicas"

    @property
    def current(self) -> Feedback:
        with self._lock:
            lost = self._since_lost
            latest = self._latest
        if lost is not None and time.monotonic() - lost > self.stale_after and not latest.full:
            return full(f"no word from the API server for {self.stale_after:.0f} s")
        return latest

    def start(self) -> "Watcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _set(self, fb: Feedback) -> None:
        with self._lock:
            old, self._latest, self._since_lost = self._latest, fb, None
        if fb != old:
            log.info("feedback: %s (%s)", fb.describe(), fb.why)
            self.changed.set()

    def _run(self) -> None:
        backoff = 0.2
        query = "?fieldSelector=" + quote(f"metadata.name={self.name}")
        while not self._stop.is_set():
            try:
                # a watch without resourceVersion starts with the object as it is (ADDED), if it exists
                seen = False
                for ev in self.client.watch(self.path + query):
                    if self._stop.is_set():
                        return
                    kind, obj = ev.get("type"), ev.get("object") or {}
                    if kind in ("ADDED", "MODIFIED"):
                        seen = True
                        self._set(from_resource(obj, self.node, self.port))
                    elif kind == "DELETED":
                        self._set(from_resource(None, self.node, self.port))
                    elif kind == "ERROR":
                        raise ApiError(obj.get("code", 0), obj.get("message", "watch error"))
                    backoff = 0.2
                if not seen:
                    # the initial state of a watch lists nothing when the object does not exist
                    self._set(self._get())
            except ApiError as e:
                with self._lock:
                    if self._since_lost is None:
                        self._since_lost = time.monotonic()
                log.warning("feedback watch: %s; again in %.1f s", e, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _get(self) -> Feedback:
        try:
            return from_resource(
                self.client.request("GET", f"{self.path}/{quote(self.name)}"), self.node, self.port
            )
        except ApiError as e:
            if e.code == 404:
                return from_resource(None, self.node, self.port)
            raise


def report(client: Client, namespace: str, name: str, node: str, sent_bps: int, saved_bps: int) -> bool:
    """Writes the sensor's figures into its annotation; False when the resource is gone or unreachable."""
    value = json.dumps(
        {
            "sentBps": int(sent_bps),
            "savedBps": int(saved_bps),
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    body = {"metadata": {"annotations": {REPORT_PREFIX + node: value}}}
    try:
        client.request(
            "PATCH", f"{GROUP_PATH}/namespaces/{quote(namespace)}/edgereplicas/{quote(name)}", body
        )
        return True
    except ApiError as e:
        log.debug("report not written: %s", e)
        return False
