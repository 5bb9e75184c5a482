# SPDX-License-Identifier: Apache-2.0
"""The state program built ahead of SetTrace (StateService.warm_up), in process.

A marker in the pin dir says a loader there had traces: warm_up then builds the
program without attaching it, SetTrace takes that very program and attaches
it, the last RemoveTrace removes the marker; without the marker nothing is
built, and a program no SetTrace takes is dropped after a while, marker and all.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from edgerep.v1 import loader_pb2
from edgerep_loader.state_service import TRACED_MARKER, StateService
from statelib import harness
from statelib.fixtures import cgroup, new_rep_id, workdir  # noqa: F401 (fixtures)
from statelib.loaderproc import new_pin_dir

#: A ring of one page: these services only need a few records.
RING_PAGES = 1


@pytest.fixture
def pin_dir():
    path = new_pin_dir()
    os.mkdir(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_the_program_built_ahead_is_attached_by_set_trace(pin_dir, cgroup, workdir):
    origin = os.path.join(workdir, "origin")
    os.mkdir(origin)
    marker = os.path.join(pin_dir, TRACED_MARKER)
    os.mkdir(marker)  # as a loader with traces leaves it
    svc = StateService(pin_dir, ring_pages=RING_PAGES)
    try:
        assert svc.warm_up()
        ahead = svc._warm.prog
        assert not ahead.attached and svc._prog is None
        rep = new_rep_id()
        collector = harness.Collector(svc, rep_ids=[rep])
        svc.set_trace(
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[origin]),
            harness.FakeContext(),
        )
        assert svc._prog is ahead and ahead.attached
        cgroup.run([harness.PYTHON, "-B", "-c", f"open({os.path.join(origin, 'f')!r}, 'w').write('x')"])
        collector.wait_for(lambda e: e.WhichOneof("op") == "write" and e.write.data == b"x")
        collector.stop()
        assert os.path.isdir(marker)
        svc.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), harness.FakeContext())
        assert not os.path.exists(marker)
    finally:
        svc.close()


def test_nothing_is_built_ahead_without_the_marker(pin_dir):
    svc = StateService(pin_dir, ring_pages=RING_PAGES)
    try:
        assert not svc.warm_up()
        assert svc._warm is None and svc._prog is None
    finally:
        svc.close()


def test_a_program_built_ahead_and_never_taken_is_dropped(pin_dir):
    marker = os.path.join(pin_dir, TRACED_MARKER)
    os.mkdir(marker)
    svc = StateService(pin_dir, ring_pages=RING_PAGES, warm_ttl_s=0.5)
    try:
        assert svc.warm_up()
        deadline = time.monotonic() + 10
        while svc._warm is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc._warm is None and svc._prog is None
        assert not os.path.exists(marker)
    finally:
        svc.close()
