# SPDX-License-Identifier: Apache-2.0
"""Pure tests of the stream request validation (no kernel)."""

from __future__ import annotations

import pytest

from edgerep.v1 import common_pb2, loader_pb2
from edgerep_loader.stream_validate import InvalidRequest, check_stream

IFACES = {"in0": 2, "c0": 3}


def ifindex_of(name: str) -> int:
    return IFACES.get(name, 0)


def spec(**kw) -> loader_pb2.ReplicatorStream:
    consumer = loader_pb2.ReplicatorConsumer(
        name="a", egress_interface="c0", dst_ip="10.1.0.2", dst_port=6000
    )
    args = dict(
        stream_id=1, interface="in0", port=5004, inspection=common_pb2.INSPECTION_MPEGTS, consumers=[consumer]
    )
    args.update(kw)
    return loader_pb2.ReplicatorStream(**args)


def test_stream_valid_spec_passes():
    check_stream(spec(), ifindex_of)
    check_stream(spec(consumers=[]), ifindex_of)
    many = [
        loader_pb2.ReplicatorConsumer(name=f"c{i}", egress_interface="c0", dst_ip="10.1.0.2", dst_port=6000)
        for i in range(256)
    ]
    check_stream(spec(consumers=many), ifindex_of)
    # maxBitrate with policy Uniform: a budget that drops regardless of class
    uniform = common_pb2.Policy(kind=common_pb2.POLICY_KIND_UNIFORM, rate_bytes_per_sec=250_000)
    budgeted = loader_pb2.ReplicatorConsumer(
        name="u", egress_interface="c0", dst_ip="10.1.0.2", dst_port=6000, policy=uniform
    )
    check_stream(spec(consumers=[budgeted]), ifindex_of)


@pytest.mark.parametrize(
    "kw,words",
    [
        (dict(port=0), "port must be 1..65535"),
        (dict(stream_id=65536), "stream_id"),
        (dict(interface="eth9"), "unknown interface"),
        (dict(ip_protocol=6), "ip_protocol"),
        (dict(inspection=7), "inspection"),
    ],
)
def test_stream_bad_stream_fields(kw, words):
    with pytest.raises(InvalidRequest, match=words):
        check_stream(spec(**kw), ifindex_of)


@pytest.mark.parametrize(
    "ckw,words",
    [
        (dict(policy=common_pb2.Policy(kind=9)), "unknown policy kind"),
        (dict(policy=common_pb2.Policy(kind=common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST)), "rate"),
        (
            dict(
                policy=common_pb2.Policy(
                    kind=common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST, rate_bytes_per_sec=10**12
                )
            ),
            "exceeds",
        ),
        (
            dict(policy=common_pb2.Policy(kind=common_pb2.POLICY_KIND_UNIFORM, uniform_drop_ppm=10**7)),
            "ppm",
        ),
        (
            dict(policy=common_pb2.Policy(kind=common_pb2.POLICY_KIND_UNIFORM, rate_bytes_per_sec=10**12)),
            "exceeds",
        ),
        (dict(dst_ip="::1"), "IPv4"),
        (dict(src_ip="nope"), "IPv4"),
        (dict(dst_mac="00:11"), "dst_mac"),
        (dict(egress_interface="x"), "egress"),
        (dict(dst_port=65536), "dst_port"),
    ],
)
def test_stream_bad_consumer_fields(ckw, words):
    args = dict(name="a", egress_interface="c0", dst_ip="10.1.0.2", dst_port=6000)
    args.update(ckw)
    with pytest.raises(InvalidRequest, match=words):
        check_stream(spec(consumers=[loader_pb2.ReplicatorConsumer(**args)]), ifindex_of)
