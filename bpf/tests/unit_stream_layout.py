# SPDX-License-Identifier: Apache-2.0
"""The C side (stream_types.h, ts.h) and the Python/proto side agree on constants and codes.

Stable numeric codes are shared three ways: common.proto (FrameClass, PolicyKind,
Inspection, Datapath), the BPF headers, and the loader's mirror in stream_prog.py.
Struct layouts themselves come from bcc (table.Leaf), so the loader never
hand-writes them; the kernel test test_stream_layout.py checks those sizes.
"""

from __future__ import annotations

import os
import re

from edgerep.v1 import common_pb2
from edgerep_loader import stream_prog as sp

PROGS = sp.PROGS_DIR


def defines(name: str) -> dict[str, int]:
    out = {}
    with open(os.path.join(PROGS, name), encoding="utf-8") as f:
        for m in re.finditer(r"^#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", f.read(), re.M):
            out[m.group(1)] = int(m.group(2), 0)
    return out


def test_stream_limits_match_the_loader():
    d = defines("stream_types.h")
    assert d["MAX_STREAMS"] == sp.MAX_STREAMS
    assert d["MAX_CONSUMERS"] == sp.MAX_CONSUMERS
    assert d["NUM_CLASSES"] == sp.NUM_CLASSES == len(sp.CLASS_NAMES)
    assert d["NUM_DROP_REASONS"] == sp.NUM_DROP_REASONS
    assert d["SPEC_BLOB_MAX"] == sp.SPEC_BLOB_MAX
    assert d["NUM_GLOB"] == len(sp.GLOB_NAMES)
    assert d["CLASS_SLOTS"] >= d["NUM_CLASSES"] and d["CLASS_SLOTS"] & (d["CLASS_SLOTS"] - 1) == 0
    assert d["SCRATCH_SIZE"] & (d["SCRATCH_SIZE"] - 1) == 0


def test_stream_codes_match_the_proto():
    d = defines("stream_types.h")
    for c, name in (
        (common_pb2.FRAME_CLASS_UNKNOWN, "CLASS_UNKNOWN"),
        (common_pb2.FRAME_CLASS_REFERENCE, "CLASS_REFERENCE"),
        (common_pb2.FRAME_CLASS_DIFFERENTIAL, "CLASS_DIFFERENTIAL"),
        (common_pb2.FRAME_CLASS_DISPOSABLE, "CLASS_DISPOSABLE"),
        (common_pb2.FRAME_CLASS_NON_VIDEO, "CLASS_NON_VIDEO"),
        (common_pb2.POLICY_KIND_NONE, "POLICY_NONE"),
        (common_pb2.POLICY_KIND_UNIFORM, "POLICY_UNIFORM"),
        (common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST, "POLICY_DIFF_FIRST"),
        (common_pb2.INSPECTION_NONE, "INSPECT_NONE"),
        (common_pb2.INSPECTION_MPEGTS, "INSPECT_MPEGTS"),
    ):
        assert d[name] == c, name
    assert sp.CLASS_NAMES[common_pb2.FRAME_CLASS_REFERENCE] == "REFERENCE"


def test_stream_drop_reasons_are_stable():
    d = defines("stream_types.h")
    assert [d[n] for n in ("DROP_NONE", "DROP_UNIFORM", "DROP_BUDGET", "DROP_REDIRECT", "DROP_REWRITE")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert [
        d[n]
        for n in ("G_NON_IP", "G_VLAN", "G_FRAGMENT", "G_NO_STREAM", "G_IPV6", "G_TRUNCATED", "G_MATCHED")
    ] == list(range(7))


def test_stream_tail_call_slots_match():
    c = defines("stream_common.c")
    assert (c["JMP_TS"], c["JMP_FANOUT"], c["JMP_SCAN"]) == (sp.JMP_TS, sp.JMP_FANOUT, sp.JMP_SCAN)
    # the longest chain (entry, 7 DPI steps and 7 scans, 8 fan-out runs) stays below the
    # kernel's 33 tail calls
    ts = defines("ts.h")["TS_PER_DGRAM_MAX"]
    chunks = -(-sp.MAX_CONSUMERS // c["FANOUT_CHUNK"])
    assert 2 * ts + chunks <= 33
