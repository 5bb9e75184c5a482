# SPDX-License-Identifier: Apache-2.0
"""Validation of stream requests: every check runs before anything is changed."""

from __future__ import annotations

import ipaddress
import re

from edgerep.v1 import common_pb2, loader_pb2

from edgerep_loader import stream_prog as sp

MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
#: Largest DifferentialFirst rate (keeps elapsed * rate inside 64 bits in the kernel).
MAX_RATE_BPS = 1_000_000_000
PPM = 1_000_000
UDP = 17  # the only transport the programs parse; a stream that leaves ip_protocol 0 means it


class InvalidRequest(ValueError):
    """A request argument is wrong; the message says which and why."""


def check_port(port: int, what: str) -> None:
    """A UDP port must be 1..65535."""
    if not 1 <= port <= 65535:
        raise InvalidRequest(f"{what} must be 1..65535, got {port}")


def check_policy(p: common_pb2.Policy, who: str) -> None:
    """A drop policy must be a known kind with sane parameters."""
    kinds = (
        common_pb2.POLICY_KIND_UNSPECIFIED,
        common_pb2.POLICY_KIND_NONE,
        common_pb2.POLICY_KIND_UNIFORM,
        common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST,
    )
    if p.kind not in kinds:
        raise InvalidRequest(f"{who}: unknown policy kind {p.kind}")
    if p.uniform_drop_ppm > PPM:
        raise InvalidRequest(f"{who}: uniform_drop_ppm {p.uniform_drop_ppm} exceeds {PPM}")
    if p.kind == common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST and p.rate_bytes_per_sec == 0:
        raise InvalidRequest(f"{who}: DIFFERENTIAL_FIRST needs rate_bytes_per_sec > 0")
    # UNIFORM takes a rate too (maxBitrate with policy Uniform): its budget drops regardless of class
    if p.rate_bytes_per_sec > MAX_RATE_BPS:
        raise InvalidRequest(f"{who}: rate_bytes_per_sec {p.rate_bytes_per_sec} exceeds {MAX_RATE_BPS}")


def check_stream(spec: loader_pb2.ReplicatorStream, ifindex_of) -> None:
    """Validate a ReplicatorStream; ``ifindex_of(name)`` gives 0 for unknown interfaces."""
    if not 1 <= spec.stream_id <= 65535:
        raise InvalidRequest(f"stream_id must be 1..65535, got {spec.stream_id}")
    if not spec.interface or not ifindex_of(spec.interface):
        raise InvalidRequest(f"stream {spec.stream_id}: unknown interface {spec.interface!r}")
    if spec.ip_protocol not in (0, UDP):
        raise InvalidRequest(f"stream {spec.stream_id}: ip_protocol must be 17 (UDP), got {spec.ip_protocol}")
    check_port(spec.port, f"stream {spec.stream_id}: port")
    if spec.inspection not in (common_pb2.INSPECTION_NONE, common_pb2.INSPECTION_MPEGTS):
        raise InvalidRequest(f"stream {spec.stream_id}: inspection must be NONE or MPEGTS")
    if len(spec.consumers) > sp.MAX_CONSUMERS:
        raise InvalidRequest(
            f"stream {spec.stream_id}: {len(spec.consumers)} consumers, at most {sp.MAX_CONSUMERS}"
        )
    names = set()
    for i, c in enumerate(spec.consumers):
        who = f"stream {spec.stream_id} consumer {i} ({c.name!r})"
        if not c.name:
            raise InvalidRequest(f"{who}: name is empty")
        if c.name in names:
            raise InvalidRequest(f"{who}: duplicate name")
        names.add(c.name)
        if not c.egress_interface or not ifindex_of(c.egress_interface):
            raise InvalidRequest(f"{who}: unknown egress interface {c.egress_interface!r}")
        for field in ("dst_mac", "src_mac"):
            v = getattr(c, field)
            if v and not MAC_RE.match(v):
                raise InvalidRequest(f"{who}: {field} {v!r} is not aa:bb:cc:dd:ee:ff")
        for field, required in (("dst_ip", True), ("src_ip", False)):
            v = getattr(c, field)
            if not v and not required:
                continue
            try:
                ipaddress.IPv4Address(v)
            except ValueError:
                raise InvalidRequest(f"{who}: {field} {v!r} is not an IPv4 address") from None
        check_port(c.dst_port, f"{who}: dst_port")
        check_policy(c.policy, who)
