# SPDX-License-Identifier: Apache-2.0
"""The edge's drop policy at the source: a byte token bucket (after bpf/progs/policy.h).

DifferentialFirst: a packet is sent when the bucket still holds its length above the reserve
of its class: disposable packets must leave 6/8 of the bucket, differential ones 4/8, reference
and non-video packets nothing — so differential packets go first and reference packets only when
even they exceed the budget. Uniform drops whatever does not fit, without regard to class. The
bucket is rate / DEFAULT_BURST_DIVISOR deep (the loader's default) and starts full; packets are
charged as the edge charges them, by their Ethernet frame length. ``unit_sensor_bucket`` checks
the constants against the C headers and the loader.
"""

from __future__ import annotations

from edgerep_sensor import ts

NS_PER_SEC = 1_000_000_000
#: share of the bucket (in 1/8) a packet of the class must leave (policy.h RESERVE_*_8TH)
RESERVE_DISPOSABLE_8TH = 6
RESERVE_DIFFERENTIAL_8TH = 4
#: bucket depth = rate (bytes/s) / this (stream_service.py DEFAULT_BURST_DIVISOR)
DEFAULT_BURST_DIVISOR = 4
#: Ethernet, IPv4 and UDP headers: a datagram's payload plus these is what a link carries
FRAME_OVERHEAD = 14 + 20 + 8

DIFFERENTIAL_FIRST = "DifferentialFirst"
UNIFORM = "Uniform"


class Bucket:
    """A token bucket of ``rate_bps`` bits per second enforcing ``policy`` (DifferentialFirst or Uniform)."""

    def __init__(self, rate_bps: int, policy: str = DIFFERENTIAL_FIRST, now_ns: int = 0):
        if policy not in (DIFFERENTIAL_FIRST, UNIFORM):
            raise ValueError(f"unknown policy {policy}")
        self.rate = max(rate_bps // 8, 1)  # bytes per second, as the edge holds it
        self.burst = max(self.rate // DEFAULT_BURST_DIVISOR, 1)
        self.policy = policy
        self.tokens = self.burst
        self.last_ns = now_ns

    def admit(self, cls: int, length: int, now_ns: int) -> bool:
        """Whether a packet of class ``cls`` and ``length`` bytes (frame) is sent at ``now_ns``."""
        elapsed = min(max(now_ns - self.last_ns, 0), NS_PER_SEC)
        tokens = min(self.tokens + elapsed * self.rate // NS_PER_SEC, self.burst)
        self.last_ns = now_ns
        reserve = 0
        if self.policy == DIFFERENTIAL_FIRST:
            if cls == ts.CLASS_DISPOSABLE:
                reserve = self.burst // 8 * RESERVE_DISPOSABLE_8TH
            elif cls == ts.CLASS_DIFFERENTIAL:
                reserve = self.burst // 8 * RESERVE_DIFFERENTIAL_8TH
        if tokens < reserve + length:
            self.tokens = tokens
            return False
        self.tokens = tokens - length
        return True
