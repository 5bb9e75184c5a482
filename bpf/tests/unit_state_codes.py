# SPDX-License-Identifier: Apache-2.0
"""The loader's copies of the state program's codes, checked against the C headers.

The record layouts come from bcc itself (the st_layout_* maps); codes cannot, so
every number the loader names is compared here with the #define it stands for,
and every event code of the header must have its name in the loader."""

from __future__ import annotations

import os
import re

from edgerep.v1 import loader_pb2
from edgerep_loader import state_program as sp
from edgerep_loader import state_tracker as st


def defines(*headers: str) -> dict[str, int]:
    out = {}
    for h in headers:
        with open(os.path.join(sp.PROGS_DIR, h), encoding="utf-8") as f:
            for name, value in re.findall(
                r"^#define\s+(ST_\w+)\s+(-?(?:0x[0-9a-fA-F]+|\d+))\b", f.read(), re.M
            ):
                out[name] = int(value, 0) if not re.fullmatch(r"0\d+", value) else int(value, 8)
    return out


H = defines("state_types.h", "state_maps.h")


def test_every_event_code_of_the_header_has_its_name_in_the_loader():
    codes = {n[len("ST_EV_") :]: v for n, v in H.items() if n.startswith("ST_EV_")}
    assert len(codes) >= 26
    assert {n: getattr(sp, "EV_" + n, None) for n in codes} == codes


def test_flags_and_sizes_match_the_header():
    assert (sp.F_RELATIVE, sp.F_APPEND, sp.F_TRUNCATED) == (
        H["ST_F_RELATIVE"],
        H["ST_F_APPEND"],
        H["ST_F_TRUNCATED"],
    )
    assert (sp.PATH_LEN, sp.REP_BITS, sp.TGID_SLOTS, sp.CGROUP_SLOTS, sp.PENDING_SLOTS) == (
        H["ST_PATH_LEN"],
        H["ST_REP_BITS"],
        H["ST_TGID_SLOTS"],
        H["ST_CGROUP_SLOTS"],
        H["ST_PENDING_SLOTS"],
    )


def test_the_kernel_dirty_reasons_are_the_wire_enum():
    kernel = {n[len("ST_DIRTY_") :]: v for n, v in H.items() if n.startswith("ST_DIRTY_")}
    assert set(kernel.values()) == sp.KERNEL_DIRTY_REASONS
    assert {n: loader_pb2.DirtyReason.Value("DIRTY_REASON_" + n) for n in kernel} == kernel


def test_the_tracker_uses_the_kernel_abi_the_program_does():
    assert st.AT_FDCWD == H["ST_AT_FDCWD"]
    assert st.AT_SYMLINK_NOFOLLOW == H["ST_AT_SYMLINK_NOFOLLOW"]
    assert (st.O_CREAT, st.O_TRUNC) == (H["ST_O_CREAT"], H["ST_O_TRUNC"]) == (os.O_CREAT, os.O_TRUNC)
