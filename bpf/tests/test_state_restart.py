# SPDX-License-Identifier: Apache-2.0
"""The real loader killed (SIGKILL) and started again: state capture is back soon.

The test plays the agent (statelib.loaderproc): it dials every 100 ms, opens the
event stream, lists streams and traces and sends SetTrace again, in the order
the agent follows on a reconnection. The new loader starts once the killed one
is gone, as a kubelet starts a container again (the kernel takes seconds to
detach a killed loader's tracepoints). A process of the traced cgroup creates a
file every 20 ms holding its CLOCK_MONOTONIC time, so the first write captured
after the restart says when capture was back, and its receipt when the agent
had it. A node that never traced holds no state program at all; one whose
traces were all removed does not build one ahead at its next start.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from edgerep.v1 import loader_pb2
from statelib import harness
from statelib.fixtures import cgroup, new_rep_id, workdir  # noqa: F401 (fixtures)
from statelib.loaderproc import Agent, LoaderProcess, new_pin_dir, remove_pin_dirs

#: Creates DIR/tick-N every 20 ms, each holding the time it was written at.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    d = sys.argv[1]
    i = 0
    while True:
        i += 1
        fd = os.open(os.path.join(d, "tick-%06d" % i), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"%.6f" % time.monotonic())
        os.close(fd)
        time.sleep(0.02)
    """
)

#: New loader started -> first write event in the agent's hands, the killed loader gone
#: first (as a kubelet waits for it). On the project's 2-core VM with other suites'
#: load below 1.2: 3.7-5.4 s (the loader before the head start and the shorter
#: compile: 6.5-7.8 s); 7.3 s with a load of 3.8 (builds share the two cores with
#: whatever else runs). The bound allows for a loaded machine; the mechanism is
#: checked apart from the clock (built ahead, nothing attached before SetTrace).
RECOVERY_BOUND_S = 10.0

#: What the loader logs when it builds the state program ahead (StateService.warm_up).
WARM_UP_LOG = "building the state program ahead"


@pytest.fixture
def loader(workdir):
    remove_pin_dirs()
    lp = LoaderProcess(workdir, new_pin_dir())
    try:
        yield lp
    finally:
        lp.stop()


def _traced_origin(cg, workdir):
    """A fresh origin directory under workdir and the trace of it for cgroup cg."""
    origin = os.path.join(workdir, "origin")
    os.mkdir(origin)
    trace = loader_pb2.SetTraceRequest(replication_id=new_rep_id(), cgroup_ids=[cg.id], prefixes=[origin])
    return origin, trace


def test_capture_is_back_soon_after_the_loader_is_killed(loader, cgroup, workdir, record_property):
    origin, trace = _traced_origin(cgroup, workdir)
    loader.start()
    agent = Agent(loader)
    try:
        agent.dial()
        agent.subscribe()
        agent.reapply(trace)
        cgroup.popen([harness.PYTHON, "-B", "-c", WRITER, origin])
        agent.first_write()  # captured before the crash
    finally:
        agent.close()

    teardown = loader.kill()
    started = loader.start()
    agent = Agent(loader)
    try:
        answered = agent.dial()
        agent.subscribe()
        agent.stub.ListStreams(loader_pb2.ListStreamsRequest(), timeout=30)
        assert loader.kernel_objects()[0] == 0  # being built ahead, attached only by SetTrace
        traced = agent.reapply(trace)
        received, event = agent.first_write()
    finally:
        agent.close()
    assert WARM_UP_LOG in loader.log(), loader.log()
    assert event.write.path.startswith(origin + "/")
    written = float(event.write.data)
    figures = {
        "killed_loader_gone_s": round(teardown, 2),
        "answered_s": round(answered - started, 2),
        "set_trace_done_s": round(traced - started, 2),
        "first_captured_write_s": round(written - started, 2),
        "first_event_received_s": round(received - started, 2),
    }
    record_property("restart_figures", figures)
    print("loader restart:", figures)
    assert received - started < RECOVERY_BOUND_S, figures


def test_a_loader_without_traces_builds_and_attaches_nothing(loader, cgroup, workdir):
    _, trace = _traced_origin(cgroup, workdir)
    loader.start()
    agent = Agent(loader)
    try:
        agent.dial()
        agent.subscribe()  # the agent listens on every node, tracing or not
        agent.stub.ListStreams(loader_pb2.ListStreamsRequest(), timeout=30)
        assert loader.kernel_objects() == (0, 0)
        agent.reapply(trace)
        perf, progs = loader.kernel_objects()
        assert perf > 0 and progs > 0, (perf, progs)
        agent.stub.RemoveTrace(loader_pb2.RemoveTraceRequest(replication_id=trace.replication_id), timeout=30)
    finally:
        agent.close()

    # every trace was removed: the next loader has nothing to prepare for
    loader.kill()
    loader.start()
    agent = Agent(loader)
    try:
        agent.dial()
        agent.subscribe()
        agent.stub.ListStreams(loader_pb2.ListStreamsRequest(), timeout=30)
        assert loader.kernel_objects() == (0, 0)
    finally:
        agent.close()
    assert WARM_UP_LOG not in loader.log(), loader.log()
