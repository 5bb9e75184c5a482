# SPDX-License-Identifier: Apache-2.0
"""BPF_PROG_TEST_RUN through libbcc's ``bpf_prog_test_run_opts`` (ctypes)."""

from __future__ import annotations

import ctypes as ct
import os
from dataclasses import dataclass

from bcc import libbcc

#: Largest output buffer a run may fill (a frame plus headroom for rewrites).
OUT_MAX = 4096


class BpfTestRunOpts(ct.Structure):
    """``struct bpf_test_run_opts`` of libbpf as bcc 0.26 links it."""

    _fields_ = [
        ("sz", ct.c_size_t),
        ("data_in", ct.c_void_p),
        ("data_out", ct.c_void_p),
        ("data_size_in", ct.c_uint32),
        ("data_size_out", ct.c_uint32),
        ("ctx_in", ct.c_void_p),
        ("ctx_out", ct.c_void_p),
        ("ctx_size_in", ct.c_uint32),
        ("ctx_size_out", ct.c_uint32),
        ("retval", ct.c_uint32),
        ("repeat", ct.c_int),
        ("duration", ct.c_uint32),
        ("flags", ct.c_uint32),
        ("cpu", ct.c_uint32),
        ("batch_size", ct.c_uint32),
    ]


_run = libbcc.lib.bpf_prog_test_run_opts
_run.argtypes = [ct.c_int, ct.POINTER(BpfTestRunOpts)]
_run.restype = ct.c_int


@dataclass
class RunResult:
    """What one BPF_PROG_TEST_RUN returned."""

    retval: int
    data_out: bytes
    duration_ns: int


def test_run(prog_fd: int, data: bytes, repeat: int = 1, ctx: bytes | None = None) -> RunResult:
    """Run the program on ``data`` ``repeat`` times; ``duration_ns`` is the mean per run."""
    inbuf = ct.create_string_buffer(data, len(data))
    outbuf = ct.create_string_buffer(OUT_MAX)
    opts = BpfTestRunOpts()
    opts.sz = ct.sizeof(BpfTestRunOpts)
    opts.data_in = ct.cast(inbuf, ct.c_void_p)
    opts.data_size_in = len(data)
    opts.data_out = ct.cast(outbuf, ct.c_void_p)
    opts.data_size_out = OUT_MAX
    opts.repeat = repeat
    ctxbuf = None
    if ctx is not None:
        ctxbuf = ct.create_string_buffer(ctx, len(ctx))
        opts.ctx_in = ct.cast(ctxbuf, ct.c_void_p)
        opts.ctx_size_in = len(ctx)
    rc = _run(prog_fd, ct.byref(opts))
    if rc != 0:
        err = ct.get_errno() or -rc
        raise OSError(err, f"BPF_PROG_TEST_RUN failed: {os.strerror(err)}")
    return RunResult(opts.retval, outbuf.raw[: opts.data_size_out], opts.duration)
