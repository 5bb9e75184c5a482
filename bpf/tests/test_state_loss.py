# SPDX-License-Identifier: Apache-2.0
"""Forced ring-buffer overflow: exact loss counters and the exact list of affected files."""

from __future__ import annotations

import os

import pytest

from edgerep.v1 import loader_pb2
from statelib import harness
from statelib.fixtures import cgroup, state_service, workdir  # noqa: F401 (fixtures)
from statelib.replay import replay, tree_digest


@pytest.fixture(scope="module")
def tiny_ring_service():
    """A second program whose ring buffer is one page: an 8000-byte write never fits."""
    from edgerep_loader.state_service import StateService

    svc = StateService("/sys/fs/bpf/edgerep-t-state-loss", ring_pages=1)
    try:
        yield svc
    finally:
        svc.close()


def test_overflow_counts_every_lost_record_and_names_the_files(tiny_ring_service, cgroup, workdir):
    origin = os.path.join(workdir, "origin")
    outside = os.path.join(workdir, "outside")
    os.mkdir(origin)
    os.mkdir(outside)
    rep = 4242
    ctx = harness.FakeContext()
    tiny_ring_service.set_trace(
        loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[origin]), ctx
    )
    col = harness.Collector(tiny_ring_service, rep_ids=[rep])
    try:
        harness.run_workload(cgroup, "loss", origin, outside)
        events = col.wait_fence(origin + "/.fence")
        # the loss report arrives with the next loss poll after the records
        col.wait_for(lambda e: e.WhichOneof("op") == "dirty" and e.dirty.path.endswith("/b"))
        events = col.events
        lost_files = sorted(
            e.dirty.path
            for e in events
            if e.WhichOneof("op") == "dirty" and e.dirty.reason == loader_pb2.DIRTY_REASON_LOST
        )
        assert col.lost() == {rep: 20}  # 2 files x 10 writes of 8000 bytes
        assert lost_files == [origin + "/a", origin + "/b"]
        # what did fit is exact: the opens, and file c's small write
        got = [harness.brief(e, origin) for e in events if e.WhichOneof("op") != "dirty"]
        assert ("write", "/c", 0, b"small", False) in got
        assert not any(g[0] == "write" and g[1] in ("/a", "/b") for g in got)
        # a resync of the named files makes the replica whole
        replica = os.path.join(workdir, "replica")
        os.mkdir(replica)
        replay(events, origin, replica)
        assert tree_digest(replica) == tree_digest(origin)
    finally:
        col.stop()
        tiny_ring_service.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), ctx)


def test_a_path_that_cannot_be_resolved_is_reported_lost(state_service, cgroup, workdir):
    """Short-lived processes that join the traced cgroup from outside (as `kubectl exec` and `kubectl cp` do) and
    write through a relative path: each write either arrives with its path or is counted as lost, never dropped
    silently — the loader cannot read the working directory of a process that is already gone."""
    origin = os.path.join(workdir, "origin")
    os.mkdir(origin)
    rep = 4243
    ctx = harness.FakeContext()
    state_service.set_trace(
        loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[origin]), ctx
    )
    col = harness.Collector(state_service, rep_ids=[rep])
    writers = 40
    try:
        for i in range(writers):
            assert cgroup.popen(["sh", "-c", f"echo {i} > f{i}"], cwd=origin).wait(timeout=60) == 0
        fence = origin + "/.fence"
        assert cgroup.popen(["mkdir", fence]).wait(timeout=60) == 0
        col.wait_fence(fence)
        created = {e.create.path for e in col.events if e.WhichOneof("op") == "create"}
        captured = sum(1 for i in range(writers) if f"{origin}/f{i}" in created)
        lost = col.lost().get(rep, 0)
        assert captured + lost >= writers, f"{captured} captured and {lost} lost of {writers} writes"
    finally:
        col.stop()
        state_service.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), ctx)
