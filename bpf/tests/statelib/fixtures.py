# SPDX-License-Identifier: Apache-2.0
"""pytest fixtures shared by the test_state* modules (imported by each of them)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from edgerep.v1 import loader_pb2
from statelib import harness

_next_rep = [100]


def new_rep_id() -> int:
    _next_rep[0] += 1
    return _next_rep[0]


@pytest.fixture(scope="session")
def state_service():
    """One compiled state-capture program for the whole session (compiling takes seconds)."""
    from edgerep_loader.state_service import StateService

    harness.remove_leftovers()
    svc = StateService("/sys/fs/bpf/edgerep-t-state")
    try:
        yield svc
    finally:
        svc.close()
        harness.remove_leftovers()


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix=harness.PREFIX + "-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cgroup():
    cg = harness.TestCgroup()
    try:
        yield cg
    finally:
        cg.remove()


class Traced:
    """A replication id traced for one cgroup and one prefix, with a collector."""

    def __init__(self, svc, cg, prefix: str):
        self.svc, self.cg, self.prefix = svc, cg, prefix
        self.rep = new_rep_id()
        ctx = harness.FakeContext()
        svc.set_trace(
            loader_pb2.SetTraceRequest(replication_id=self.rep, cgroup_ids=[cg.id], prefixes=[prefix]), ctx
        )
        self.collector = harness.Collector(svc, rep_ids=[self.rep])

    def close(self) -> None:
        self.collector.stop()
        self.svc.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=self.rep), harness.FakeContext())


@pytest.fixture
def traced(state_service, cgroup, workdir):
    """(Traced, origin dir, outside dir): origin is the traced prefix."""
    origin = os.path.join(workdir, "origin")
    outside = os.path.join(workdir, "outside")
    os.mkdir(origin)
    os.mkdir(outside)
    cgroup.start_anchor(cwd=workdir)  # the cgroup's long-lived parent, known to the loader
    t = Traced(state_service, cgroup, origin)
    try:
        yield t, origin, outside
    finally:
        t.close()
