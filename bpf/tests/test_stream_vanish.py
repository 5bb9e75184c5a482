# SPDX-License-Identifier: Apache-2.0
"""Interfaces that vanish while edgerep is attached to them.

An ingress interface deleted under its replicator: the loader forgets that replicator
(its tcx link pin too), keeps answering ListStreams and ReadStreamCounters, reports the
interface as unknown when it is asked for again, and removes the stream that was on it;
the stream on the other interface keeps delivering every copy. A consumer's egress deleted
mid-stream: its copies are counted as dropped, the other consumers get every copy.

Not covered, because it does not hold yet: the last consumer of a stream receives the
frame itself through bpf_redirect, whose failure the kernel reports to no one, so copies
to a vanished *last* consumer are still counted as delivered.
"""

from __future__ import annotations

import os
import re
import subprocess

import grpc
import pytest

import stream_fixtures as fx
from edgerep.v1 import common_pb2, loader_pb2
from edgerep_loader import tc
from streamlib.topo import Topology, running, sh
from test_stream_netns import PORT, consumer, run_stream

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")


@pytest.fixture(scope="module")
def topo():
    def second_ingress(t: Topology) -> None:
        sh(
            "ip",
            "-n",
            t.node,
            "link",
            "add",
            "in1",
            "type",
            "veth",
            "peer",
            "name",
            "snd1",
            "netns",
            t.sender,
        )
        sh("ip", "-n", t.node, "link", "set", "in1", "up")

    with running(
        3, env={"EDGEREP_LOADER_METRICS_ADDR": f"127.0.0.1:{METRICS_PORT}"}, before_loader=second_ingress
    ) as t:
        yield t


METRICS_PORT = 9479


def vanished_replicators(t: Topology) -> float:
    """``edgerep_loader_vanished_replicators_total`` as the loader's /metrics (in the node's netns) says it."""
    body = subprocess.run(
        ["ip", "netns", "exec", t.node, "curl", "-sf", f"http://127.0.0.1:{METRICS_PORT}/metrics"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    m = re.search(r"^edgerep_loader_vanished_replicators_total (\S+)$", body, re.M)
    assert m, body
    return float(m.group(1))


def stream(t: Topology, sid: int, iface: str, port: int) -> loader_pb2.ReplicatorStream:
    return loader_pb2.ReplicatorStream(
        stream_id=sid,
        interface=iface,
        ip_protocol=17,
        port=port,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[consumer(t, i) for i in range(t.consumers)],
    )


def test_stream_ingress_and_egress_vanish(topo):
    stub = topo.stub()
    for iface in ("in0", "in1"):
        stub.EnsureReplicator(
            loader_pb2.EnsureReplicatorRequest(interface=iface, datapath=common_pb2.DATAPATH_TC)
        )
    stub.SetStream(loader_pb2.SetStreamRequest(stream=stream(topo, 41, "in0", PORT)))
    stub.SetStream(loader_pb2.SetStreamRequest(stream=stream(topo, 42, "in1", PORT)))
    listed = stub.ListStreams(loader_pb2.ListStreamsRequest())
    assert sorted(listed.replicator_interfaces) == ["in0", "in1"]
    in1 = listed.replicators[list(listed.replicator_interfaces).index("in1")].ifindex
    pin = os.path.join(topo.pin_dir, tc.TCX_PIN.format(ifindex=in1))
    assert os.path.exists(pin)
    assert vanished_replicators(topo) == 0

    sh("ip", "-n", topo.node, "link", "del", "in1")
    listed = stub.ListStreams(loader_pb2.ListStreamsRequest())
    assert list(listed.replicator_interfaces) == ["in0"], listed
    assert vanished_replicators(topo) == 1
    assert [s.stream_id for s in listed.streams] == [41, 42]  # desired state stays until removed
    assert not os.path.exists(pin), "the defunct tcx link is unpinned"
    assert len(stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest()).streams) == 2
    for call, req in (
        (
            stub.EnsureReplicator,
            loader_pb2.EnsureReplicatorRequest(interface="in1", datapath=common_pb2.DATAPATH_TC),
        ),
        (stub.SetStream, loader_pb2.SetStreamRequest(stream=stream(topo, 42, "in1", PORT))),
    ):
        with pytest.raises(grpc.RpcError) as err:
            call(req)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "in1" in err.value.details()
    stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=42))

    path = fx.clip("h264")
    pps = -(-(os.path.getsize(path) // 188) // 7) / 6.0
    sent, got, _ = run_stream(topo, "after-ingress", path, pps)
    assert [g["count"] for g in got] == [sent] * 3

    # a consumer's egress goes away mid-stream: counted as dropped, the others unaffected
    sh("ip", "-n", topo.node, "link", "del", "c1")
    before = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest()).streams[0].consumers
    procs = topo.start_receivers(6000, "after-egress", idle=2.0)
    try:
        sent = topo.send(path, PORT, pps)
        for i in (0, 2):
            procs[i].wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    after = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest()).streams[0].consumers
    for i in (0, 2):
        assert topo.receiver_result("after-egress", i)[0]["count"] == sent
    dropped = sum(after[1].dropped_packets) - sum(before[1].dropped_packets)
    delivered = sum(after[1].delivered_packets) - sum(before[1].delivered_packets)
    assert (dropped, delivered) == (sent, 0)
    assert [s.stream_id for s in stub.ListStreams(loader_pb2.ListStreamsRequest()).streams] == [41]
