# SPDX-License-Identifier: Apache-2.0
"""The real loader as a process, and the calls an agent makes when it (re)connects.

Used by the restart tests: the loader runs as ``python3 -m edgerep_loader`` on
a socket and a pin dir of its own, in a cgroup of the suite's prefix (so the
leftovers cleanup ends a loader a killed run left), is killed with SIGKILL as a
crash would, and is started again. What the process holds in the kernel is read
from /proc: perf events are tracepoint attachments, bpf-prog fds of type
tracepoint are the state program, loaded or not.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from typing import List, Optional, Tuple

import grpc

from edgerep.v1 import loader_pb2, loader_pb2_grpc
from google.protobuf.duration_pb2 import Duration
from statelib.harness import BPFFS, PREFIX, PYTHON, TestCgroup

LOADER_PATH = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "loader"))
#: How often the test's agent dials a loader that does not answer yet.
DIAL_INTERVAL_S = 0.1
#: bpf_prog_type of tracepoint programs (uapi BPF_PROG_TYPE_TRACEPOINT).
PROG_TYPE_TRACEPOINT = 5
#: Pin dirs of the loaders started here; other state suites have pin dirs of their own.
PIN_PREFIX = f"{PREFIX}-loader"


def new_pin_dir() -> str:
    return os.path.join(BPFFS, f"{PIN_PREFIX}-{uuid.uuid4().hex[:8]}")


def remove_pin_dirs() -> None:
    """Pin dirs of these loaders (earlier killed runs included), by their prefix only."""
    for path in glob.glob(os.path.join(BPFFS, f"{PIN_PREFIX}-*")):
        shutil.rmtree(path, ignore_errors=True)


class LoaderProcess:
    """One loader process after another on the same socket and pin dir."""

    def __init__(self, workdir: str, pin_dir: str, loader_path: str = LOADER_PATH, netns: str = "") -> None:
        self.netns = netns  # a named network namespace the loader runs in ("" for the test's own)
        self.socket = os.path.join(workdir, "loader.sock")
        self.pin_dir = pin_dir
        self.workdir = workdir
        self.starts = 0
        self.loader_path = loader_path
        self.proc: Optional[subprocess.Popen] = None
        self.dead: List[subprocess.Popen] = []
        self.cgroup = TestCgroup()

    @property
    def log_path(self) -> str:
        """The log of the last loader started."""
        return os.path.join(self.workdir, f"loader-{self.starts}.log")

    def start(self) -> float:
        """Start a loader; return the monotonic time it was started at."""
        env = dict(os.environ, PYTHONPATH=self.loader_path)
        self.starts += 1
        with open(self.log_path, "ab") as log:
            t = time.monotonic()
            # nsenter, not `ip netns exec`: that remounts /sys and would hide bpffs
            enter = ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []
            self.proc = self.cgroup.popen(
                [*enter, PYTHON, "-m", "edgerep_loader", "--socket", self.socket, "--pin-dir", self.pin_dir],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return t

    def kill(self, wait: bool = True) -> float:
        """SIGKILL, as a crash would; return how long the kernel took to tear the process down.

        A kubelet starts the container again only once its process is gone, so
        by default this waits for that too.
        """
        t = time.monotonic()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.dead.append(self.proc)
            if wait:
                self.proc.wait(timeout=60)
        self.proc = None
        return time.monotonic() - t

    def stop(self) -> None:
        """Kill the loader, wait for every killed one to be gone, remove the cgroup and the pins."""
        self.kill(wait=False)
        for p in self.dead:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        self.dead = []
        self.cgroup.remove()
        shutil.rmtree(self.pin_dir, ignore_errors=True)

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def kernel_objects(self) -> Tuple[int, int]:
        """(perf events, tracepoint programs) the running loader holds."""
        perf = progs = 0
        pid = self.proc.pid
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target == "anon_inode:[perf_event]":
                    perf += 1
                elif target == "anon_inode:bpf-prog":
                    with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
                        if f"prog_type:\t{PROG_TYPE_TRACEPOINT}\n" in f.read():
                            progs += 1
            except OSError:
                continue
        return perf, progs


class Agent:
    """The agent's side of a (re)connection, with the write events it receives."""

    def __init__(self, loader: LoaderProcess) -> None:
        self.loader = loader
        self.channel: Optional[grpc.Channel] = None
        self.stub: Optional[loader_pb2_grpc.LoaderStub] = None
        self.writes: List[Tuple[float, loader_pb2.StateEvent]] = []  # (received at, event)
        self._call = None
        self._lock = threading.Lock()

    def dial(self, timeout: float = 60) -> float:
        """GetCapabilities until the loader answers (a fresh channel each time: no
        connect backoff); return when it answered."""
        deadline = time.monotonic() + timeout
        while True:
            channel = grpc.insecure_channel(f"unix:{self.loader.socket}")
            stub = loader_pb2_grpc.LoaderStub(channel)
            try:
                stub.GetCapabilities(loader_pb2.GetCapabilitiesRequest(), timeout=1)
                self.channel, self.stub = channel, stub
                return time.monotonic()
            except grpc.RpcError:
                channel.close()
            proc = self.loader.proc
            if proc is None or proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the loader did not answer:\n" + self.loader.log())
            time.sleep(DIAL_INTERVAL_S)

    def subscribe(self) -> None:
        """Open the state event stream and keep every write event, stamped on receipt."""
        self._call = self.stub.StreamStateEvents(
            loader_pb2.StreamStateEventsRequest(max_batch_events=512, max_batch_age=Duration(nanos=2_000_000))
        )

        def read() -> None:
            try:
                for batch in self._call:
                    now = time.monotonic()
                    with self._lock:
                        self.writes.extend((now, e) for e in batch.events if e.WhichOneof("op") == "write")
            except grpc.RpcError:
                pass

        threading.Thread(target=read, daemon=True).start()

    def reapply(self, trace: loader_pb2.SetTraceRequest) -> float:
        """The agent's order after a (re)connection: streams, traces, then SetTrace; return when it returned."""
        self.stub.ListStreams(loader_pb2.ListStreamsRequest(), timeout=30)
        self.stub.ListTraces(loader_pb2.ListTracesRequest(), timeout=30)
        self.stub.SetTrace(trace, timeout=30)
        return time.monotonic()

    def first_write(self, timeout: float = 30) -> Tuple[float, loader_pb2.StateEvent]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.writes:
                    return self.writes[0]
            time.sleep(0.005)
        raise AssertionError("no write event arrived:\n" + self.loader.log())

    def close(self) -> None:
        if self._call is not None:
            self._call.cancel()
        if self.channel is not None:
            self.channel.close()
