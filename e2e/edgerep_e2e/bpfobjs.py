# SPDX-License-Identifier: Apache-2.0
"""The BPF programs loaded in the kernel, by id, type and name, read with bpf(2) itself (no bpftool here).

What a cluster run must not leave behind is any program of edgerep's data plane, attached or pinned or held by a
stray process: its stream programs are all named ``stream_*``. Other suites and benchmarks on the same machine load
programs of those names too (each with a loader of its own), so a check names the programs of one loader first:
those it holds open (:func:`held_by_loader`).
"""

from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_BPF = 321  # x86_64
_PROG_GET_NEXT_ID, _PROG_GET_FD_BY_ID, _OBJ_GET_INFO_BY_FD = 11, 13, 15
#: offsets in struct bpf_prog_info (uapi linux/bpf.h): type, id and the 16-byte name
_INFO_SIZE, _NAME_AT = 256, 64


def _bpf(cmd: int, attr: ctypes.Array) -> int:
    r = _libc.syscall(_SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r


def programs() -> list[tuple[int, int, str]]:
    """(id, type, name) of every loaded program; needs root."""
    out, start = [], 0
    while True:
        attr = (ctypes.c_uint32 * 4)(start, 0, 0, 0)
        try:
            _bpf(_PROG_GET_NEXT_ID, attr)
        except FileNotFoundError:
            return out
        start = attr[1]
        try:
            fd = _bpf(_PROG_GET_FD_BY_ID, (ctypes.c_uint32 * 4)(start, 0, 0, 0))
        except OSError:
            continue  # gone meanwhile
        try:
            info = ctypes.create_string_buffer(_INFO_SIZE)
            attr = (ctypes.c_uint32 * 4)(fd, _INFO_SIZE, 0, 0)
            ctypes.memmove(
                ctypes.addressof(attr) + 8, ctypes.byref(ctypes.c_uint64(ctypes.addressof(info))), 8
            )
            _bpf(_OBJ_GET_INFO_BY_FD, attr)
            ptype, pid = int.from_bytes(info.raw[0:4], "little"), int.from_bytes(info.raw[4:8], "little")
            name = info.raw[_NAME_AT : _NAME_AT + 16].split(b"\0")[0].decode(errors="replace")
            out.append((pid, ptype, name))
        finally:
            os.close(fd)


def held_by_loader(pin_dir: str) -> set[int]:
    """Ids of the programs held open by the loader processes serving ``pin_dir`` (``--pin-dir=<pin_dir>``)."""
    ids: set[int] = set()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"edgerep_loader" not in argv or f"--pin-dir={pin_dir}".encode() not in argv:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    ids.update(int(line.split()[1]) for line in f if line.startswith("prog_id:"))
            except OSError:
                continue
    return ids


def alive(ids: set[int]) -> list[str]:
    """Those of ``ids`` still loaded, as "name (id N)"."""
    return [f"{name} (id {pid})" for pid, _, name in programs() if pid in ids]
