# SPDX-License-Identifier: Apache-2.0
"""The sensor's token bucket: the edge's constants, DifferentialFirst's order, the budget kept."""

from __future__ import annotations

import os
import re

import pytest

from edgerep_sensor import bucket, ts

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def define(path: str, name: str) -> int:
    with open(os.path.join(ROOT, path)) as f:
        return int(re.search(rf"#define\s+{name}\s+(\d+)", f.read()).group(1))


def test_the_constants_are_the_edges():
    assert bucket.RESERVE_DISPOSABLE_8TH == define("bpf/progs/policy.h", "RESERVE_DISPOSABLE_8TH")
    assert bucket.RESERVE_DIFFERENTIAL_8TH == define("bpf/progs/policy.h", "RESERVE_DIFFERENTIAL_8TH")
    with open(os.path.join(ROOT, "bpf/loader/edgerep_loader/stream_service.py")) as f:
        divisor = int(re.search(r"^DEFAULT_BURST_DIVISOR = (\d+)", f.read(), re.M).group(1))
    assert bucket.DEFAULT_BURST_DIVISOR == divisor
    assert ts.TS_PER_DGRAM_MAX == define("bpf/progs/ts.h", "TS_PER_DGRAM_MAX")
    assert ts.MAX_PIDS == define("bpf/progs/stream_types.h", "MAX_PIDS")


def run(b: bucket.Bucket, pattern: list[int], seconds: float, pps: int, size: int = 1358) -> dict:
    """Offers ``pps`` packets a second of the classes in ``pattern`` (cycled): bytes sent per class."""
    sent: dict[int, int] = {}
    offered: dict[int, int] = {}
    n = int(seconds * pps)
    for i in range(n):
        cls = pattern[i % len(pattern)]
        offered[cls] = offered.get(cls, 0) + size
        if b.admit(cls, size, int(i * 1e9 / pps)):
            sent[cls] = sent.get(cls, 0) + size
    return {"sent": sent, "offered": offered}


# a GOP-like mix: one reference packet in ten, the rest differential and disposable
MIX = [ts.CLASS_REFERENCE] + [ts.CLASS_DIFFERENTIAL] * 5 + [ts.CLASS_DISPOSABLE] * 4


def test_differential_first_keeps_the_budget_and_every_reference_packet():
    pps, size, seconds = 2000, 1358, 10
    full = pps * size * 8
    b = bucket.Bucket(int(full * 0.4), bucket.DIFFERENTIAL_FIRST)
    r = run(b, MIX, seconds, pps, size)
    total = sum(r["sent"].values()) * 8 / seconds
    assert total <= full * 0.4 * 1.03, f"sent {total:.0f} bit/s over a {full * 0.4:.0f} budget"
    assert total >= full * 0.4 * 0.9, "a budget is used, not wasted"
    assert r["sent"][ts.CLASS_REFERENCE] == r["offered"][ts.CLASS_REFERENCE]
    dis = r["sent"].get(ts.CLASS_DISPOSABLE, 0) / r["offered"][ts.CLASS_DISPOSABLE]
    diff = r["sent"][ts.CLASS_DIFFERENTIAL] / r["offered"][ts.CLASS_DIFFERENTIAL]
    assert dis < diff, "disposable packets go before differential ones"


def test_uniform_drops_without_regard_to_class():
    pps, size, seconds = 2000, 1358, 10
    full = pps * size * 8
    r = run(bucket.Bucket(int(full * 0.4), bucket.UNIFORM), MIX, seconds, pps, size)
    ref = r["sent"].get(ts.CLASS_REFERENCE, 0) / r["offered"][ts.CLASS_REFERENCE]
    assert ref < 0.9, "Uniform keeps no promise to reference packets"
    assert sum(r["sent"].values()) * 8 / seconds <= full * 0.4 * 1.03


def test_a_budget_above_the_stream_drops_nothing():
    pps, size = 2000, 1358
    r = run(bucket.Bucket(pps * size * 8 * 2), MIX, 5, pps, size)
    assert r["sent"] == r["offered"]


def test_a_budget_too_small_even_for_reference_packets_drops_them_last():
    pps, size, seconds = 2000, 1358, 5
    full = pps * size * 8
    r = run(bucket.Bucket(int(full * 0.05)), MIX, seconds, pps, size)
    assert r["sent"].get(ts.CLASS_DISPOSABLE, 0) == 0
    assert 0 < r["sent"][ts.CLASS_REFERENCE] < r["offered"][ts.CLASS_REFERENCE]


def test_time_going_backwards_or_a_long_pause_is_bounded():
    b = bucket.Bucket(8_000_000)
    assert b.admit(ts.CLASS_REFERENCE, 1000, 10**9)
    assert b.tokens <= b.burst
    b.admit(ts.CLASS_REFERENCE, 1000, 0)  # earlier than the last packet: no tokens added
    b.admit(ts.CLASS_REFERENCE, 1000, 10**12)
    assert b.tokens <= b.burst


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError):
        bucket.Bucket(1000, "None")
