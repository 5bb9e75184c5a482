# SPDX-License-Identifier: Apache-2.0
"""A process that keeps a file open while it forks children all the time (a
shell script's log, a server's workers) keeps having every write through that
file captured: user space never rewrites the kernel's reference counts (a lost
update made the kernel free the description, and writes went uncaptured), and
descriptions nobody holds any more are still freed."""

from __future__ import annotations

import os
import time

from edgerep.v1 import loader_pb2
from statelib import harness
from statelib.fixtures import cgroup, new_rep_id, state_service, workdir  # noqa: F401 (fixtures)

#: Lines the writer writes, each followed by a fork (the sleep).
LINES = 400

WRITER = f"""
exec 3>>app.log
i=0
while [ $i -lt {LINES} ]; do
  i=$((i + 1))
  echo "line $i" >&3
  sleep 0.005
done
"""


def test_writes_through_a_file_kept_open_across_many_forks_are_all_captured(state_service, cgroup, workdir):
    data = os.path.join(workdir, "data")
    os.mkdir(data)
    rep = new_rep_id()
    state_service.set_trace(
        loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[data]),
        harness.FakeContext(),
    )
    collector = harness.Collector(state_service, rep_ids=[rep])
    proc = cgroup.popen(["bash", "-c", WRITER], cwd=data)
    try:
        assert proc.wait(timeout=300) == 0
        lines = len(open(os.path.join(data, "app.log")).read().splitlines())
        assert lines == LINES
        collector.wait_for(lambda e: e.WhichOneof("op") == "write" and e.write.data == b"line %d\n" % lines)
        writes = [e for e in collector.events if e.WhichOneof("op") == "write"]
        assert len(writes) == lines
        # the writer is gone: its description is freed once it stayed an orphan for two polls (ORPHAN_POLL_S)
        deadline = time.monotonic() + 60

        def known_orphans():
            return [d for d in state_service._prog.orphan_descs() if state_service._tracker.descs.get(d)]

        while known_orphans():
            assert time.monotonic() < deadline, f"descriptions never freed: {known_orphans()}"
            time.sleep(0.2)
    finally:
        collector.stop()
        state_service.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), harness.FakeContext())
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
