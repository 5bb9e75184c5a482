# SPDX-License-Identifier: Apache-2.0
"""Robustness of the tc replicator under ≥ 100k malformed and random packets (BPF_PROG_TEST_RUN),
and the fan-out to 256 consumers.

Runs inside a namespace of its own: copies go to a veth pair there, never out.
"""

from __future__ import annotations

import random
import struct

import pytest
from pyroute2 import netns

import stream_fixtures as fx
import streamlib
from edgerep_loader.stream_kernel import KernelConsumer, StreamKernel
from edgerep_loader.testrun import test_run as prog_test_run

PORT = 5004
LO = 1
TC_ACT_SHOT, TC_ACT_REDIRECT = 2, 7
#: TC_ACT_UNSPEC (-1) as the u32 retval: pass on to the next program of the chain (TCX_NEXT)
TC_NEXT = 0xFFFFFFFF
TOTAL = 100_000
NONE, UNIFORM = 1, 2


@pytest.fixture(scope="module")
def env():
    streamlib.remove_leftovers()
    pin = streamlib.new_pin_dir()
    with streamlib.TestNetns("fz") as ns:
        # copies go into a veth pair whose far end has no address: they end there
        ns.ip("link", "add", "sink0", "type", "veth", "peer", "name", "sink1")
        ns.ip("link", "set", "sink0", "up")
        ns.ip("link", "set", "sink1", "up")
        netns.pushns(ns.name)
        try:
            k = StreamKernel(pin, xdp=False)
            from pyroute2 import IPRoute

            with IPRoute() as ipr:
                dummy = ipr.link_lookup(ifname="sink0")[0]
            yield k, dummy
            k.bpf.cleanup()
        finally:
            netns.popns()
            streamlib.remove_pin_dir(pin)


def consumer(ifindex: int, i: int, policy: int = NONE, ppm: int = 0) -> KernelConsumer:
    return KernelConsumer(
        ifindex=ifindex,
        dst_mac=bytes([2, 0, 0, 0, i >> 8, i & 255]),
        src_mac=b"\x02\xee\0\0\0\1",
        dst_ip=f"10.202.{i >> 8}.{i & 255}",
        src_ip="10.202.255.1",
        dst_port=6000 + i,
        policy=policy,
        uniform_ppm=ppm,
    )


def ipv6_udp(payload: bytes, dport: int) -> bytes:
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
    ip6 = struct.pack(
        "!IHBB16s16s", 6 << 28, len(udp), 17, 64, b"\xfd" + b"\0" * 15, b"\xfd" + b"\0" * 14 + b"\1"
    )
    return b"\2" * 6 + b"\4" * 6 + b"\x86\xdd" + ip6 + udp


def mutate_ts(rng: random.Random, payload: bytearray) -> bytearray:
    """Break a real TS payload in one of several ways."""
    kind = rng.randrange(6)
    if kind == 0:  # wrong sync byte somewhere
        payload[rng.randrange(0, len(payload), 188)] = rng.randrange(256)
    elif kind == 1:  # absurd adaptation field length
        off = rng.randrange(0, len(payload), 188)
        payload[off + 3] |= 0x20
        payload[off + 4] = rng.randrange(184, 256)
    elif kind == 2:  # truncated TS packet
        del payload[rng.randrange(1, len(payload)) :]
    elif kind == 3:  # random bytes inside
        for _ in range(rng.randrange(1, 40)):
            payload[rng.randrange(len(payload))] = rng.randrange(256)
    elif kind == 4:  # more TS packets than a datagram holds
        payload += payload[:188] * rng.randrange(1, 4)
    else:  # PES/PSI headers with random lengths
        off = rng.randrange(0, len(payload), 188)
        payload[off + 1] |= 0x40
        payload[off + 4 : off + 16] = bytes(rng.randrange(256) for _ in range(12))
    return payload


def test_stream_fuzz_100k(env):
    k, dummy = env
    k.write_stream(3, 33, LO, PORT, 2, [consumer(dummy, 0), consumer(dummy, 1, UNIFORM, 500_000)])
    rng = random.Random(1234)
    clip = fx.ground_truth(fx.clip("h264")).data
    good = fx.datagrams(clip)
    glob0 = k.glob_counters()
    sent = {"matched": 0, "other_port": 0, "fragment": 0, "ipv6": 0, "vlan": 0, "short": 0, "garbage": 0}
    for n in range(TOTAL):
        kind = n % 10
        passthrough = True
        if kind in (0, 1, 2):  # broken TS on the stream's port
            frame = fx.ipv4_udp_frame(bytes(mutate_ts(rng, bytearray(rng.choice(good)))), dport=PORT)
            passthrough = False
            sent["matched"] += 1
        elif kind == 3:  # non-TS UDP on the port
            frame = fx.ipv4_udp_frame(rng.randbytes(rng.randrange(0, 1473)), dport=PORT)
            passthrough = False
            sent["matched"] += 1
        elif kind == 4:  # bad UDP length fields on the port
            frame = bytearray(fx.ipv4_udp_frame(rng.choice(good), dport=PORT))
            frame[38:40] = struct.pack("!H", rng.choice([0, 1, 7, 9, 1325, 4000, 65535]))
            frame = bytes(frame)
            passthrough = False
            sent["matched"] += 1
        elif kind == 5:  # other ports
            frame = fx.ipv4_udp_frame(rng.choice(good), dport=rng.choice([53, 5005, 6000, 65535]))
            sent["other_port"] += 1
        elif kind == 6:  # IPv4 fragments (first and later) to the port
            frame = bytearray(fx.ipv4_udp_frame(rng.choice(good), dport=PORT))
            frame[20:22] = struct.pack("!H", rng.choice([0x2000, 0x00B9, 0x20B9]))
            frame = bytes(frame)
            sent["fragment"] += 1
        elif kind == 7:  # IPv6 UDP to the port
            frame = ipv6_udp(rng.choice(good)[: rng.randrange(0, 1317)], PORT)
            sent["ipv6"] += 1
        elif kind == 8:  # VLAN-tagged stream frames
            f = fx.ipv4_udp_frame(rng.choice(good), dport=PORT)
            frame = f[:12] + b"\x81\x00" + struct.pack("!H", rng.randrange(4096)) + f[12:]
            sent["vlan"] += 1
        else:  # truncated headers and random garbage
            if rng.random() < 0.5:
                frame = fx.ipv4_udp_frame(rng.choice(good), dport=PORT)[
                    : rng.randrange(34, 42)
                ]  # shorter: the kernel refuses the test run
                sent["short"] += 1
            else:
                frame = rng.randbytes(rng.randrange(60, 1600))
                sent["garbage"] += 1
        res = prog_test_run(k.tc_fn.fd, frame)
        assert res.retval in (TC_NEXT, TC_ACT_SHOT, TC_ACT_REDIRECT)
        if passthrough:
            if kind in (5, 6, 7, 8) or (kind == 9 and len(frame) < 42):
                assert res.retval == TC_NEXT, f"frame kind {kind} must pass untouched"
                assert res.data_out == frame, f"frame kind {kind} was modified"
    s = k.stream_counters(3)
    g = k.glob_counters()
    d = {key: g[key] - glob0[key] for key in g}
    assert s["packets_seen"] >= sent["matched"]  # random garbage may hit the port too
    assert s["packets_parsed"] + s["packets_malformed"] == s["packets_seen"]
    assert s["packets_malformed"] >= sent["matched"] * 0.5
    assert d["fragment"] == sent["fragment"]
    assert d["ipv6"] == sent["ipv6"]
    assert d["vlan"] >= sent["vlan"]
    assert d["truncated"] >= sent["short"]
    c0 = k.consumer_counters(3, 0)
    c1 = k.consumer_counters(3, 1)
    # every matched datagram went to the no-policy consumer; the Uniform one lost ~half
    assert sum(c0["delivered_packets"]) == s["packets_seen"]
    assert 0.4 < sum(c1["dropped_packets"]) / s["packets_seen"] < 0.6
    k.clear_stream(3, LO, PORT)


def test_stream_fanout_256_consumers(env):
    k, dummy = env
    k.write_stream(4, 44, LO, PORT + 1, 2, [consumer(dummy, i) for i in range(256)])
    payloads = fx.datagrams(fx.ground_truth(fx.clip("h264")).data)[:20]
    for p in payloads:
        res = prog_test_run(k.tc_fn.fd, fx.ipv4_udp_frame(p, dport=PORT + 1))
        assert res.retval == TC_ACT_REDIRECT  # the last copy is the frame itself
    for i in range(256):
        c = k.consumer_counters(4, i)
        assert sum(c["delivered_packets"]) == len(payloads), f"consumer {i}: {c}"
        assert sum(c["dropped_packets"]) == 0
    k.clear_stream(4, LO, PORT + 1)


def test_stream_fixture_table(env):
    """katran-style fixtures: description, input frame, expected verdict and output frame."""
    k, dummy = env
    payload = fx.datagrams(fx.ground_truth(fx.clip("h264")).data)[3]
    c = consumer(dummy, 7)
    k.write_stream(5, 55, LO, PORT + 2, 2, [c])
    dst_mac, src_mac = c.dst_mac, c.src_mac
    rewritten = dict(src_ip=c.src_ip, dst_ip=c.dst_ip, dport=c.dst_port, dst_mac=dst_mac, src_mac=src_mac)
    cases = [
        (
            "stream frame: rewritten to the consumer, checksums recomputed",
            fx.ipv4_udp_frame(payload, dport=PORT + 2),
            TC_ACT_REDIRECT,
            fx.ipv4_udp_frame(payload, **rewritten),
        ),
        (
            "stream frame without UDP checksum: stays without",
            fx.ipv4_udp_frame(payload, dport=PORT + 2, udp_csum=False),
            TC_ACT_REDIRECT,
            fx.ipv4_udp_frame(payload, udp_csum=False, **rewritten),
        ),
        (
            "another port: untouched",
            fx.ipv4_udp_frame(payload, dport=PORT + 3),
            TC_NEXT,
            fx.ipv4_udp_frame(payload, dport=PORT + 3),
        ),
        ("IPv6 to the port: untouched", ipv6_udp(payload, PORT + 2), TC_NEXT, ipv6_udp(payload, PORT + 2)),
    ]
    for what, frame, verdict, expected in cases:
        res = prog_test_run(k.tc_fn.fd, frame)
        assert res.retval == verdict, what
        assert res.data_out == expected, what
    k.clear_stream(5, LO, PORT + 2)
