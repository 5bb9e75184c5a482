# SPDX-License-Identifier: Apache-2.0
"""The capture is attached only while the node has a trace: the last RemoveTrace
detaches it, the next SetTrace attaches it again.

While detached nobody sees closes and opens, so the kernel's table of followed
fds is stale by the next attach: a process that closed a followed fd and got
the same number for another file must not have its writes attributed to the
old file (the table is reset at detach; SetTrace adopts what is open then).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

import pytest

from edgerep.v1 import loader_pb2
from edgerep_loader.state_service import StateService
from statelib import harness
from statelib.fixtures import cgroup, new_rep_id, workdir  # noqa: F401 (fixtures)
from statelib.loaderproc import new_pin_dir

#: Follows commands on stdin, one per line, and answers each with a line:
#: "open NAME PATH" opens PATH for writing as NAME and answers its fd number,
#: "close NAME", "write NAME TEXT", "mkdir PATH" answer "ok".
CLIENT = textwrap.dedent(
    """
    import os, sys
    fds = {}
    for line in sys.stdin:
        cmd, name, *rest = line.split()
        if cmd == "open":
            fds[name] = os.open(rest[0], os.O_WRONLY | os.O_CREAT, 0o644)
            print(fds[name], flush=True)
            continue
        if cmd == "close":
            os.close(fds.pop(name))
        elif cmd == "write":
            os.write(fds[name], rest[0].encode())
        elif cmd == "mkdir":
            os.mkdir(name)
        print("ok", flush=True)
    """
)


@pytest.fixture
def service():
    pin_dir = new_pin_dir()
    os.mkdir(pin_dir)
    svc = StateService(pin_dir, ring_pages=64)
    try:
        yield svc
    finally:
        svc.close()
        shutil.rmtree(pin_dir, ignore_errors=True)


class Client:
    def __init__(self, cg) -> None:
        self.proc = cg.popen(
            [harness.PYTHON, "-B", "-c", CLIENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, *words: str) -> str:
        self.proc.stdin.write(" ".join(words) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=5)


def _trace(svc, rep, cg, prefix) -> None:
    svc.set_trace(
        loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cg.id], prefixes=[prefix]),
        harness.FakeContext(),
    )


def _untrace(svc, rep) -> None:
    svc.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), harness.FakeContext())


def _writes(events):
    return [(os.path.basename(e.write.path), e.write.data) for e in events if e.WhichOneof("op") == "write"]


def test_a_reused_fd_number_is_not_taken_for_the_file_it_named_before_the_detach(service, cgroup, workdir):
    origin = os.path.join(workdir, "origin")
    outside = os.path.join(workdir, "outside")
    os.mkdir(origin)
    os.mkdir(outside)
    client = Client(cgroup)
    rep = new_rep_id()
    collector = None
    try:
        _trace(service, rep, cgroup, origin)
        prog = service._prog
        assert prog.attached
        collector = harness.Collector(service, rep_ids=[rep])
        fd_in = client("open", "a", os.path.join(origin, "old-in"))
        fd_out = client("open", "b", os.path.join(origin, "old-out"))
        assert client("write", "a", "before") == "ok"
        assert client("write", "b", "before") == "ok"
        assert client("mkdir", os.path.join(origin, "fence1")) == "ok"
        first = collector.wait_fence(os.path.join(origin, "fence1"))
        assert sorted(_writes(first)) == [("old-in", b"before"), ("old-out", b"before")]
        assert prog.has_fd(client.proc.pid, int(fd_in))

        _untrace(service, rep)
        assert not prog.attached, "the last RemoveTrace must detach the capture"
        assert not prog.has_fd(client.proc.pid, int(fd_in)), "the fd table must be reset at detach"
        assert len(prog.fds) == 0 and len(prog.descs) == 0 and len(prog.tgid_known) == 0
        # unseen while detached: the numbers are reused for another file under the
        # prefix and for one outside it
        assert client("close", "a") == "ok"
        assert client("close", "b") == "ok"
        assert client("open", "c", os.path.join(origin, "new-in")) == fd_in
        assert client("open", "d", os.path.join(outside, "new-out")) == fd_out

        _trace(service, rep, cgroup, origin)
        assert service._prog is prog and prog.attached, "SetTrace attaches the same program again"
        assert service.stats["attaches"] == 2 and service.stats["detaches"] == 1
        assert client("write", "c", "after") == "ok"
        assert client("write", "d", "after") == "ok"
        assert client("mkdir", os.path.join(origin, "fence2")) == "ok"
        events = collector.wait_fence(os.path.join(origin, "fence2"))
        assert _writes(events[len(first) :]) == [("new-in", b"after")]
        assert collector.lost() == {}
    finally:
        if collector is not None:
            collector.stop()
        _untrace(service, rep)
        client.close()


def test_a_second_trace_keeps_the_capture_attached(service, cgroup, workdir):
    origin = os.path.join(workdir, "origin")
    os.mkdir(origin)
    other = harness.TestCgroup()
    a, b = new_rep_id(), new_rep_id()
    try:
        _trace(service, a, cgroup, origin)
        _trace(service, b, other, origin)
        _untrace(service, a)
        assert service._prog.attached, "a trace remains: the capture stays attached"
        _untrace(service, b)
        assert not service._prog.attached
        assert service.stats["detaches"] == 1
    finally:
        _untrace(service, a)
        _untrace(service, b)
        other.remove()
