# SPDX-License-Identifier: Apache-2.0
"""A consumer whose egress carries less than the stream's datagrams.

tc: the kernel drops a frame longer than the receiving device's MTU without telling the program
that redirected it, so the copy would be counted as delivered. The programs compare each frame with
the longest the consumer's egress carries and count the copy as a drop instead; SetStream warns about
the consumer (the agent shows it as degraded, EgressMtuTooSmall); the other consumers get every copy.

XDP: a generic broadcast stops at the first device a frame does not fit (the devices after it get
nothing) and a native one skips it uncounted, so such a consumer is refused on the XDP datapath and
left out of the broadcast; the other consumers get every copy.
"""

from __future__ import annotations

import os

import pytest

import stream_fixtures as fx
from edgerep.v1 import common_pb2, loader_pb2
from streamlib.topo import running, sh
from test_stream_netns import CONSUMER_PORT, PORT, consumer

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")

SMALL_MTU = 1000  # the clip's datagrams are 7 TS packets: 1316 bytes of UDP payload, 1344 of IP


@pytest.fixture(scope="module")
def topo():
    with running(3) as t:
        # both ends, as a CNI sets a pod's MTU
        sh("ip", "-n", t.node, "link", "set", "c1", "mtu", str(SMALL_MTU))
        sh("ip", "-n", t.cns(1), "link", "set", "eth0", "mtu", str(SMALL_MTU))
        yield t


def receive(t, tag: str, path: str, pps: float, silent: list[int]) -> tuple[int, list[dict]]:
    """Send the clip; what each consumer received. A receiver ends when nothing came for a while after the
    first copy: those that are to get nothing (``silent``) are stopped once the others have ended."""
    procs = t.start_receivers(CONSUMER_PORT, tag, idle=2.0)
    try:
        sent = t.send(path, PORT, pps)
        for i, p in enumerate(procs):
            if i not in silent:
                p.wait(timeout=60)
        for i in silent:
            procs[i].terminate()
            procs[i].wait(timeout=10)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return sent, [t.receiver_result(tag, i)[0] for i in range(t.consumers)]


def counters(stub, sid: int) -> dict[str, tuple[int, int]]:
    (s,) = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest(stream_ids=[sid])).streams
    return {c.name: (sum(c.delivered_packets), sum(c.dropped_packets)) for c in s.consumers}


@pytest.mark.parametrize("datapath", [common_pb2.DATAPATH_TC, common_pb2.DATAPATH_XDP], ids=["tc", "xdp"])
def test_copies_too_long_for_a_consumers_egress_are_counted_as_drops(topo, datapath):
    stub = topo.stub()
    stub.EnsureReplicator(loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=datapath))
    xdp = datapath == common_pb2.DATAPATH_XDP
    sid = 62 if xdp else 61
    try:
        resp = stub.SetStream(
            loader_pb2.SetStreamRequest(
                stream=loader_pb2.ReplicatorStream(
                    stream_id=sid,
                    interface="in0",
                    ip_protocol=17,
                    port=PORT,
                    inspection=common_pb2.INSPECTION_MPEGTS,
                    consumers=[consumer(topo, i) for i in range(topo.consumers)],
                )
            )
        )
        by_name = {r.name: r for r in resp.consumers}
        assert (
            by_name["c0"].ok and by_name["c2"].ok and not by_name["c0"].warning and not by_name["c2"].warning
        )
        small = by_name["c1"]
        if xdp:
            assert not small.ok and f"MTU {SMALL_MTU}" in small.error and "tc datapath" in small.error, small
        else:
            assert small.ok and small.warning_reason == "EgressMtuTooSmall", small
            assert f"MTU {SMALL_MTU}" in small.warning and "1500" in small.warning, small

        path = fx.clip("h264")
        pps = -(-(os.path.getsize(path) // 188) // 7) / 6.0
        before = counters(stub, sid)
        sent, got = receive(topo, f"mtu-{sid}", path, pps, silent=[1] if xdp else [])
        after = counters(stub, sid)
        # the sender sends 7 TS packets a datagram; only a shorter last one fits the small MTU
        rest = (os.path.getsize(path) // 188) % 7
        fits = 1 if rest and rest * 188 + 28 <= SMALL_MTU else 0
        # XDP: out of the broadcast altogether (it would stop a generic broadcast at it), nothing counted
        small_got, small_counts = (0, (0, 0)) if xdp else (fits, (fits, sent - fits))
        assert [g["count"] for g in got] == [sent, small_got, sent]
        delta = {n: (after[n][0] - before[n][0], after[n][1] - before[n][1]) for n in after}
        assert delta == {"c0": (sent, 0), "c1": small_counts, "c2": (sent, 0)}, delta
    finally:
        stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=sid))
        stub.RemoveReplicator(loader_pb2.RemoveReplicatorRequest(interface="in0"))
