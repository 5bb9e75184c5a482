# SPDX-License-Identifier: Apache-2.0
"""The state RPCs through the real gRPC server on a unix socket: bad input is
refused with a clear error and changes nothing; good input streams events."""

from __future__ import annotations

import os
import threading

import grpc
import pytest

from edgerep.v1 import loader_pb2, loader_pb2_grpc
from google.protobuf.duration_pb2 import Duration
from statelib import harness
from statelib.fixtures import cgroup, new_rep_id, state_service, workdir  # noqa: F401 (fixtures)


@pytest.fixture
def loader(state_service, workdir):
    from edgerep_loader.server import serve

    sock = os.path.join(workdir, "loader.sock")
    server = serve(sock, "/sys/fs/bpf/edgerep-t-grpc", stream_service=object(), state_service=state_service)
    channel = grpc.insecure_channel(f"unix:{sock}")
    try:
        yield loader_pb2_grpc.LoaderStub(channel)
    finally:
        channel.close()
        server.stop(grace=0).wait()


def _refused(stub, request, fragment):
    with pytest.raises(grpc.RpcError) as err:
        stub.SetTrace(request, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in err.value.details(), err.value.details()
    return err.value.details()


def test_bad_set_trace_requests_are_refused_and_change_nothing(loader, cgroup, workdir):
    before = loader.ListTraces(loader_pb2.ListTracesRequest(), timeout=30)
    rep = new_rep_id()
    ok_prefix = os.path.join(workdir, "data")
    missing_cgroup = 2**62 + 12345
    cases = [
        (
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[missing_cgroup], prefixes=[ok_prefix]),
            f"cgroup id {missing_cgroup} does not exist",
        ),
        (
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[""]),
            "prefix is empty",
        ),
        (
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=["data/x"]),
            "is relative",
        ),
        (
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=["/"]),
            "is the root",
        ),
        (
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=["//"]),
            "is the root",
        ),
        (
            loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=["/data/../etc"]),
            "not normalized",
        ),
        (
            loader_pb2.SetTraceRequest(
                replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[ok_prefix, "rel"]
            ),
            "is relative",
        ),
        (loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id]), "prefixes is empty"),
        (loader_pb2.SetTraceRequest(replication_id=rep, prefixes=[ok_prefix]), "cgroup_ids is empty"),
        (
            loader_pb2.SetTraceRequest(replication_id=0, cgroup_ids=[cgroup.id], prefixes=[ok_prefix]),
            "replication_id 0 is outside",
        ),
        (
            loader_pb2.SetTraceRequest(replication_id=70000, cgroup_ids=[cgroup.id], prefixes=[ok_prefix]),
            "replication_id 70000 is outside",
        ),
        (
            loader_pb2.SetTraceRequest(
                replication_id=rep, cgroup_ids=[cgroup.id], prefixes=["/" + "x" * 300]
            ),
            "longer than",
        ),
        (
            loader_pb2.SetTraceRequest(
                replication_id=rep,
                cgroup_ids=[cgroup.id],
                prefixes=[ok_prefix],
                root="/nonexistent-edgerep-t",
            ),
            "is not an existing absolute directory",
        ),
    ]
    for request, fragment in cases:
        _refused(loader, request, fragment)
    assert loader.ListTraces(loader_pb2.ListTracesRequest(), timeout=30) == before

    # a cgroup belongs to one replication id
    loader.SetTrace(
        loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[ok_prefix]),
        timeout=30,
    )
    try:
        other = new_rep_id()
        _refused(
            loader,
            loader_pb2.SetTraceRequest(replication_id=other, cgroup_ids=[cgroup.id], prefixes=[ok_prefix]),
            "already traced for replication",
        )
        traces = loader.ListTraces(loader_pb2.ListTracesRequest(), timeout=30).traces
        assert [t.replication_id for t in traces if t.replication_id in (rep, other)] == [rep]
    finally:
        loader.RemoveTrace(loader_pb2.RemoveTraceRequest(replication_id=rep), timeout=30)
    # idempotent
    loader.RemoveTrace(loader_pb2.RemoveTraceRequest(replication_id=rep), timeout=30)
    assert loader.ListTraces(loader_pb2.ListTracesRequest(), timeout=30) == before


def test_stream_rejects_oversized_batches(loader):
    with pytest.raises(grpc.RpcError) as err:
        next(
            iter(
                loader.StreamStateEvents(
                    loader_pb2.StreamStateEventsRequest(max_batch_events=10**7), timeout=30
                )
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_batch_events" in err.value.details()


@pytest.mark.parametrize("age", [Duration(seconds=2), Duration(nanos=0), Duration(seconds=-1)])
def test_stream_rejects_a_batch_age_outside_its_range(loader, age):
    with pytest.raises(grpc.RpcError) as err:
        next(
            iter(loader.StreamStateEvents(loader_pb2.StreamStateEventsRequest(max_batch_age=age), timeout=30))
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_batch_age" in err.value.details() and "1..1000 ms" in err.value.details()


def test_events_stream_over_grpc_in_batches(loader, cgroup, workdir):
    origin = os.path.join(workdir, "origin")
    outside = os.path.join(workdir, "outside")
    os.mkdir(origin)
    os.mkdir(outside)
    rep = new_rep_id()
    loader.SetTrace(
        loader_pb2.SetTraceRequest(replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[origin + "/"]),
        timeout=30,
    )
    assert any(
        t.replication_id == rep and list(t.prefixes) == [origin]
        for t in loader.ListTraces(loader_pb2.ListTracesRequest(), timeout=30).traces
    )
    call = loader.StreamStateEvents(
        loader_pb2.StreamStateEventsRequest(
            replication_ids=[rep], max_batch_events=64, max_batch_age=Duration(nanos=20_000_000)
        )
    )
    batches = []

    def read():
        try:
            for b in call:
                batches.append(b)
                if any(e.WhichOneof("op") == "mkdir" and e.mkdir.path.endswith("/.fence") for e in b.events):
                    return
        except grpc.RpcError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        harness.run_workload(cgroup, "appender", origin, outside)
        reader.join(timeout=30)
    finally:
        call.cancel()
        loader.RemoveTrace(loader_pb2.RemoveTraceRequest(replication_id=rep), timeout=30)
    events = [e for b in batches for e in b.events]
    writes = [e for e in events if e.WhichOneof("op") == "write"]
    assert len(writes) == 1000
    assert all(len(b.events) <= 64 for b in batches)
    assert len(batches) >= 1000 // 64
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + len(events)))
    with open(os.path.join(origin, "app.log"), "rb") as f:
        assert b"".join(e.write.data for e in writes) == f.read()
