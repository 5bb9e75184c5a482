# SPDX-License-Identifier: Apache-2.0
"""The loader's faster build of the state program yields the same instructions.

StateProgram compiles the program with a prelude that renames the user-memory
probe-read helpers (bcc 0.26 rebuilds its kernel symbol table for every call
of them) and with -g0. Neither may change what the kernel runs: every
function's instructions must equal those of a plain bcc compile of the same
text (map fds, which differ between two builds, blanked).
"""

from __future__ import annotations

import ctypes as ct
import time

from edgerep_loader import state_program as sp
from edgerep_loader.bcc_compile import COMPILE_LOCK

#: eBPF opcode of the first half of a 64-bit immediate load (BPF_LD | BPF_IMM | BPF_DW).
LD_IMM64 = 0x18
#: Its source register when the immediate is a map fd (BPF_PSEUDO_MAP_FD).
PSEUDO_MAP_FD = 1
#: Bytes of one instruction.
INSN = 8


def _instructions(text: bytes, cflags: list) -> tuple:
    """({function: instructions}, seconds of compile) of one build, nothing attached."""
    from bcc import lib

    t = time.monotonic()
    with COMPILE_LOCK:
        bpf = sp.bpf_class()(text=text, cflags=cflags)
    took = time.monotonic() - t
    try:
        out = {}
        for name in sp.function_names(bpf):
            size = lib.bpf_function_size(bpf.module, name)
            code = bytearray(ct.string_at(lib.bpf_function_start(bpf.module, name), size))
            for i in range(0, size, INSN):
                if code[i] == LD_IMM64 and code[i + 1] >> 4 == PSEUDO_MAP_FD:
                    code[i + 4 : i + 8] = bytes(4)
            out[name] = bytes(code)
        return out, took
    finally:
        bpf.cleanup()


def test_the_fast_build_runs_the_same_instructions():
    base = [f"-I{sp.PROGS_DIR}", "-DST_RING_PAGES=1"]
    text = sp.program_text()
    plain, plain_s = _instructions(text.encode(), base + ["-Wno-macro-redefined"])
    fast, fast_s = _instructions((sp.PRELUDE + text).encode(), base + sp.CFLAGS)
    print(f"state program compile: plain {plain_s:.2f}s, as the loader builds it {fast_s:.2f}s")
    assert len(plain) > 80 and sorted(fast) == sorted(plain)
    assert [n for n in plain if fast[n] != plain[n]] == []
