# SPDX-License-Identifier: Apache-2.0
"""End-to-end in network namespaces: a real ffmpeg TS from a sender namespace into a
node namespace whose loader (a real process, gRPC on a unix socket) programs the tc
replicator, copied to 4 consumer namespaces with different policies; then the
loader is killed mid-stream and restarted without a packet lost.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

import stream_fixtures as fx
import streamlib
from edgerep.v1 import common_pb2, loader_pb2
from streamlib.topo import Topology, consumer_gw, consumer_ip, link_mac

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")

PORT = 5004
CONSUMER_PORT = 6000
FRAME = 1316 + 42
REF, UNKNOWN = common_pb2.FRAME_CLASS_REFERENCE, common_pb2.FRAME_CLASS_UNKNOWN
DIFF, DISP = common_pb2.FRAME_CLASS_DIFFERENTIAL, common_pb2.FRAME_CLASS_DISPOSABLE


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


def consumer(t: Topology, i: int, policy: common_pb2.Policy | None = None) -> loader_pb2.ReplicatorConsumer:
    return loader_pb2.ReplicatorConsumer(
        name=f"c{i}",
        egress_interface=f"c{i}",
        dst_mac=link_mac(t.cns(i), "eth0"),
        dst_ip=consumer_ip(i),
        src_ip=consumer_gw(i),
        dst_port=CONSUMER_PORT,
        policy=policy or common_pb2.Policy(kind=common_pb2.POLICY_KIND_NONE),
    )


def run_stream(t: Topology, tag: str, path: str, pps: float) -> tuple[int, list[dict], list[str]]:
    procs = t.start_receivers(CONSUMER_PORT, tag, idle=2.0)
    try:
        sent = t.send(path, PORT, pps)
        for p in procs:
            p.wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = [t.receiver_result(tag, i) for i in range(t.consumers)]
    return sent, [r for r, _ in results], [p for _, p in results]


def assert_thinned(original: bytes, captured: bytes, who: str) -> None:
    """Every datagram a policy let through is one the sender sent, whole and in order."""
    sent = [original[j : j + 1316] for j in range(0, len(original) - len(original) % 188, 1316)]
    got = [captured[j : j + 1316] for j in range(0, len(captured), 1316)]
    at = 0
    for n, datagram in enumerate(got):
        start = at
        while at < len(sent) and sent[at] != datagram:
            at += 1
        assert at < len(sent), f"{who}: datagram {n} is none of those sent after #{start}"
        at += 1


def test_stream_policies_end_to_end(topo):
    stub = topo.stub()
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    assert rep.datapath == common_pb2.DATAPATH_TC and rep.ifindex > 0
    path = fx.clip("h264")
    data_len = os.path.getsize(path)
    dgrams = -(-(data_len // 188) // 7)
    seconds = 8.0
    pps = dgrams / seconds
    stream_bps = pps * FRAME
    diff_first = common_pb2.Policy(
        kind=common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST,
        rate_bytes_per_sec=int(stream_bps * 0.8),
        burst_bytes=int(stream_bps * 0.5),
    )
    uniform = common_pb2.Policy(kind=common_pb2.POLICY_KIND_UNIFORM, uniform_drop_ppm=200_000)
    spec = loader_pb2.ReplicatorStream(
        stream_id=7,
        interface="in0",
        ip_protocol=17,
        port=PORT,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[
            consumer(topo, 0),
            consumer(topo, 1),
            consumer(topo, 2, diff_first),
            consumer(topo, 3, uniform),
        ],
    )
    stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))
    # idempotent: the same state again changes nothing
    stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))
    listed = stub.ListStreams(loader_pb2.ListStreamsRequest())
    assert [s.stream_id for s in listed.streams] == [7]
    assert listed.streams[0].consumers == spec.consumers

    sent, got, files = run_stream(topo, "pol", path, pps)
    with open(path, "rb") as f:
        original = f.read()
    counters = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest(stream_ids=[7])).streams[0]
    assert counters.packets_seen == sent
    assert counters.packets_malformed == 0
    by_name = {c.name: c for c in counters.consumers}
    for i in range(4):
        assert got[i]["bad_ip_csum"] == 0 and got[i]["bad_udp_csum"] == 0, f"c{i}: {got[i]}"
        # counters match what the consumer received
        assert sum(by_name[f"c{i}"].delivered_packets) == got[i]["count"], f"c{i}"
    # no policy: every datagram, byte-identical stream
    for i in (0, 1):
        assert got[i]["count"] == sent
        with open(files[i], "rb") as f:
            assert f.read() == original[: len(original) - len(original) % 188]
    # the policies thin the stream, they never damage what they let through
    for i in (2, 3):
        with open(files[i], "rb") as f:
            assert_thinned(original, f.read(), f"c{i}")
    # DifferentialFirst at 80%: loses only differential / disposable packets
    c2 = by_name["c2"]
    assert 0 < got[2]["count"] < sent
    assert c2.dropped_packets[REF] == 0 and c2.dropped_packets[UNKNOWN] == 0, c2
    assert c2.dropped_packets[DIFF] + c2.dropped_packets[DISP] > 0
    delivered = sum(c2.delivered_bytes)
    assert delivered <= 0.8 * sent * FRAME + diff_first.burst_bytes + FRAME
    # Uniform 20%: loses across classes
    c3 = by_name["c3"]
    assert 0.1 * sent < sum(c3.dropped_packets) < 0.3 * sent
    assert c3.dropped_packets[REF] > 0 and c3.dropped_packets[DIFF] + c3.dropped_packets[DISP] > 0
    # every consumer's capture is a decodable stream
    for i in range(4):
        out = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-count_frames",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=nb_read_frames",
                "-of",
                "csv=p=0",
                files[i],
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        frames = int((out.stdout.split() or ["0"])[0].strip(","))
        assert frames > 0, f"c{i}: nothing decodable: {out.stderr[-500:]}"
        if i in (0, 1):
            assert frames == 240


def test_stream_consumer_reached_through_the_fib(topo):
    """A consumer without a MAC (behind another hop) gets its copies by FIB lookup."""
    # a node routes to its pods (the FIB helper answers only where forwarding is on)
    subprocess.run(["ip", "netns", "exec", topo.node, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
    subprocess.run(
        ["ip", "netns", "exec", topo.node, "ping", "-c", "1", "-W", "2", consumer_ip(3)],
        check=True,
        capture_output=True,
    )  # the neighbour is resolved
    stub = topo.stub()
    stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    via_fib = consumer(topo, 3)
    via_fib.dst_mac = ""
    spec = loader_pb2.ReplicatorStream(
        stream_id=10,
        interface="in0",
        ip_protocol=17,
        port=PORT + 2,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[consumer(topo, 0), via_fib],
    )
    stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))
    procs = topo.start_receivers(CONSUMER_PORT, "fib", idle=2.0)
    try:
        sent = topo.send(fx.clip("h264_g12_pid"), PORT + 2, 1500)
        for i in (0, 3):  # c1 and c2 are not consumers of this stream
            procs[i].wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for i in (0, 3):
        res, _ = topo.receiver_result("fib", i)
        assert res["count"] == sent and res["bad_ip_csum"] == 0 and res["bad_udp_csum"] == 0, (i, res)
    stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=10))


def test_stream_uniform_with_a_budget_holds_it_regardless_of_class(topo):
    """maxBitrate with policy Uniform (the operator sends UNIFORM with a rate): the same token bucket as
    DifferentialFirst, but what does not fit is dropped whatever its class, key frames included."""
    stub = topo.stub()
    stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    path = fx.clip("h264")
    sent_packets = -(-(os.path.getsize(path) // 188) // 7)
    pps = sent_packets / 8.0
    rate, burst = int(pps * FRAME * 0.8), int(pps * FRAME * 0.25)
    budgets = {
        1: common_pb2.Policy(kind=common_pb2.POLICY_KIND_UNIFORM, rate_bytes_per_sec=rate, burst_bytes=burst),
        2: common_pb2.Policy(
            kind=common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST, rate_bytes_per_sec=rate, burst_bytes=burst
        ),
    }
    spec = loader_pb2.ReplicatorStream(
        stream_id=11,
        interface="in0",
        ip_protocol=17,
        port=PORT + 3,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[consumer(topo, i, policy) for i, policy in budgets.items()],
    )
    stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))
    assert stub.ListStreams(loader_pb2.ListStreamsRequest()).streams[-1].consumers == spec.consumers
    procs = topo.start_receivers(CONSUMER_PORT, "uni", idle=2.0)
    try:
        sent = topo.send(path, PORT + 3, pps)
        for i in budgets:  # c0 and c3 are not consumers of this stream
            procs[i].wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    counters = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest(stream_ids=[11])).streams[0]
    by_name = {c.name: c for c in counters.consumers}
    stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=11))
    with open(path, "rb") as f:
        original = f.read()
    for i in budgets:
        got, capture = topo.receiver_result("uni", i)
        c = by_name[f"c{i}"]
        assert sum(c.delivered_packets) == got["count"] and 0 < got["count"] < sent, (i, got)
        assert sum(c.delivered_bytes) <= 0.8 * sent * FRAME + burst + FRAME, f"c{i} exceeded its budget"
        with open(capture, "rb") as f:
            assert_thinned(original, f.read(), f"c{i}")
    uniform, diff_first = by_name["c1"], by_name["c2"]
    assert uniform.dropped_packets[REF] > 0, uniform  # the budget does not spare key frames
    assert diff_first.dropped_packets[REF] == 0, diff_first


def test_stream_counters_follow_each_consumer_when_the_set_changes(topo):
    """Counters (and buckets) live at a consumer's index in its stream's slot. When a consumer before
    others is removed they move up, and a consumer added later takes a freed index: each consumer's
    counters must stay its own, and a new consumer's must start at zero."""
    stub = topo.stub()
    stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    path = fx.clip("h264")
    pps = -(-(os.path.getsize(path) // 188) // 7) / 4.0
    half = common_pb2.Policy(kind=common_pb2.POLICY_KIND_UNIFORM, uniform_drop_ppm=500_000)

    def set_consumers(*which: int) -> None:
        stub.SetStream(
            loader_pb2.SetStreamRequest(
                stream=loader_pb2.ReplicatorStream(
                    stream_id=12,
                    interface="in0",
                    ip_protocol=17,
                    port=PORT + 4,
                    inspection=common_pb2.INSPECTION_MPEGTS,
                    consumers=[consumer(topo, i, half if i == 0 else None) for i in which],
                )
            )
        )

    def delivered(settled=lambda d: True) -> dict[str, int]:
        """Delivered copies by consumer, once ``settled`` holds (the last copies may still be in flight)."""
        deadline = time.monotonic() + 5
        while True:
            s = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest(stream_ids=[12])).streams[0]
            d = {c.name: sum(c.delivered_packets) for c in s.consumers}
            if settled(d) or time.monotonic() > deadline:
                return d
            time.sleep(0.05)

    try:
        set_consumers(0, 1, 2)
        first = topo.send(path, PORT + 4, pps)
        a = delivered(lambda d: d["c1"] == d["c2"] == first)
        assert a["c1"] == a["c2"] == first and 0 < a["c0"] < first, a  # c0 drops about half

        set_consumers(1, 2)  # c1 and c2 move up to c0's index and the next
        assert delivered() == {"c1": first, "c2": first}
        set_consumers(1, 2, 3)  # c3 takes the index c2 had: it counted nothing yet
        assert delivered() == {"c1": first, "c2": first, "c3": 0}

        second = topo.send(path, PORT + 4, pps)
        want = {"c1": first + second, "c2": first + second, "c3": second}
        assert delivered(lambda d: d == want) == want
    finally:
        stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=12))


def test_stream_loader_restart_loses_nothing(topo):
    stub = topo.stub()
    spec = loader_pb2.ReplicatorStream(
        stream_id=8,
        interface="in0",
        ip_protocol=17,
        port=PORT + 1,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[consumer(topo, i) for i in range(4)],
    )
    stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))
    before = stub.ListStreams(loader_pb2.ListStreamsRequest())
    procs = topo.start_receivers(CONSUMER_PORT, "rst", idle=2.0)
    sender = None
    try:
        # ~2 kpps for ~5 s
        sender = topo.send(fx.clip("h264"), PORT + 1, 2000, repeat=7, wait=False)
        time.sleep(1.5)
        topo.kill_loader()
        time.sleep(1.0)
        topo.start_loader()
        stub = topo.stub()
        rep = stub.EnsureReplicator(
            loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
        )
        assert rep.adopted
        after = stub.ListStreams(loader_pb2.ListStreamsRequest())
        assert after.streams == before.streams
        stub.SetStream(loader_pb2.SetStreamRequest(stream=spec))  # the agent re-applies
        out, _ = sender.communicate(timeout=60)
        sent = int(out.split()[0])
        for p in procs:
            p.wait(timeout=60)
    finally:
        for p in procs + ([sender] if sender else []):
            if p.poll() is None:
                p.kill()
    for i in range(4):
        res, _ = topo.receiver_result("rst", i)
        assert res["count"] == sent, f"c{i} received {res['count']} of {sent}"
