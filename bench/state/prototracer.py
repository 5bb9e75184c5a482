# SPDX-License-Identifier: Apache-2.0
"""A tracer that does what the xdn-ebpf prototype's does, for a baseline measured in
the same run: the enter tracepoints of openat and write, a check against the one
process it follows, and at most 4 KiB of the path or the written bytes copied into
a BPF ring buffer that a thread drains. Nothing else (no exit, no fd table, no
other syscall): it captures far less than edgerep, and costs the node two programs.
"""

from __future__ import annotations

import ctypes as ct
import threading

TEXT = r"""
#define CAP 4096
struct rec {
    u32 pid;
    u32 kind;   /* 1 openat, 2 write */
    u64 len;
    char data[CAP];
};
BPF_RINGBUF_OUTPUT(events, 4096);
BPF_ARRAY(follow, u32, 1);

static __always_inline int followed(void)
{
    u32 zero = 0;
    u32 *pid = follow.lookup(&zero);
    return pid && *pid && *pid == (bpf_get_current_pid_tgid() >> 32);
}

/* One record of at most CAP bytes from src: a string (the path) or n bytes (the data). */
static __always_inline int emit(u32 kind, const void *src, u64 n)
{
    struct rec *r = events.ringbuf_reserve(sizeof(struct rec));
    if (!r)
        return 0;
    r->pid = bpf_get_current_pid_tgid() >> 32;
    r->kind = kind;
    if (kind == 1) {
        r->len = bpf_probe_read_user_str(r->data, sizeof(r->data), src);
    } else {
        if (n > CAP)
            n = CAP;
        r->len = n;
        bpf_probe_read_user(r->data, n, src);
    }
    events.ringbuf_submit(r, 0);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
    return followed() ? emit(1, args->filename, 0) : 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_write)
{
    return followed() ? emit(2, args->buf, args->count) : 0;
}
"""


class ProtoTracer:
    """The baseline tracer, loaded once; attach(pid) follows a process, detach() removes both programs."""

    TRACEPOINTS = (b"syscalls:sys_enter_openat", b"syscalls:sys_enter_write")

    def __init__(self) -> None:
        from bcc import BPF

        class Unattached(BPF):
            def _trace_autoload(self) -> None:
                pass

        self.bpf = Unattached(text=TEXT)
        self.fns = [
            self.bpf.load_func(b"tracepoint__" + tp.replace(b":", b"__"), BPF.TRACEPOINT)
            for tp in self.TRACEPOINTS
        ]
        self.records = 0
        self._stop = threading.Event()
        self.bpf[b"events"].open_ring_buffer(self._on_record)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _on_record(self, ctx, data, size) -> None:
        self.records += 1

    def _drain(self) -> None:
        while not self._stop.is_set():
            self.bpf.ring_buffer_poll(100)

    @property
    def attached(self) -> bool:
        return bool(self.bpf.tracepoint_fds)

    def follow(self, pid: int) -> None:
        self.bpf[b"follow"][ct.c_int(0)] = ct.c_uint32(pid)

    def attach(self, on: bool) -> None:
        if on == self.attached:
            return
        for tp, fn in zip(self.TRACEPOINTS, self.fns):
            if on:
                self.bpf.attach_tracepoint(tp=tp, fn_name=fn.name)
            else:
                self.bpf.detach_tracepoint(tp)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.bpf.cleanup()
