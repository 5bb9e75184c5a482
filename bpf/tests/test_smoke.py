# SPDX-License-Identifier: Apache-2.0
"""Proves the kernel harness: bcc compiles on this node and a program delivers a real event."""

from __future__ import annotations

import os
import tempfile

from bcc import BPF

PROGRAM = r"""
struct event_t {
    u32 tgid;          // process that opened the file
    char path[64];     // first bytes of the path it opened
};

BPF_RINGBUF_OUTPUT(events, 8);   // 8 pages

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TARGET_TGID)
        return 0;
    struct event_t *e = events.ringbuf_reserve(sizeof(*e));
    if (!e)
        return 0;
    e->tgid = tgid;
    bpf_probe_read_user_str(e->path, sizeof(e->path), args->filename);
    events.ringbuf_submit(e, 0);
    return 0;
}
"""


def test_tracepoint_delivers_a_real_openat_event():
    bpf = BPF(text=PROGRAM, cflags=[f"-DTARGET_TGID={os.getpid()}"])
    seen = []

    def on_event(ctx, data, size):
        event = bpf["events"].event(data)
        seen.append((event.tgid, event.path.decode()))

    bpf["events"].open_ring_buffer(on_event)
    with tempfile.NamedTemporaryFile(prefix="edgerep-t-smoke-") as f:
        with open(f.name, "rb"):
            pass
        for _ in range(20):
            bpf.ring_buffer_poll(timeout=50)
            if any(path == f.name[:63] for _, path in seen):
                break
    bpf.cleanup()
    assert (os.getpid(), f.name[:63]) in seen, f"no openat event for {f.name}; saw {seen[:5]}"
