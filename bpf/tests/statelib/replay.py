# SPDX-License-Identifier: Apache-2.0
"""A tiny replayer of StateEvents into a directory (the real applier lives in the agent).

Paths under ``prefix`` are mapped to ``dst``; FileDirty ranges are copied
from the origin file (a resync reads what the kernel could not carry).
"""

from __future__ import annotations

import hashlib
import os
from typing import Dict, Iterable

from edgerep.v1 import loader_pb2


def _map(prefix: str, dst: str, path: str) -> str:
    assert path == prefix or path.startswith(prefix + "/"), f"{path} outside {prefix}"
    rel = path[len(prefix) :].lstrip("/")
    out = os.path.normpath(os.path.join(dst, rel))
    assert out == dst or out.startswith(dst + "/"), f"{path} escapes the replica"
    return out


def _copy_range(src: str, dst: str, offset: int, length: int) -> None:
    try:
        with open(src, "rb") as f:
            if length == 0:
                data = f.read()
                offset = 0
                truncate = True
            else:
                f.seek(offset)
                data = f.read(length)
                truncate = False
    except FileNotFoundError:
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        if truncate:
            os.ftruncate(fd, 0)
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def replay(events: Iterable[loader_pb2.StateEvent], prefix: str, dst: str) -> None:
    """Apply events in order; prefix is the origin directory the paths are under."""
    for e in events:
        kind = e.WhichOneof("op")
        op = getattr(e, kind)
        if kind == "write":
            p = _map(prefix, dst, op.path)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                if op.append:
                    os.lseek(fd, 0, os.SEEK_END)
                    os.write(fd, op.data)
                else:
                    os.pwrite(fd, op.data, op.offset)
            finally:
                os.close(fd)
        elif kind == "create":
            p = _map(prefix, dst, op.path)
            flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if op.truncate else 0)
            os.close(os.open(p, flags, op.mode or 0o644))
        elif kind == "truncate":
            os.truncate(_map(prefix, dst, op.path), op.length)
        elif kind == "rename":
            os.rename(_map(prefix, dst, getattr(op, "from")), _map(prefix, dst, op.to))
        elif kind == "unlink":
            os.unlink(_map(prefix, dst, op.path))
        elif kind == "mkdir":
            os.mkdir(_map(prefix, dst, op.path), op.mode or 0o755)
        elif kind == "rmdir":
            os.rmdir(_map(prefix, dst, op.path))
        elif kind == "chmod":
            os.chmod(_map(prefix, dst, op.path), op.mode | 0o200)  # keep the replica writable
        elif kind == "link":
            os.link(_map(prefix, dst, getattr(op, "from")), _map(prefix, dst, op.to))
        elif kind == "symlink":
            os.symlink(op.target, _map(prefix, dst, op.path))
        elif kind == "dirty":
            _copy_range(op.path, _map(prefix, dst, op.path), op.offset, op.length)
        # sync: a barrier, nothing to apply here


def tree_digest(root: str) -> Dict[str, str]:
    """relative path -> sha256 of every file ("dir" for directories) under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in files:
            p = os.path.join(dirpath, f)
            if os.path.islink(p):
                out[os.path.relpath(p, root)] = "link:" + os.readlink(p)
                continue
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out
