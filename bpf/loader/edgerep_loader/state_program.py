# SPDX-License-Identifier: Apache-2.0
"""Builds, loads and reads the state-capture BPF program (bpf/progs/state_capture.c).

The program is one bcc text: ``state_capture.c`` with every local
``#include "state_*"`` (headers and the entry files ``state_fdops.c``,
``state_pathops.c``) spliced in place, once each. bcc rewrites map calls and
generates tracepoint argument structs only in its main text.
Record layouts are read from bcc (the ``st_layout_*`` maps), never restated.

Building (compile and verifier, seconds) and attaching (86 tracepoints,
milliseconds) are two steps, so a program can be built ahead of the SetTrace
that needs it without costing untraced syscalls anything meanwhile.
"""

from __future__ import annotations

import ctypes as ct
import functools
import logging
import mmap
import os
import re
import struct
from dataclasses import dataclass
from typing import Callable, List, Optional

from edgerep_loader.bcc_compile import COMPILE_LOCK
from edgerep_loader.state_ring import RingReader, struct_for

log = logging.getLogger("edgerep.loader.state")

_U16 = struct.Struct("<H")
#: Record fields (bcc names, flattened) -> Record attributes.
_RENAME = {
    "hdr.ts_ns": "ts_ns",
    "hdr.seq": "seq",
    "hdr.desc_id": "desc_id",
    "hdr.tgid": "tgid",
    "hdr.rep_id": "rep_id",
    "hdr.cpu": "cpu",
    "hdr.type": "type",
    "hdr.flags": "flags",
    "len": "length",
    "dfd2": "fd",
}

#: Directory of the C sources, overridable for tests and packaging.
PROGS_DIR = os.environ.get(
    "EDGEREP_PROGS_DIR",
    os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "progs")),
)

_SPLICE = re.compile(r'^#include "(state_[a-z]+\.[ch])"\s*$', re.M)

#: Put before the program: the user-memory probe reads under names of their own, with
#: the types and helper ids bcc gives them. bcc 0.26 looks every call of
#: bpf_probe_read_user(_str) up in the kernel's symbols (for a fallback to
#: bpf_probe_read before Linux 5.5) and rebuilds its table of all kernel symbol
#: names for each one: 0.1 s per call site, about a third of the compile. The program
#: needs a BPF ring buffer (5.8) anyway, and its instructions are the same with
#: the aliases (test_state_compile compares them).
PRELUDE = """\
static __typeof__(bpf_probe_read_user) st_read_user_helper = (void *)BPF_FUNC_probe_read_user;
static __typeof__(bpf_probe_read_user_str) st_read_user_str_helper = (void *)BPF_FUNC_probe_read_user_str;
#define bpf_probe_read_user st_read_user_helper
#define bpf_probe_read_user_str st_read_user_str_helper
"""

#: -g0: no debug info, so no BTF for the program; nothing in it needs BTF (no spin
#: locks, timers or kptrs), the instructions are the same, and the compile is 15% shorter.
CFLAGS = ["-Wno-macro-redefined", "-g0"]

# Event type codes (state_types.h ST_EV_*), stable; unit_state_codes checks each against the header.
EV_OPEN = 1
EV_DIROPEN = 2
EV_WRITE = 3
EV_DIRTY = 4
EV_FTRUNC = 5
EV_SYNC = 6
EV_CLOSE = 7
EV_FCHMOD = 8
EV_MMAP = 9
EV_MSYNC = 10
EV_TRUNC = 11
EV_RENAME = 12
EV_UNLINK = 13
EV_MKDIR = 14
EV_RMDIR = 15
EV_CHMOD = 16
EV_CHDIR = 17
EV_FORK = 18
EV_EXIT = 19
EV_DUP = 20
EV_CLOSERANGE = 21
EV_LINK = 22
EV_SYMLINK = 23
EV_UMASK = 24
EV_ATTR = 25
EV_FATTR = 26

F_RELATIVE = 0x1
F_APPEND = 0x2
F_TRUNCATED = 0x4

#: FileDirty reasons the kernel gives (ST_DIRTY_*, the same numbers as DirtyReason 1-4).
KERNEL_DIRTY_REASONS = frozenset({1, 2, 3, 4})

#: Bytes of a path in records (ST_PATH_LEN).
PATH_LEN = 254
#: Bits of an LPM key that carry the replication id (ST_REP_BITS).
REP_BITS = 16
#: Slots of the tgid filter (ST_TGID_SLOTS).
TGID_SLOTS = 65536
#: Slots of the cgroup filter (ST_CGROUP_SLOTS).
CGROUP_SLOTS = 4096
#: Slots of the pending-call filter (ST_PENDING_SLOTS).
PENDING_SLOTS = 16384

_OPEN_TYPES = {EV_OPEN, EV_DIROPEN, EV_CHDIR}
_DATA_TYPES = {EV_WRITE, EV_DIRTY, EV_FTRUNC, EV_SYNC, EV_CLOSE, EV_FCHMOD, EV_FATTR, EV_MMAP, EV_MSYNC}
_PATH_TYPES = {EV_TRUNC, EV_RENAME, EV_UNLINK, EV_MKDIR, EV_RMDIR, EV_CHMOD, EV_LINK, EV_SYMLINK, EV_ATTR}
_PROC_TYPES = {EV_FORK, EV_EXIT, EV_DUP, EV_CLOSERANGE, EV_UMASK}


def program_text(progs_dir: str = PROGS_DIR) -> str:
    """The state-capture program as one bcc text."""

    seen: set = set()

    def load(name: str) -> str:
        with open(os.path.join(progs_dir, name), encoding="utf-8") as f:
            return _SPLICE.sub(splice, f.read())

    def splice(m: "re.Match[str]") -> str:
        if m.group(1) in seen:
            return ""
        seen.add(m.group(1))
        return load(m.group(1))

    return load("state_capture.c")


@dataclass
class Record:
    """One decoded ring-buffer record (fields unused by a type stay at their defaults)."""

    type: int
    seq: int
    cpu: int
    ts_ns: int
    tgid: int
    rep_id: int
    desc_id: int
    flags: int
    fd: int = -1
    dfd: int = -100
    oflags: int = 0
    mode: int = 0
    path: bytes = b""
    path2: bytes = b""
    offset: int = 0
    length: int = 0
    reason: int = 0
    data: bytes = b""
    child: int = 0
    aflags: int = 0
    arg: int = 0


#: Function name prefixes bcc would attach at construction, besides ``tracepoint__``.
_OTHER_AUTOLOAD = (b"kprobe__", b"kretprobe__", b"raw_tracepoint__", b"kfunc__", b"kretfunc__", b"lsm__")


@functools.lru_cache(maxsize=None)
def bpf_class():
    """bcc's BPF without its attach, at construction, of every ``tracepoint__*`` function."""
    from bcc import BPF

    class UnattachedBPF(BPF):
        def _trace_autoload(self) -> None:
            pass  # StateProgram.attach() attaches, once capture is wanted

    return UnattachedBPF


def function_names(bpf) -> List[bytes]:
    """Names of the functions of a compiled bcc module."""
    from bcc import lib

    return [lib.bpf_function_name(bpf.module, i) for i in range(lib.bpf_num_functions(bpf.module))]


def _cstr(raw: bytes) -> bytes:
    i = raw.find(b"\0")
    return raw if i < 0 else raw[:i]


class StateProgram:
    """The compiled program (attached, or ready to be) with typed access to its maps and records."""

    def __init__(self, ring_pages: int = 16384, progs_dir: str = PROGS_DIR, attach: bool = True) -> None:
        """Compile and load the program; attach its tracepoints unless ``attach`` is False (see attach())."""
        from bcc import BPF  # imported late: unit tests need no kernel

        if ring_pages & (ring_pages - 1):
            raise ValueError("ring_pages must be a power of two")
        self.ring_pages = ring_pages
        with COMPILE_LOCK:
            self.bpf = bpf_class()(
                text=(PRELUDE + program_text(progs_dir)).encode(),
                cflags=[f"-I{progs_dir}", f"-DST_RING_PAGES={ring_pages}"] + CFLAGS,
            )
        self._tracepoints = []
        for fn in function_names(self.bpf):
            if fn.startswith(b"tracepoint__"):  # as bcc names them: tracepoint__<category>__<event>
                self.bpf.load_func(fn, BPF.TRACEPOINT)  # the verifier runs now, not at attach()
                self._tracepoints.append((fn, fn[len(b"tracepoint__") :].replace(b"__", b":")))
            elif fn.startswith(_OTHER_AUTOLOAD):
                raise ValueError(f"{fn!r}: attach() attaches tracepoints only")
        chunk = self.bpf.load_func(b"st_write_chunk", BPF.TRACEPOINT)
        self.bpf[b"st_jump"][ct.c_int(0)] = ct.c_int(chunk.fd)
        self.cgroups = self.bpf[b"st_cgroups"]
        self.prefixes = self.bpf[b"st_prefixes"]
        self.fds = self.bpf[b"st_fds"]
        self.descs = self.bpf[b"st_descs"]
        self.refs = self.bpf[b"st_desc_refs"]
        self.tgid_known = self.bpf[b"st_tgid_known"]
        self.tgid_filter = self.bpf[b"st_tgid_filter"]
        self.pending = self.bpf[b"st_pending"]
        self.pending_filter = self.bpf[b"st_pending_filter"]
        self.cgroup_filter = self.bpf[b"st_cgroup_filter"]
        self.lost_rep = self.bpf[b"st_lost_rep"]
        self.lost_files = self.bpf[b"st_lost_files"]
        self._hdr = self.bpf[b"st_layout_hdr"].Leaf
        self._open = self.bpf[b"st_layout_open"].Leaf
        self._data = self.bpf[b"st_layout_data"].Leaf
        self._path = self.bpf[b"st_layout_path"].Leaf
        self._proc = self.bpf[b"st_layout_proc"].Leaf
        self._data_off = ct.sizeof(self._data)  # data[] starts at the end of st_data
        self._decoders = {}
        for types, leaf in (
            (_OPEN_TYPES, self._open),
            (_DATA_TYPES, self._data),
            (_PATH_TYPES, self._path),
            (_PROC_TYPES, self._proc),
        ):
            st, names = struct_for(leaf)
            for t in types:
                self._decoders[t] = (st, names)
        self._hdr_type_off = self._hdr.type.offset
        # fast path for writes: the header and st_data fields in one unpack
        self._write_st, names = struct_for(self._data)
        want = [
            "hdr.ts_ns",
            "hdr.seq",
            "hdr.desc_id",
            "hdr.tgid",
            "hdr.rep_id",
            "hdr.cpu",
            "hdr.flags",
            "offset",
            "len",
        ]
        self._write_idx = [names.index(n) for n in want]
        self.ring = RingReader(self.bpf[b"st_events"].map_fd, ring_pages * mmap.PAGESIZE)
        log.info("state capture program loaded (ring %d pages)", ring_pages)
        if attach:
            self.attach()

    @property
    def attached(self) -> bool:
        return bool(self.bpf.tracepoint_fds)

    def attach(self) -> None:
        """Attach every tracepoint (idempotent). Nothing is captured before a cgroup is set."""
        if self.attached:
            return
        try:
            for fn, tp in self._tracepoints:
                self.bpf.attach_tracepoint(tp=tp, fn_name=fn)
        except Exception:
            self.detach()  # all or nothing: a half-attached capture would follow fds wrongly
            raise
        log.info("state capture attached to %d tracepoints", len(self._tracepoints))

    def detach(self) -> None:
        """Detach every tracepoint (idempotent): the node's syscalls no longer run any program.

        The programs and maps stay loaded, so a later attach() takes milliseconds.
        What the maps say about open files is stale from here on: nothing sees
        the closes, opens and forks that follow. Call reset_follow_state()
        before the next attach().
        """
        for _fn, tp in self._tracepoints:
            if tp in self.bpf.tracepoint_fds:
                self.bpf.detach_tracepoint(tp)
        log.info("state capture detached from %d tracepoints", len(self._tracepoints))

    def reset_follow_state(self) -> int:
        """Forget every followed fd, description, process and pending call; return the fds forgotten.

        Only while detached (no program can race the clean-up). Without it a
        process that closed a followed fd while detached and got the same number
        for another file would have its writes attributed to the old file.
        Sequence and description-id counters are kept: ids stay unique.
        """
        if self.attached:
            raise RuntimeError("reset_follow_state() needs the program detached")
        n = len(self.fds)
        for tgid in self.tgid_known.keys():
            self.tgid_filter[ct.c_int(tgid.value & (TGID_SLOTS - 1))] = ct.c_uint32(0)
        for tid in self.pending.keys():  # a slot counts entries of st_pending only
            self.pending_filter[ct.c_int(tid.value & (PENDING_SLOTS - 1))] = ct.c_uint32(0)
        for table in (self.fds, self.descs, self.refs, self.tgid_known, self.pending):
            table.clear()
        return n

    # --- records ---

    def decode_view(self, view: memoryview, off: int, size: int) -> Record:
        """Decode the record at ``view[off:off+size]`` (a mapped ring)."""
        rtype = _U16.unpack_from(view, off + self._hdr_type_off)[0]
        dec = self._decoders.get(rtype)
        if dec is None:
            return Record(rtype, 0, 0, 0, 0, 0, 0, 0)
        st, names = dec
        r = Record(rtype, 0, 0, 0, 0, 0, 0, 0)
        for name, value in zip(names, st.unpack_from(view, off)):
            attr = _RENAME.get(name, name)
            if isinstance(value, bytes):
                i = value.find(b"\0")
                value = value if i < 0 else value[:i]
            setattr(r, attr, value)
        if rtype == EV_WRITE:
            start = off + self._data_off
            r.data = bytes(view[start : start + min(r.length, size - self._data_off)])
        return r

    def consume(
        self, callback: Callable[[Record], None], on_write: Callable[..., None], limit: int = 1 << 20
    ) -> int:
        """Hand over every committed record; return how many.

        Writes (most records) skip the Record object: ``on_write(ts_ns, seq,
        desc_id, tgid, rep_id, cpu, flags, offset, data)``.
        """
        decode, type_off, write_st, idx = (
            self.decode_view,
            self._hdr_type_off,
            self._write_st,
            self._write_idx,
        )
        data_off = self._data_off
        i0, i1, i2, i3, i4, i5, i6, i7, i8 = idx

        def handle(view: memoryview, off: int, size: int) -> None:
            if _U16.unpack_from(view, off + type_off)[0] == EV_WRITE:
                v = write_st.unpack_from(view, off)
                start = off + data_off
                data = bytes(view[start : start + min(v[i8], size - data_off)])
                on_write(v[i0], v[i1], v[i2], v[i3], v[i4], v[i5], v[i6], v[i7], data)
            else:
                callback(decode(view, off, size))

        return self.ring.consume(handle, limit)

    def wait(self, timeout_ms: int) -> bool:
        return self.ring.wait(timeout_ms)

    # --- configuration maps ---

    def prefix_keys(self, rep_id: int, prefix: str) -> list:
        """Trie keys for a prefix: "<p>/" (everything below) and "<p>\\0" (the dir itself)."""
        keys = []
        raw = prefix.rstrip("/").encode()
        for body in (raw + b"/", raw + b"\0"):
            k = self.prefixes.Key()
            k.prefixlen = REP_BITS + 8 * len(body)
            k.rep_id = rep_id
            # k.path would be a bytes copy: write through the address
            ct.memmove(ct.addressof(k) + type(k).path.offset, body, len(body))
            keys.append(k)
        return keys

    def _count_cgroup(self, cgroup_id: int, by: int) -> None:
        """Move the cgroup filter's count (only this process writes it; programs read it)."""
        slot = ct.c_int(cgroup_id & (CGROUP_SLOTS - 1))
        self.cgroup_filter[slot] = ct.c_uint32(max(0, self.cgroup_filter[slot].value + by))

    def set_cgroup(self, cgroup_id: int, rep_id: int) -> None:
        key = ct.c_uint64(cgroup_id)
        fresh = key not in self.cgroups
        self.cgroups[key] = ct.c_uint32(rep_id)
        if fresh:  # after the entry: a program that passes the filter finds it
            self._count_cgroup(cgroup_id, 1)

    def del_cgroup(self, cgroup_id: int) -> None:
        try:
            del self.cgroups[ct.c_uint64(cgroup_id)]
        except KeyError:
            return
        self._count_cgroup(cgroup_id, -1)

    def add_prefix(self, rep_id: int, prefix: str) -> None:
        for k in self.prefix_keys(rep_id, prefix):
            self.prefixes[k] = ct.c_uint8(1)

    def del_prefix(self, rep_id: int, prefix: str) -> None:
        for k in self.prefix_keys(rep_id, prefix):
            try:
                del self.prefixes[k]
            except KeyError:
                pass

    def _fd_key(self, tgid: int, fd: int):
        k = self.fds.Key()
        k.tgid, k.fd = tgid, fd
        return k

    def drop_fd(self, tgid: int, fd: int) -> None:
        """Forget (tgid, fd) (user-space cleanup after exit / close_range).

        Only the fd entry goes: the description's reference count is the
        kernel's alone. A read-modify-write of it from here races with the
        kernel's atomic increment at fork; a lost increment let the kernel free
        a description still in use at the next close, and every later write
        through it went uncaptured, silently. A count left too high only keeps
        a description nobody holds: orphan_descs() finds those.
        """
        try:
            del self.fds[self._fd_key(tgid, fd)]
        except KeyError:
            pass

    def orphan_descs(self) -> set:
        """Descriptions no followed fd refers to."""
        held = {v.value for v in self.fds.values()}
        return {k.value for k in self.descs.keys()} - held

    def free_desc(self, desc_id: int) -> None:
        """Remove a description (one that stayed an orphan: no fd can reach it again)."""
        key = ct.c_uint64(desc_id)
        for table in (self.refs, self.descs):
            try:
                del table[key]
            except KeyError:
                pass

    def has_fd(self, tgid: int, fd: int) -> bool:
        """Is (tgid, fd) followed?"""
        return self._fd_key(tgid, fd) in self.fds

    def adopt_fd(
        self, tgid: int, fd: int, desc_id: int, rep_id: int, oflags: int, pos: int, path: str
    ) -> None:
        """Follow a descriptor opened before the trace, as the open program would have."""
        d = self.descs.Leaf()
        d.pos, d.rep_id, d.oflags, d.relative = pos, rep_id, oflags, 0
        raw = path.encode("utf-8", "surrogateescape")[: PATH_LEN - 1]
        ct.memmove(ct.addressof(d) + type(d).path.offset, raw, len(raw))
        key = ct.c_uint64(desc_id)
        self.descs[key] = d
        self.refs[key] = ct.c_uint32(1)
        self.fds[self._fd_key(tgid, fd)] = key
        t = ct.c_uint32(tgid)
        if t not in self.tgid_known:
            self.tgid_known[t] = ct.c_uint8(1)
            slot = ct.c_int(tgid & (TGID_SLOTS - 1))
            self.tgid_filter[slot] = ct.c_uint32(self.tgid_filter[slot].value + 1)

    def move_pos(self, desc_id: int, was: int, now: int) -> None:
        """Set a followed position that no captured write has moved yet (a write raced its adoption)."""
        key = ct.c_uint64(desc_id)
        try:
            d = self.descs[key]
        except KeyError:
            return
        if d.pos == was:
            d.pos = now
            self.descs[key] = d

    def desc_path(self, desc_id: int) -> Optional[str]:
        """Path the kernel recorded when the description was opened."""
        try:
            d = self.descs[ct.c_uint64(desc_id)]
            return _cstr(ct.string_at(ct.addressof(d) + type(d).path.offset, PATH_LEN)).decode(
                "utf-8", "surrogateescape"
            )
        except KeyError:
            return None

    def lost_by_rep(self) -> dict:
        """Cumulative lost records per replication id."""
        return {k.value: v.value for k, v in self.lost_rep.items()}

    def take_lost_files(self) -> list:
        """(rep_id, desc_id, tgid, path, count) of files with losses, removed from the map."""
        out = []
        for k, v in list(self.lost_files.items()):
            try:
                del self.lost_files[k]
            except KeyError:
                continue
            out.append(
                (
                    k.rep_id,
                    k.desc_id,
                    k.tgid,
                    _cstr(ct.string_at(ct.addressof(k) + type(k).path.offset, PATH_LEN)),
                    v.value,
                )
            )
        return out

    def prog_stats(self) -> dict:
        """run_time_ns / run_cnt per program (needs kernel.bpf_stats_enabled=1)."""
        stats = {}
        for name, fn in self.bpf.funcs.items():
            info = _prog_info(fn.fd)
            if info:
                stats[name.decode() if isinstance(name, bytes) else name] = info
        return stats

    def cleanup(self) -> None:
        self.ring.close()
        self.bpf.cleanup()


class _BpfProgInfo(ct.Structure):
    # leading part of struct bpf_prog_info (uapi), enough for the run statistics
    _fields_ = [
        ("type", ct.c_uint32),
        ("id", ct.c_uint32),
        ("tag", ct.c_uint8 * 8),
        ("jited_prog_len", ct.c_uint32),
        ("xlated_prog_len", ct.c_uint32),
        ("jited_prog_insns", ct.c_uint64),
        ("xlated_prog_insns", ct.c_uint64),
        ("load_time", ct.c_uint64),
        ("created_by_uid", ct.c_uint32),
        ("nr_map_ids", ct.c_uint32),
        ("map_ids", ct.c_uint64),
        ("name", ct.c_char * 16),
        ("ifindex", ct.c_uint32),
        ("gpl_compatible", ct.c_uint32),
        ("netns_dev", ct.c_uint64),
        ("netns_ino", ct.c_uint64),
        ("nr_jited_ksyms", ct.c_uint32),
        ("nr_jited_func_lens", ct.c_uint32),
        ("jited_ksyms", ct.c_uint64),
        ("jited_func_lens", ct.c_uint64),
        ("btf_id", ct.c_uint32),
        ("func_info_rec_size", ct.c_uint32),
        ("func_info", ct.c_uint64),
        ("nr_func_info", ct.c_uint32),
        ("nr_line_info", ct.c_uint32),
        ("line_info", ct.c_uint64),
        ("jited_line_info", ct.c_uint64),
        ("nr_jited_line_info", ct.c_uint32),
        ("line_info_rec_size", ct.c_uint32),
        ("jited_line_info_rec_size", ct.c_uint32),
        ("nr_prog_tags", ct.c_uint32),
        ("prog_tags", ct.c_uint64),
        ("run_time_ns", ct.c_uint64),
        ("run_cnt", ct.c_uint64),
    ]


def _prog_info(fd: int) -> Optional[tuple]:
    from bcc import libbcc

    info = _BpfProgInfo()
    size = ct.c_uint32(ct.sizeof(info))
    fn = libbcc.lib.bpf_obj_get_info_by_fd
    fn.argtypes = [ct.c_int, ct.c_void_p, ct.POINTER(ct.c_uint32)]
    if fn(fd, ct.byref(info), ct.byref(size)) != 0:
        return None
    return info.run_time_ns, info.run_cnt
