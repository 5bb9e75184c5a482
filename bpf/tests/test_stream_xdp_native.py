# SPDX-License-Identifier: Apache-2.0
"""Native XDP delivers: every copy reaches every consumer.

A veth drops frames redirected into it by native XDP unless its peer's NAPI runs; the
loader gives each consumer's peer (the pod's eth0) a pass program while the ingress runs
native XDP — except where the pod already has a native XDP program of its own, which it
leaves alone — and removes them when the ingress leaves native mode. The ingress is a
veth too, on which the loader would pick generic mode; the test forces native.
"""

from __future__ import annotations

import os

import pytest
from bcc import BPF

import stream_fixtures as fx
from edgerep.v1 import common_pb2, loader_pb2
from edgerep_loader.stream_xdp_prog import FORCE_MODE_ENV, PASS_NAME
from streamlib.topo import Topology, running
from streamlib.xdp import attach_xdp, xdp_progs
from test_stream_netns import PORT, consumer, run_stream

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")
NATIVE = {FORCE_MODE_ENV: "native"}
#: The consumer whose pod brings its own native XDP program.
OWN = 3


@pytest.fixture(scope="module")
def topo():
    with running(4, env=NATIVE) as t:
        yield t


@pytest.fixture(scope="module")
def pod_prog():
    """A pod's own native XDP program on consumer OWN's eth0 (it passes everything)."""
    b = BPF(text=b"int pod_xdp(struct xdp_md *ctx) { return XDP_PASS; }")
    try:
        yield b.load_func(b"pod_xdp", BPF.XDP)
    finally:
        b.cleanup()


def peers(t: Topology) -> list[dict]:
    return [xdp_progs(t.cns(i), "eth0") for i in range(t.consumers)]


def assert_all_delivered(t: Topology, stub, tag: str, path: str, pps: float) -> None:
    before = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest()).streams[0]
    sent, got, files = run_stream(t, tag, path, pps)
    after = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest()).streams[0]
    with open(path, "rb") as f:
        original = f.read()
    original = original[: len(original) - len(original) % 188]
    for i in range(t.consumers):
        assert got[i]["count"] == sent, f"{tag}: c{i} received {got[i]['count']} of {sent} copies"
        assert got[i]["bad_ip_csum"] == 0 and got[i]["bad_udp_csum"] == 0, got[i]
        with open(files[i], "rb") as f:
            assert f.read() == original, f"{tag}: c{i} received other bytes than were sent"
        delivered = sum(after.consumers[i].delivered_packets) - sum(before.consumers[i].delivered_packets)
        assert delivered == sent, f"{tag}: c{i} counted {delivered} of {sent}"


def test_stream_xdp_native_delivers_every_copy(topo, pod_prog):
    attach_xdp(topo.cns(OWN), "eth0", pod_prog.fd, "native")
    stub = topo.stub()
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_XDP)
    )
    assert rep.datapath == common_pb2.DATAPATH_XDP and rep.xdp_mode == loader_pb2.XDP_MODE_NATIVE, rep
    assert rep.fallback_reason == ""
    spec = loader_pb2.ReplicatorStream(
        stream_id=21,
        interface="in0",
        ip_protocol=17,
        port=PORT,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[consumer(topo, i) for i in range(4)],
    )
    resp = stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))
    assert all(c.ok for c in resp.consumers), resp
    seen = peers(topo)
    for i in range(4):
        if i != OWN:
            assert seen[i]["native"].name == PASS_NAME, f"c{i}'s peer: {seen[i]}"
    own_id = seen[OWN]["native"].id
    assert seen[OWN]["native"].name == "pod_xdp", "the pod's own program is left in place"

    path = fx.clip("h265")
    dgrams = -(-(os.path.getsize(path) // 188) // 7)
    assert_all_delivered(topo, stub, "native", path, dgrams / 8.0)

    # a restarted loader adopts the native attachment and the peers' programs
    topo.kill_loader()
    topo.start_loader(env=NATIVE)
    stub = topo.stub()
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_XDP)
    )
    assert rep.adopted and rep.xdp_mode == loader_pb2.XDP_MODE_NATIVE, rep
    assert [p["native"].name for p in peers(topo)] == [PASS_NAME] * 3 + ["pod_xdp"]
    assert_all_delivered(topo, stub, "adopted", path, dgrams / 4.0)

    # leaving native mode removes the pass programs, never the pod's own
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    assert rep.datapath == common_pb2.DATAPATH_TC
    seen = peers(topo)
    assert [seen[i] for i in range(3)] == [{}] * 3, seen
    assert seen[OWN]["native"].id == own_id
    assert_all_delivered(topo, stub, "tc", path, dgrams / 4.0)
    stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=21))
    stub.RemoveReplicator(loader_pb2.RemoveReplicatorRequest(interface="in0"))
    assert peers(topo)[OWN]["native"].id == own_id
