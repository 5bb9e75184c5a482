# SPDX-License-Identifier: Apache-2.0
"""Descriptors that traced processes opened before their trace existed.

The kernel program follows a file from the open it saw: a process that opened
its database or log before SetTrace (a web app started before its
EdgeReplica) would write through descriptors the program does not know, and
those writes would never be captured. At SetTrace the loader reads each traced
process's open, writable, regular files under the prefixes from /proc and
installs them in the kernel's fd maps as if their opens had been seen, with the
flags and position the kernel reports.

What was written before the adoption is not captured: the agent's resync,
which it starts only once SetTrace returned, copies it. A write racing the
adoption of its descriptor may leave the followed position behind for plain
write(2) (pwrite and O_APPEND writes carry their own offsets); the position is
read again after the install to narrow that window.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from typing import List, Optional

log = logging.getLogger("edgerep.loader.state")

#: O_ACCMODE of open(2): 0 = read-only.
O_ACCMODE = 0o3
#: Description ids of adopted files: the CPU field of kernel ids (ST_DESC_CPU_SHIFT) set to a CPU that cannot
#: exist, so they never meet an id the program makes.
ADOPTED_ID_BASE = 0xFFFF << 48


@dataclass
class OpenFile:
    """A writable regular file a process holds open."""

    fd: int
    path: str  # as /proc shows it (the loader's view)
    flags: int  # open flags, as fdinfo gives them
    pos: int  # file position


def fdinfo(pid: int, fd: int) -> Optional[tuple]:
    """(pos, flags) of a descriptor from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
            text = f.read()
    except OSError:
        return None
    pos = flags = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "pos":
            pos = int(value.strip())
        elif key == "flags":
            flags = int(value.strip(), 8)
    if pos is None or flags is None:
        return None
    return pos, flags


def writable_files(pid: int) -> List[OpenFile]:
    """The open, writable, regular files of a process (nothing when it is gone)."""
    out = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for name in fds:
        fd = int(name)
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if not target.startswith("/") or target.endswith(" (deleted)"):
                continue
            if not stat.S_ISREG(os.stat(f"/proc/{pid}/fd/{fd}").st_mode):
                continue
        except OSError:
            continue
        info = fdinfo(pid, fd)
        if info is None or info[1] & O_ACCMODE == 0:
            continue
        out.append(OpenFile(fd, target, info[1], info[0]))
    return out


class Adopter:
    """Installs pre-existing descriptors in the kernel maps and the tracker."""

    def __init__(self) -> None:
        self._next = 0
        self.adopted = 0

    def next_id(self) -> int:
        self._next += 1
        return ADOPTED_ID_BASE | self._next

    def adopt(self, prog, tracker, rep_id: int, pid: int) -> int:
        """Adopt the files of one process that lie under rep_id's prefixes; return how many."""
        n = 0
        for f in writable_files(pid):
            path = tracker.proc_fd_path(pid, f.fd, rep_id)
            if path is None or not tracker.wanted(rep_id, path):
                continue
            if prog.has_fd(pid, f.fd):
                continue  # opened (and followed) since the trace was set
            desc_id = self.next_id()
            prog.adopt_fd(pid, f.fd, desc_id, rep_id, f.flags, f.pos, path)
            tracker.adopt(pid, f.fd, desc_id, path)
            again = fdinfo(pid, f.fd)
            if again is not None and again[0] != f.pos:
                prog.move_pos(desc_id, f.pos, again[0])
            n += 1
            log.info(
                "replication %d: adopted fd %d of pid %d (%s, flags %o)", rep_id, f.fd, pid, path, f.flags
            )
        self.adopted += n
        return n
