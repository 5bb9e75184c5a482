# SPDX-License-Identifier: Apache-2.0
"""Compiles the stream replicator (tc and XDP programs) with its maps pinned under a pin dir."""

from __future__ import annotations

import logging
import os

from bcc import BPF

from edgerep_loader.bcc_compile import COMPILE_LOCK

log = logging.getLogger("edgerep.loader.stream")

#: Directory of the C sources (bpf/progs next to bpf/loader).
PROGS_DIR = os.environ.get(
    "EDGEREP_PROGS_DIR",
    os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "progs")),
)

# Mirrors of stream_types.h (checked against the compiled layout by unit/kernel tests).
MAX_STREAMS = 64
MAX_CONSUMERS = 256
NUM_CLASSES = 6
NUM_DROP_REASONS = 8
SPEC_BLOB_MAX = 32760
CLASS_NAMES = ["UNSPECIFIED", "UNKNOWN", "REFERENCE", "DIFFERENTIAL", "DISPOSABLE", "NON_VIDEO"]
GLOB_NAMES = ["non_ip", "vlan", "fragment", "no_stream", "ipv6", "truncated", "matched", "reserved7"]

TC_FUNC = b"stream_tc"
TC_TS_FUNC = b"stream_tc_ts"
TC_FANOUT_FUNC = b"stream_tc_fanout"
TC_SCAN_FUNC = b"stream_tc_scan"
JMP_SCAN = 2
JMP_TS = 0
JMP_FANOUT = 1
XDP_FUNC = b"stream_xdp"
XDP_EGRESS_FUNC = b"stream_xdp_egress"


def compile_stream(
    pin_dir: str, trace_classes: bool = False, xdp: bool = True, extra: list[str] | None = None
) -> BPF:
    """Compile the stream programs; maps are created and pinned in ``pin_dir`` or adopted from it."""
    os.makedirs(pin_dir, exist_ok=True)
    files = ["stream_common.c", "stream_tc.c"] + (["stream_xdp.c"] if xdp else [])
    # bcc only turns functions of the main text into programs: inline the entry files
    text = ""
    for name in files:
        with open(os.path.join(PROGS_DIR, name), encoding="utf-8") as f:
            text += f.read() + "\n"
    cflags = [f"-I{PROGS_DIR}", f'-DPIN_DIR="{pin_dir}"', "-Wno-unused-function"]
    if trace_classes:
        cflags.append("-DEDGEREP_TRACE_CLASSES")
    cflags += extra or []
    log.debug("compiling %s with pins in %s", files, pin_dir)
    with COMPILE_LOCK:
        return BPF(text=text.encode(), cflags=cflags)
