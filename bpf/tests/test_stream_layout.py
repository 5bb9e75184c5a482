# SPDX-License-Identifier: Apache-2.0
"""The map layouts bcc compiled are the ones stream_types.h documents (as Cilium's alignchecker).

A layout change breaks adoption of maps pinned by an earlier loader, so sizes and
key offsets are pinned here; change them only with a migration.
"""

from __future__ import annotations

import ctypes as ct

import pytest

import streamlib
from edgerep_loader.stream_kernel import StreamKernel

EXPECTED = {
    # map: (key size, value size, {field: offset})
    b"ports": (8, 4, {}),
    b"stream_cfgs": (4, 16, {"stream_id": 0, "ifindex": 4, "port": 8, "inspection": 10, "n_consumers": 12}),
    b"consumers": (
        4,
        56,
        {
            "ifindex": 0,
            "dst_ip": 4,
            "src_ip": 8,
            "dst_port": 12,
            "policy": 14,
            "use_fib": 15,
            "dst_mac": 16,
            "src_mac": 22,
            "uniform_ppm": 28,
            "rate_bps": 40,
            "burst": 48,
        },
    ),
    b"buckets": (4, 16, {"tokens": 0, "last_ns": 8}),
    b"stream_states": (4, 136, {"pids": 0, "cur": 128}),
    b"spec_blobs": (4, 32764, {"len": 0, "data": 4}),
    b"replicators": (4, 8, {"datapath": 0, "xdp_mode": 4}),
}
PERCPU = {b"consumer_stats": 320, b"stream_stats": 104}


@pytest.fixture(scope="module")
def kernel():
    pin = streamlib.new_pin_dir()
    try:
        k = StreamKernel(pin, xdp=True)
        yield k
        k.bpf.cleanup()
    finally:
        streamlib.remove_pin_dir(pin)


def test_stream_map_layouts(kernel):
    for name, (ksize, vsize, fields) in EXPECTED.items():
        t = kernel.table(name)
        assert ct.sizeof(t.Key) == ksize, name
        assert ct.sizeof(t.Leaf) == vsize, name
        for field, off in fields.items():
            assert getattr(t.Leaf, field).offset == off, (name, field)
    for name, vsize in PERCPU.items():
        assert ct.sizeof(kernel.table(name).sLeaf) == vsize, name
