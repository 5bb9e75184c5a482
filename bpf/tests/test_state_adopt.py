# SPDX-License-Identifier: Apache-2.0
"""Files a process opened before its trace existed: SetTrace adopts the
descriptors, so writes through them (appends, plain writes at the followed
position, pwrite) are captured like any other; read-only descriptors and files
outside the prefixes are left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

from edgerep.v1 import loader_pb2
from statelib import harness
from statelib.fixtures import cgroup, new_rep_id, state_service, workdir  # noqa: F401 (fixtures)
from statelib.replay import replay, tree_digest

#: Opens its files, says so, waits for a line on stdin, then writes through the same descriptors.
WRITER = textwrap.dedent(
    """
    import os, sys
    d, outside = sys.argv[1], sys.argv[2]
    log = os.open(os.path.join(d, "app.log"), os.O_WRONLY | os.O_APPEND)
    plain = os.open(os.path.join(d, "stream.out"), os.O_WRONLY)
    os.lseek(plain, 0, os.SEEK_END)
    db = os.open(os.path.join(d, "db"), os.O_RDWR)
    ro = os.open(os.path.join(d, "ro"), os.O_RDONLY)
    out = os.open(os.path.join(outside, "x"), os.O_WRONLY | os.O_CREAT, 0o644)
    print("open", flush=True)
    sys.stdin.readline()
    for i in range(50):
        os.write(log, b"line %d\\n" % i)
        os.write(plain, b"record %05d\\n" % i)
        os.pwrite(db, b"page %d" % i, 4096 * (i % 7))
        os.write(out, b"not traced\\n")
    os.mkdir(os.path.join(d, "fence"))
    print("done", flush=True)
    sys.stdin.readline()
    """
)


def test_descriptors_opened_before_the_trace_are_followed(state_service, cgroup, workdir):
    origin = os.path.join(workdir, "origin")
    outside = os.path.join(workdir, "outside")
    os.mkdir(origin)
    os.mkdir(outside)
    with open(os.path.join(origin, "app.log"), "w") as f:
        f.write("old\n" * 100)
    with open(os.path.join(origin, "stream.out"), "w") as f:
        f.write("old record\n" * 10)
    with open(os.path.join(origin, "db"), "wb") as f:
        f.write(os.urandom(4096 * 8 + 100))
    with open(os.path.join(origin, "ro"), "w") as f:
        f.write("read only\n")
    replica = os.path.join(workdir, "replica")
    proc = cgroup.popen(
        [harness.PYTHON, "-B", "-c", WRITER, origin, outside],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rep = new_rep_id()
    collector = None
    try:
        assert proc.stdout.readline().strip() == "open"
        shutil.copytree(origin, replica)  # what a resync would have copied before the trace
        state_service.set_trace(
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[origin]),
            harness.FakeContext(),
        )
        assert state_service.counters()["adopted_fds"] >= 3
        collector = harness.Collector(state_service, rep_ids=[rep])
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        events = collector.wait_fence(os.path.join(origin, "fence"))
        writes = [e for e in events if e.WhichOneof("op") == "write"]
        assert {os.path.basename(e.write.path) for e in writes} == {"app.log", "stream.out", "db"}
        assert all(e.write.append for e in writes if e.write.path.endswith("app.log"))
        replay(events, origin, replica)
        want = tree_digest(origin)
        del want["fence"]  # the events end before it
        assert tree_digest(replica) == want
    finally:
        if collector is not None:
            collector.stop()
        state_service.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), harness.FakeContext())
        proc.kill()
        proc.wait(timeout=5)
