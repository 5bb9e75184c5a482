# SPDX-License-Identifier: Apache-2.0
"""XDP datapath end to end in network namespaces: devmap broadcast with a devmap program per
egress; the loader picks the mode per interface (generic on veth) and reports it.
"""

from __future__ import annotations

import os

import pytest

import stream_fixtures as fx
import streamlib
from edgerep.v1 import common_pb2, loader_pb2
from streamlib.topo import Topology
from test_stream_netns import FRAME, PORT, consumer, run_stream

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")
REF, UNKNOWN = common_pb2.FRAME_CLASS_REFERENCE, common_pb2.FRAME_CLASS_UNKNOWN


@pytest.fixture(scope="module")
def topo():
    streamlib.remove_leftovers()
    t = Topology(consumers=4)
    try:
        t.create()
        t.start_loader()
        yield t
    finally:
        t.destroy()


def test_stream_xdp_end_to_end(topo):
    stub = topo.stub()
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_XDP)
    )
    assert rep.datapath == common_pb2.DATAPATH_XDP, rep.fallback_reason
    assert rep.xdp_mode == loader_pb2.XDP_MODE_GENERIC  # veth: generic is the fast mode
    path = fx.clip("h265")
    dgrams = -(-(os.path.getsize(path) // 188) // 7)
    pps = dgrams / 8.0
    diff_first = common_pb2.Policy(
        kind=common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST,
        rate_bytes_per_sec=int(pps * FRAME * 0.8),
        burst_bytes=int(pps * FRAME * 0.5),
    )
    spec = loader_pb2.ReplicatorStream(
        stream_id=9,
        interface="in0",
        ip_protocol=17,
        port=PORT,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[consumer(topo, 0), consumer(topo, 1), consumer(topo, 2, diff_first), consumer(topo, 3)],
    )
    stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))
    sent, got, files = run_stream(topo, "xdp", path, pps)
    with open(path, "rb") as f:
        original = f.read()
    counters = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest()).streams[0]
    by_name = {c.name: c for c in counters.consumers}
    assert counters.packets_seen == sent
    for i in range(4):
        assert got[i]["bad_ip_csum"] == 0 and got[i]["bad_udp_csum"] == 0, got[i]
        assert sum(by_name[f"c{i}"].delivered_packets) == got[i]["count"]
    for i in (0, 1, 3):
        assert got[i]["count"] == sent
        with open(files[i], "rb") as f:
            assert f.read() == original[: len(original) - len(original) % 188]
    c2 = by_name["c2"]
    assert 0 < got[2]["count"] < sent
    assert c2.dropped_packets[REF] == 0 and c2.dropped_packets[UNKNOWN] == 0, c2
    # the XDP attachment and its devmaps outlive the loader; a new one adopts them
    topo.kill_loader()
    sent, got, _ = run_stream(topo, "noloader", path, pps * 4)
    assert all(g["count"] == sent for i, g in enumerate(got) if i != 2)
    topo.start_loader()
    stub = topo.stub()
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_XDP)
    )
    assert rep.adopted and rep.datapath == common_pb2.DATAPATH_XDP
    assert [s.stream_id for s in stub.ListStreams(loader_pb2.ListStreamsRequest()).streams] == [9]
    # switching back to tc replaces the XDP program; the stream keeps its consumers
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    assert rep.datapath == common_pb2.DATAPATH_TC and not rep.adopted
    sent, got, _ = run_stream(topo, "back", path, pps * 4)
    assert all(g["count"] == sent for i, g in enumerate(got) if i != 2)
