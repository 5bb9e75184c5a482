# SPDX-License-Identifier: Apache-2.0
"""Cgroups, processes and event collection for the state-capture tests.

Everything created carries the prefix ``edgerep-t-state`` and is removed in
``finally`` blocks; :func:`remove_leftovers` clears what a killed run left.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import List, Optional

from edgerep.v1 import loader_pb2
from google.protobuf.duration_pb2 import Duration
from edgerep_loader.capabilities import cgroup2_mount

#: Our own sub-prefix of the project-wide "edgerep-t": leftovers cleanup never
#: touches other suites' cgroups or temp dirs on a shared machine.
PREFIX = "edgerep-t-state"
BPFFS = "/sys/fs/bpf"
PYTHON = "/usr/bin/python3"
WORKLOAD = os.path.join(os.path.dirname(__file__), "workload.py")
ANCHOR = os.path.join(os.path.dirname(__file__), "anchor.py")


def _kill_cgroup(path: str) -> None:
    for _ in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(x) for x in f.read().split()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    for sub in sorted(glob.glob(os.path.join(path, "*/")), reverse=True):
        _kill_cgroup(sub.rstrip("/"))
    try:
        os.rmdir(path)
    except OSError:
        pass


def remove_leftovers() -> None:
    """Remove cgroups, temp dirs and pin dirs of earlier (killed) runs, by our prefix only.

    Pin dirs: a StateService keeps its marker (state_service.TRACED_MARKER) in
    its pin dir while it traces.
    """
    mount = cgroup2_mount()
    if mount:
        for path in glob.glob(os.path.join(mount, PREFIX + "-*")):
            _kill_cgroup(path)
    for path in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "-*")):
        shutil.rmtree(path, ignore_errors=True)
    for path in glob.glob(os.path.join(BPFFS, PREFIX)) + glob.glob(os.path.join(BPFFS, PREFIX + "-*")):
        shutil.rmtree(path, ignore_errors=True)


class TestCgroup:
    """A cgroup v2 of our own whose processes the tests trace."""

    def __init__(self) -> None:
        mount = cgroup2_mount()
        assert mount, "no cgroup v2 hierarchy"
        self.path = os.path.join(mount, f"{PREFIX}-{uuid.uuid4().hex[:10]}")
        os.mkdir(self.path)
        self.id = os.stat(self.path).st_ino
        self.anchor: Optional[subprocess.Popen] = None

    def start_anchor(self, cwd: str = "/") -> None:
        """Start the cgroup's long-lived parent (before SetTrace, so the loader knows its cwd)."""
        self.anchor = subprocess.Popen(
            [PYTHON, "-B", ANCHOR],
            cwd=cwd,
            preexec_fn=self._enter,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _enter(self) -> None:
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def run(self, argv: List[str], cwd: Optional[str] = None, timeout: float = 120, **kw):
        """Run argv inside the cgroup (through the anchor when there is one); raise if it fails."""
        if self.anchor is not None and not kw:
            self.anchor.stdin.write(json.dumps({"argv": argv, "cwd": cwd, "timeout": timeout}) + "\n")
            self.anchor.stdin.flush()
            res = json.loads(self.anchor.stdout.readline())
            if res["rc"] != 0:
                raise subprocess.CalledProcessError(res["rc"], argv, stderr=res["stderr"])
            return res
        return subprocess.run(
            argv,
            cwd=cwd,
            preexec_fn=self._enter,
            check=True,
            timeout=timeout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **kw,
        )

    def popen(self, argv: List[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(argv, preexec_fn=self._enter, **kw)

    def remove(self) -> None:
        if self.anchor is not None:
            try:
                self.anchor.stdin.close()
                self.anchor.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self.anchor.stdout.close()
        _kill_cgroup(self.path)


class FakeContext:
    """The slice of grpc.ServicerContext that StateService uses, for in-process calls."""

    def __init__(self) -> None:
        self.active = True
        self.code = None
        self.details = None

    def is_active(self) -> bool:
        return self.active

    def abort(self, code, details):
        self.code, self.details = code, details
        raise RuntimeError(f"{code}: {details}")


class Collector:
    """Runs StreamStateEvents in a thread and keeps every batch."""

    def __init__(self, service, rep_ids=(), max_batch_events: int = 512, max_batch_age_ms: int = 5):
        self.ctx = FakeContext()
        self.batches: List[loader_pb2.StateEventBatch] = []
        self._lock = threading.Lock()
        req = loader_pb2.StreamStateEventsRequest(
            replication_ids=list(rep_ids),
            max_batch_events=max_batch_events,
            max_batch_age=Duration(nanos=max_batch_age_ms * 1_000_000),
        )
        before = len(service._subs)
        self._gen = service.stream_events(req, self.ctx)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        # subscribed once the service holds the queue: events before that would count as undelivered
        deadline = time.monotonic() + 30
        while len(service._subs) <= before:
            assert time.monotonic() < deadline, "the event stream never subscribed"
            time.sleep(0.005)

    def _run(self) -> None:
        for batch in self._gen:
            with self._lock:
                self.batches.append(batch)
            if not self.ctx.active:
                break

    @property
    def events(self) -> List[loader_pb2.StateEvent]:
        with self._lock:
            return [e for b in self.batches for e in b.events]

    def lost(self) -> dict:
        out: dict = {}
        with self._lock:
            for b in self.batches:
                for k, v in b.lost_records.items():
                    out[k] = out.get(k, 0) + v
        return out

    def wait_for(self, pred, timeout: float = 20.0) -> List[loader_pb2.StateEvent]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            evs = self.events
            if any(pred(e) for e in evs):
                return evs
            time.sleep(0.02)
        raise AssertionError(f"timed out; {len(self.events)} events so far")

    def wait_fence(self, fence_path: str, timeout: float = 20.0) -> List[loader_pb2.StateEvent]:
        """Events up to (not including) the mkdir of ``fence_path``."""
        evs = self.wait_for(lambda e: e.WhichOneof("op") == "mkdir" and e.mkdir.path == fence_path, timeout)
        i = next(i for i, e in enumerate(evs) if e.WhichOneof("op") == "mkdir" and e.mkdir.path == fence_path)
        return evs[:i]

    def stop(self) -> None:
        self.ctx.active = False
        self._thread.join(timeout=2)


def brief(e: loader_pb2.StateEvent, root: str = "") -> tuple:
    """A comparable tuple for an event, paths relative to ``root``."""
    kind = e.WhichOneof("op")
    op = getattr(e, kind)

    def rel(p: str) -> str:
        return p[len(root) :] if root and p.startswith(root) else p

    if kind == "write":
        return ("write", rel(op.path), op.offset, bytes(op.data), op.append)
    if kind == "create":
        return ("create", rel(op.path), op.mode, op.truncate)
    if kind == "truncate":
        return ("truncate", rel(op.path), op.length)
    if kind in ("rename", "link"):
        return (kind, rel(getattr(op, "from")), rel(op.to))
    if kind == "symlink":
        return ("symlink", op.target, rel(op.path))
    if kind in ("mkdir", "chmod"):
        return (kind, rel(op.path), op.mode)
    if kind == "dirty":
        reason = loader_pb2.DirtyReason.Name(op.reason).removeprefix("DIRTY_REASON_").lower()
        return ("dirty", rel(op.path), op.offset, op.length, reason)
    if kind == "attrs_changed":
        return ("attrs", rel(op.path), op.nofollow)
    return (kind, rel(op.path))


def run_workload(cg: TestCgroup, scenario: str, d: str, outside: str) -> None:
    cg.run([PYTHON, "-B", WORKLOAD, scenario, d, outside])


def run_outside(scenario: str, d: str, outside: str) -> None:
    subprocess.run([PYTHON, "-B", WORKLOAD, scenario, d, outside], check=True, timeout=60)
