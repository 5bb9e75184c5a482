# SPDX-License-Identifier: Apache-2.0
"""Turns state-capture records into ``StateEvent`` messages.

Pure user-space logic, testable without a kernel: it keeps what the kernel
program does not (working directories, directory fds, umasks, the path of each
followed description, shared mappings), resolves relative paths and ``*at``
directory fds, masks created modes by the creator's umask, applies the prefix
filter to what the kernel could not filter, and numbers events per replication
id.

Resolution is lexical (``..`` is folded without following symlinks); a path
that cannot be resolved (the process and its /proc entry are gone and its
directory was never seen: a short-lived process that joined a traced cgroup
from outside and exited before its working directory could be read) is
dropped and counted in ``unresolved``, and per replication id until
:meth:`StateTracker.take_unresolved`: the caller reports those as lost
records, since the call may have changed a replicated file.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from edgerep.v1 import loader_pb2
from edgerep_loader import state_program as sp

log = logging.getLogger("edgerep.loader.state")

AT_FDCWD = -100
O_CREAT = os.O_CREAT
O_TRUNC = os.O_TRUNC
RENAME_EXCHANGE = 0x2
AT_SYMLINK_NOFOLLOW = 0x100
_MISSING = object()
#: Largest FileWrite a merge of consecutive writes builds.
COALESCE_MAX = 64 * 1024
#: fds a forked child keeps followed (ST_FORK_FDS).
FORK_FDS = 64
#: Closed descriptions whose path is remembered for late loss reports.
CLOSED_MEMORY = 4096
#: Umask assumed for a process gone before its first create was seen (the usual default).
DEFAULT_UMASK = 0o022
S_ISVTX = 0o1000


def inside(prefixes: Iterable[str], path: str) -> bool:
    """Is ``path`` one of ``prefixes`` or below one of them (on a component boundary)?"""
    return any(path == p or path.startswith(p + "/") for p in prefixes)


class KernelFds:
    """What the tracker asks of the kernel side (a fake in unit tests)."""

    def drop_fd(self, tgid: int, fd: int) -> None:  # pragma: no cover - interface
        """Forget a followed (tgid, fd)."""

    def desc_path(self, desc_id: int) -> Optional[str]:  # pragma: no cover
        """The path the kernel recorded for a description, if it still exists."""
        return None


def _proc_link(pid: int, what: str) -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/{what}")
    except OSError:
        return None


def _proc_umask(pid: int) -> Optional[int]:
    """The process's umask as /proc/<pid>/status shows it (Linux 4.7 and later)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


class Tracker:
    """Stateful translator from kernel records to StateEvents (one per loader)."""

    def __init__(
        self,
        kernel: KernelFds,
        proc_link: Callable[[int, str], Optional[str]] = _proc_link,
        proc_umask: Callable[[int], Optional[int]] = _proc_umask,
    ):
        self.kernel = kernel
        self.proc_link = proc_link
        self.proc_umask = proc_umask
        self.prefixes: Dict[int, List[str]] = {}  # rep id -> normalized prefixes
        self.roots: Dict[int, str] = {}  # rep id -> root as the loader reaches it ("" = "/")
        self.seq: Dict[int, int] = {}  # rep id -> last StateEvent.seq
        self.cwd: Dict[int, str] = {}  # tgid -> working directory
        self.umasks: Dict[int, int] = {}  # tgid -> umask (from /proc, forks and umask calls)
        self.dirfds: Dict[Tuple[int, int], str] = {}  # (tgid, fd) -> directory path
        self.descs: Dict[int, Optional[str]] = {}  # desc id -> path, None = outside prefixes
        self.closed: "OrderedDict[int, Optional[str]]" = OrderedDict()
        self.fds: Dict[int, Dict[int, int]] = {}  # tgid -> fd -> desc id
        self.mmaps: Dict[int, List[Tuple[int, int, int]]] = {}  # tgid -> (addr, len, desc)
        self.coalesce: Set[int] = set()  # rep ids whose consecutive writes are merged
        # rep id -> write being merged: [path, offset, append, pid, ts_ns, data]
        self._merging: Dict[int, list] = {}
        self.cpu_seq: Dict[int, int] = {}  # cpu -> last record seq seen
        self.seq_gaps = 0  # records missing from the per-CPU sequences
        self.unresolved = 0  # records dropped because a path could not be resolved
        self._unresolved_by_rep: Dict[int, int] = {}  # rep id -> of those, not yet taken

    # --- configuration ---

    def set_trace(self, rep_id: int, prefixes: List[str], root: str, coalesce: bool = False) -> None:
        self.prefixes[rep_id] = [p.rstrip("/") for p in prefixes]
        self.roots[rep_id] = root.rstrip("/")
        if coalesce:
            self.coalesce.add(rep_id)
        else:
            self.coalesce.discard(rep_id)

    def remove_trace(self, rep_id: int) -> None:
        self.prefixes.pop(rep_id, None)
        self.roots.pop(rep_id, None)
        self.coalesce.discard(rep_id)

    # --- write coalescing ---

    def _flush(self, rep_id: int) -> List[loader_pb2.StateEvent]:
        m = self._merging.pop(rep_id, None)
        if m is None:
            return []
        path, offset, append, pid, ts_ns, data = m
        n = self.seq.get(rep_id, 0) + 1
        self.seq[rep_id] = n
        return [
            loader_pb2.StateEvent(
                replication_id=rep_id,
                seq=n,
                pid=pid,
                timestamp_ns=ts_ns,
                write=loader_pb2.FileWrite(path=path, offset=offset, data=bytes(data), append=append),
            )
        ]

    def flush(self) -> List[loader_pb2.StateEvent]:
        """Writes still being merged, as events (call after each drained batch)."""
        out: List[loader_pb2.StateEvent] = []
        for rep in list(self._merging):
            out.extend(self._flush(rep))
        return out

    def forget_processes(self) -> None:
        """Forget every process, fd and description (the kernel side stopped watching them).

        Counters and the per-replication and per-CPU sequences stay: events of a
        replication id traced again continue its numbering.
        """
        for table in (self.cwd, self.umasks, self.dirfds, self.descs, self.closed, self.fds, self.mmaps):
            table.clear()
        self._merging.clear()

    def prime_cwd(self, pid: int, rep_id: int) -> None:
        """Learn a process's working directory while it is alive (SetTrace time)."""
        cwd = self._proc_path(pid, "cwd", rep_id)
        if cwd:
            self.cwd[pid] = cwd

    def released(self, desc_id: int) -> None:
        """A description the kernel side no longer follows (as its close would say)."""
        if desc_id in self.descs:
            self.closed[desc_id] = self.descs.pop(desc_id)
            while len(self.closed) > CLOSED_MEMORY:
                self.closed.popitem(last=False)

    def adopt(self, tgid: int, fd: int, desc_id: int, path: str) -> None:
        """Follow a description opened before the trace (see state_adopt)."""
        self.descs[desc_id] = path
        self.fds.setdefault(tgid, {})[fd] = desc_id

    def proc_fd_path(self, pid: int, fd: int, rep_id: int) -> Optional[str]:
        """Path of an open descriptor as the traced process sees it."""
        return self._proc_path(pid, f"fd/{fd}", rep_id)

    def wanted(self, rep_id: int, path: Optional[str]) -> bool:
        """Does path lie under a prefix of rep_id?"""
        return self._wanted(rep_id, path)

    # --- resolution ---

    def _proc_path(self, pid: int, what: str, rep_id: int) -> Optional[str]:
        p = self.proc_link(pid, what)
        if not p or not p.startswith("/"):
            return None
        root = self.roots.get(rep_id, "")
        real = os.path.realpath(root) if root else "/"
        if real != "/":  # a container's /proc/<pid>/root may be the host's own root
            if p != real and not p.startswith(real + "/"):
                return None
            p = p[len(real) :] or "/"
        return p

    def _cwd(self, tgid: int, rep_id: int) -> Optional[str]:
        c = self.cwd.get(tgid)
        if c is None:
            c = self._proc_path(tgid, "cwd", rep_id)
            if c:
                self.cwd[tgid] = c
        return c

    def resolve(self, tgid: int, rep_id: int, raw: bytes, dfd: int) -> Optional[str]:
        """Absolute, lexically normalized path of ``raw`` as the process saw it."""
        path = raw.decode("utf-8", "surrogateescape")
        if not path:
            return None
        if not path.startswith("/"):
            if dfd == AT_FDCWD:
                base = self._cwd(tgid, rep_id)
            else:
                base = self.dirfds.get((tgid, dfd)) or self._proc_path(tgid, f"fd/{dfd}", rep_id)
            if base is None:
                self.unresolved += 1
                self._unresolved_by_rep[rep_id] = self._unresolved_by_rep.get(rep_id, 0) + 1
                return None
            path = base.rstrip("/") + "/" + path
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        return path

    def take_unresolved(self) -> Dict[int, int]:
        """Records dropped per replication id for an unresolvable path since the last call."""
        out, self._unresolved_by_rep = self._unresolved_by_rep, {}
        return out

    def _wanted(self, rep_id: int, path: Optional[str]) -> bool:
        return path is not None and inside(self.prefixes.get(rep_id, ()), path)

    def _desc_path(self, desc_id: int) -> Optional[str]:
        if desc_id in self.descs:
            return self.descs[desc_id]
        return self.closed.get(desc_id)

    # --- events ---

    def _event(self, rec: sp.Record, **op) -> loader_pb2.StateEvent:
        seq = self.seq.get(rec.rep_id, 0) + 1
        self.seq[rec.rep_id] = seq
        return loader_pb2.StateEvent(
            replication_id=rec.rep_id, seq=seq, pid=rec.tgid, timestamp_ns=rec.ts_ns, **op
        )

    def loss_events(self, rep_id: int, paths: Iterable[str], ts_ns: int = 0) -> List[loader_pb2.StateEvent]:
        """FileDirty(reason LOST) for files whose records the kernel dropped."""
        rec = sp.Record(0, 0, 0, ts_ns, 0, rep_id, 0, 0)
        return self._flush(rep_id) + [
            self._event(
                rec,
                dirty=loader_pb2.FileDirty(path=p, offset=0, length=0, reason=loader_pb2.DIRTY_REASON_LOST),
            )
            for p in sorted(set(paths))
        ]

    def lost_file_path(self, rep_id: int, desc_id: int, tgid: int, raw: bytes) -> Optional[str]:
        """Path of a file named in the kernel's loss map."""
        if desc_id:
            p = self._desc_path(desc_id)
            if p is not None or desc_id in self.descs or desc_id in self.closed:
                return p
        path = self.resolve(tgid, rep_id, raw, AT_FDCWD)
        return path if self._wanted(rep_id, path) else None

    def handle_write(
        self,
        ts_ns: int,
        seq: int,
        desc_id: int,
        tgid: int,
        rep_id: int,
        cpu: int,
        flags: int,
        offset: int,
        data: bytes,
    ) -> Optional[loader_pb2.StateEvent]:
        """Fast path of :meth:`handle` for write records (the bulk of the traffic)."""
        last = self.cpu_seq.get(cpu)
        if last is not None and seq > last + 1:
            self.seq_gaps += seq - last - 1
        self.cpu_seq[cpu] = seq
        path = self.descs.get(desc_id, _MISSING)
        if path is _MISSING:
            rec = sp.Record(
                sp.EV_WRITE,
                seq,
                cpu,
                ts_ns,
                tgid,
                rep_id,
                desc_id,
                flags,
                offset=offset,
                length=len(data),
                data=data,
            )
            self.cpu_seq[cpu] = seq - 1  # counted once, by handle()
            out = self.handle(rec)
            return out[0] if out else None
        if path is None:
            return None
        append = bool(flags & sp.F_APPEND)
        if rep_id in self.coalesce:
            m = self._merging.get(rep_id)
            if (
                m is not None
                and m[0] == path
                and m[2] == append
                and m[3] == tgid
                and (append or m[1] + len(m[5]) == offset)
                and len(m[5]) + len(data) <= COALESCE_MAX
            ):
                m[5] += data
                return None
            out = self._flush(rep_id)
            self._merging[rep_id] = [path, offset, append, tgid, ts_ns, bytearray(data)]
            return out[0] if out else None
        n = self.seq.get(rep_id, 0) + 1
        self.seq[rep_id] = n
        return loader_pb2.StateEvent(
            replication_id=rep_id,
            seq=n,
            pid=tgid,
            timestamp_ns=ts_ns,
            write=loader_pb2.FileWrite(path=path, offset=offset, data=data, append=append),
        )

    def handle(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        """StateEvents for one record (often none)."""
        last = self.cpu_seq.get(rec.cpu)
        if last is not None and rec.seq > last + 1:
            self.seq_gaps += rec.seq - last - 1
        self.cpu_seq[rec.cpu] = rec.seq
        if rec.rep_id in self._merging:  # anything else of this rep comes after the merged write
            return self._flush(rec.rep_id) + self._handle(rec)
        return self._handle(rec)

    def _handle(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        t = rec.type
        if t in (sp.EV_WRITE, sp.EV_DIRTY, sp.EV_FTRUNC, sp.EV_SYNC, sp.EV_FCHMOD, sp.EV_FATTR):
            return self._fd_op(rec)
        handler = self._HANDLERS.get(t)
        return handler(self, rec) if handler else []

    def _fd_op(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        path = self._desc_path(rec.desc_id)
        if rec.desc_id not in self.descs and rec.desc_id not in self.closed:
            # the open record was lost: the kernel still knows the path
            path = self.kernel.desc_path(rec.desc_id)
            if path is not None:
                path = self.resolve(rec.tgid, rec.rep_id, path.encode(), AT_FDCWD)
                path = path if self._wanted(rec.rep_id, path) else None
        if path is None:
            return []
        t = rec.type
        if t == sp.EV_WRITE:
            op = {
                "write": loader_pb2.FileWrite(
                    path=path, offset=rec.offset, data=rec.data, append=bool(rec.flags & sp.F_APPEND)
                )
            }
        elif t == sp.EV_DIRTY:
            op = {
                "dirty": loader_pb2.FileDirty(
                    path=path,
                    offset=rec.offset,
                    length=rec.length,
                    reason=rec.reason if rec.reason in sp.KERNEL_DIRTY_REASONS else 0,
                )
            }
        elif t == sp.EV_FTRUNC:
            op = {"truncate": loader_pb2.FileTruncate(path=path, length=rec.offset)}
        elif t == sp.EV_SYNC:
            op = {"sync": loader_pb2.FileSync(path=path)}
        elif t == sp.EV_FATTR:
            op = {"attrs_changed": loader_pb2.AttrsChanged(path=path, nofollow=True)}
        else:
            op = {"chmod": loader_pb2.FileChmod(path=path, mode=rec.length & 0o7777)}
        return [self._event(rec, **op)]

    def _open(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        path = self.resolve(rec.tgid, rec.rep_id, rec.path, rec.dfd)
        wanted = self._wanted(rec.rep_id, path)
        self.descs[rec.desc_id] = path if wanted else None
        self.fds.setdefault(rec.tgid, {})[rec.fd] = rec.desc_id
        if not wanted or not rec.oflags & (O_CREAT | O_TRUNC):
            return []
        return [
            self._event(
                rec,
                create=loader_pb2.FileCreate(
                    path=path,
                    mode=rec.mode & ~self._umask(rec.tgid) & 0o7777,
                    truncate=bool(rec.oflags & O_TRUNC),
                ),
            )
        ]

    def _diropen(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        path = self.resolve(rec.tgid, rec.rep_id, rec.path, rec.dfd)
        if path is not None:
            self.dirfds[(rec.tgid, rec.fd)] = path
        return []

    def _chdir(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        if rec.path:
            path = self.resolve(rec.tgid, rec.rep_id, rec.path, AT_FDCWD)
        else:
            path = self.dirfds.get((rec.tgid, rec.fd)) or self._proc_path(rec.tgid, "cwd", rec.rep_id)
        if path is not None:
            self.cwd[rec.tgid] = path
        else:
            self.cwd.pop(rec.tgid, None)
        return []

    def _umask(self, tgid: int) -> int:
        """The umask a create or mkdir of the process is masked by (the kernel side only sees the mode asked)."""
        mask = self.umasks.get(tgid)
        if mask is None:
            mask = self.proc_umask(tgid)
            if mask is None:
                mask = DEFAULT_UMASK
            self.umasks[tgid] = mask
        return mask

    def _set_umask(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        self.umasks[rec.tgid] = rec.child & 0o777
        return []

    def _fork(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        child = rec.child
        if self.proc_link(rec.tgid, f"task/{child}/exe") is not None:
            # a new thread, not a process: undo the kernel's copies for its tid
            for fd in self.fds.get(rec.tgid, {}):
                self.kernel.drop_fd(child, fd)
            return []
        cwd = self._cwd(rec.tgid, rec.rep_id)
        if cwd is not None:
            self.cwd[child] = cwd
        self.umasks[child] = self._umask(rec.tgid)
        for (tgid, fd), p in list(self.dirfds.items()):
            if tgid == rec.tgid:
                self.dirfds[(child, fd)] = p
        for fd, desc in self.fds.get(rec.tgid, {}).items():
            if fd < FORK_FDS:  # the kernel copied these at fork time
                self.fds.setdefault(child, {})[fd] = desc
        return []

    def _exit(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        tgid = rec.tgid
        out = []
        for _addr, _len, desc in self.mmaps.pop(tgid, []):
            path = self._desc_path(desc)
            if path:
                out.append(
                    self._event(
                        rec, dirty=loader_pb2.FileDirty(path=path, reason=loader_pb2.DIRTY_REASON_MMAP)
                    )
                )
        for fd in list(self.fds.pop(tgid, {})):
            self.kernel.drop_fd(tgid, fd)
        self.cwd.pop(tgid, None)
        self.umasks.pop(tgid, None)
        for key in [k for k in self.dirfds if k[0] == tgid]:
            del self.dirfds[key]
        return out

    def _dup(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        if rec.desc_id:
            self.fds.setdefault(rec.tgid, {})[rec.fd] = rec.desc_id
            return []
        # a dup of an fd not followed: a directory fd's copy resolves *at calls as the original does
        base = self.dirfds.get((rec.tgid, rec.child))
        if base is not None:
            self.dirfds[(rec.tgid, rec.fd)] = base
        else:
            self.dirfds.pop((rec.tgid, rec.fd), None)
        return []

    def _close_range(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        first, last = rec.fd, rec.child
        fds = self.fds.get(rec.tgid, {})
        for fd in [f for f in fds if first <= f <= last]:
            self.kernel.drop_fd(rec.tgid, fd)
            del fds[fd]
        return []

    def _close(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        if rec.desc_id in self.descs:
            self.closed[rec.desc_id] = self.descs.pop(rec.desc_id)
            while len(self.closed) > CLOSED_MEMORY:
                self.closed.popitem(last=False)
        fds = self.fds.get(rec.tgid, {})
        fds.pop(rec.fd, None)
        return []

    def _mmap(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        if self._desc_path(rec.desc_id):
            self.mmaps.setdefault(rec.tgid, []).append((rec.offset, rec.length, rec.desc_id))
        return []

    def _msync(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        out = []
        lo, hi = rec.offset, rec.offset + rec.length
        for addr, length, desc in self.mmaps.get(rec.tgid, []):
            path = self._desc_path(desc)
            if path and addr < hi and lo < addr + length:
                out.append(
                    self._event(
                        rec, dirty=loader_pb2.FileDirty(path=path, reason=loader_pb2.DIRTY_REASON_MMAP)
                    )
                )
        return out

    def _path_op(self, rec: sp.Record) -> List[loader_pb2.StateEvent]:
        path = self.resolve(rec.tgid, rec.rep_id, rec.path, rec.dfd)
        t = rec.type
        if t == sp.EV_RENAME:
            return self._rename(rec, path)
        if t == sp.EV_LINK:
            return self._link(rec, path)
        if t == sp.EV_SYMLINK:
            # path is the target (verbatim), path2 the link, resolved against dfd2
            link = self.resolve(rec.tgid, rec.rep_id, rec.path2, rec.fd)
            if not self._wanted(rec.rep_id, link):
                return []
            self._forget(link)
            target = rec.path.decode("utf-8", "surrogateescape")
            return [self._event(rec, symlink=loader_pb2.Symlink(target=target, path=link))]
        if not self._wanted(rec.rep_id, path):
            return []
        if t == sp.EV_UNLINK:
            self._forget(path)
        if t == sp.EV_TRUNC:
            op = {"truncate": loader_pb2.FileTruncate(path=path, length=rec.arg)}
        elif t == sp.EV_UNLINK:
            op = {"unlink": loader_pb2.FileUnlink(path=path)}
        elif t == sp.EV_MKDIR:
            mode = rec.mode & ~self._umask(rec.tgid) & (0o777 | S_ISVTX)
            op = {"mkdir": loader_pb2.DirCreate(path=path, mode=mode)}
        elif t == sp.EV_RMDIR:
            op = {"rmdir": loader_pb2.DirRemove(path=path)}
        elif t == sp.EV_ATTR:
            nofollow = bool(rec.aflags & AT_SYMLINK_NOFOLLOW)
            op = {"attrs_changed": loader_pb2.AttrsChanged(path=path, nofollow=nofollow)}
        else:
            op = {"chmod": loader_pb2.FileChmod(path=path, mode=rec.mode & 0o7777)}
        return [self._event(rec, **op)]

    def _rename(self, rec: sp.Record, src: Optional[str]) -> List[loader_pb2.StateEvent]:
        dst = self.resolve(rec.tgid, rec.rep_id, rec.path2, rec.fd)
        src_in, dst_in = self._wanted(rec.rep_id, src), self._wanted(rec.rep_id, dst)
        if dst is not None and dst != src and not rec.aflags & RENAME_EXCHANGE:
            self._forget(dst)
        self._renamed(src, dst if dst_in else None)
        if rec.aflags & RENAME_EXCHANGE:
            return [
                self._event(
                    rec, dirty=loader_pb2.FileDirty(path=p, reason=loader_pb2.DIRTY_REASON_RENAME_EXCHANGE)
                )
                for p in (src, dst)
                if self._wanted(rec.rep_id, p)
            ]
        if src_in and dst_in:
            return [self._event(rec, rename=loader_pb2.FileRename(**{"from": src, "to": dst}))]
        if src_in:
            return [self._event(rec, unlink=loader_pb2.FileUnlink(path=src))]
        if dst_in:
            return [
                self._event(
                    rec, dirty=loader_pb2.FileDirty(path=dst, reason=loader_pb2.DIRTY_REASON_RENAME_IN)
                )
            ]
        return []

    def _link(self, rec: sp.Record, src: Optional[str]) -> List[loader_pb2.StateEvent]:
        dst = self.resolve(rec.tgid, rec.rep_id, rec.path2, rec.fd)
        if not self._wanted(rec.rep_id, dst):
            return []
        if self._wanted(rec.rep_id, src):
            return [self._event(rec, link=loader_pb2.FileLink(**{"from": src, "to": dst}))]
        return [
            self._event(rec, dirty=loader_pb2.FileDirty(path=dst, reason=loader_pb2.DIRTY_REASON_LINK_IN))
        ]

    def _forget(self, path: str) -> None:
        """Descriptions of a file that was unlinked or replaced no longer reach the path."""
        for d, p in list(self.descs.items()):
            if p == path:
                self.descs[d] = None

    def _renamed(self, src: Optional[str], dst: Optional[str]) -> None:
        """Open descriptions and directory fds follow a renamed file or directory."""
        if src is None:
            return

        def moved(p: Optional[str]) -> Optional[str]:
            if p is None:
                return None
            if p == src:
                return dst
            if p.startswith(src + "/"):
                return None if dst is None else dst + p[len(src) :]
            return p

        for d, p in list(self.descs.items()):
            if p is not None:
                self.descs[d] = moved(p)
        for k, p in list(self.dirfds.items()):
            m = moved(p)
            if m is not None:
                self.dirfds[k] = m

    _HANDLERS = {
        sp.EV_OPEN: _open,
        sp.EV_DIROPEN: _diropen,
        sp.EV_CHDIR: _chdir,
        sp.EV_FORK: _fork,
        sp.EV_EXIT: _exit,
        sp.EV_DUP: _dup,
        sp.EV_CLOSERANGE: _close_range,
        sp.EV_UMASK: _set_umask,
        sp.EV_CLOSE: _close,
        sp.EV_MMAP: _mmap,
        sp.EV_MSYNC: _msync,
        sp.EV_TRUNC: _path_op,
        sp.EV_RENAME: _path_op,
        sp.EV_UNLINK: _path_op,
        sp.EV_MKDIR: _path_op,
        sp.EV_RMDIR: _path_op,
        sp.EV_CHMOD: _path_op,
        sp.EV_LINK: _path_op,
        sp.EV_SYMLINK: _path_op,
        sp.EV_ATTR: _path_op,
    }
