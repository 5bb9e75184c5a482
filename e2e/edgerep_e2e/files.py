# SPDX-License-Identifier: Apache-2.0
"""Comparing a replica's files with its origin's."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
from pathlib import Path

from .proc import wait_for


#: SQLite's shared-memory index: memory, not state (each opener rebuilds it)
EPHEMERAL = ("-shm",)


def entry(p: Path, rel: str, first_name: dict) -> str:
    """All a program can observe of one path, never following a link: type, permission bits
    (set-id and sticky included), owner, group, modification time in ns (a link's in µs, as
    lutimes keeps it), a file's size and sha256, a link's contents, and for a file with
    several names the first of them met (``first_name``: (device, inode) -> rel)."""
    st = p.lstat()
    owner = f"uid={st.st_uid} gid={st.st_gid}"
    if stat.S_ISLNK(st.st_mode):
        return f"link ->{os.readlink(p)} {owner} mtime={st.st_mtime_ns // 1000}us"
    mode = f"mode={st.st_mode & 0o7777:04o}"
    if stat.S_ISDIR(st.st_mode):
        return f"dir {mode} {owner} mtime={st.st_mtime_ns}"
    if not stat.S_ISREG(st.st_mode):
        return f"special type={stat.S_IFMT(st.st_mode):o} {mode} {owner}"
    sha = hashlib.sha256(p.read_bytes()).hexdigest()
    out = f"file {mode} {owner} mtime={st.st_mtime_ns} size={st.st_size} sha256={sha}"
    if st.st_nlink > 1:
        out += f" hardlink-of={first_name.setdefault((st.st_dev, st.st_ino), rel)}"
    return out


def tree_digest(root: Path) -> dict[str, str]:
    """entry() of every path under root and of root itself ("."), by relative path.

    Directories' times count too; an ephemeral file (``EPHEMERAL``) is left out, and so is
    the time of a directory holding one, which its coming and going moves."""
    first_name: dict = {}
    out: dict[str, str] = {}
    holders = {p.parent for p in root.rglob("*") if p.name.endswith(EPHEMERAL)}
    for p in [root] + sorted(root.rglob("*")):
        if p.name.endswith(EPHEMERAL):
            continue
        rel = "." if p == root else str(p.relative_to(root))
        e = entry(p, rel, first_name)
        out[rel] = e.split(" mtime=")[0] if p in holders else e
    return out


def differences(origin: dict[str, str], replica: dict[str, str]) -> list[str]:
    """Each path whose entries differ, with both (absent: "-"), in path order."""
    return [
        f"{k}: origin {origin.get(k, '-')} | replica {replica.get(k, '-')}"
        for k in sorted(origin.keys() | replica.keys())
        if origin.get(k) != replica.get(k)
    ]


def _fields(e: str) -> dict[str, str]:
    kind, _, rest = e.partition(" ")
    out = {"type": kind}
    for part in rest.split(" "):
        k, sep, v = part.partition("=")
        if sep:
            out[k] = v
        elif part.startswith("->"):
            out["link"] = part[2:]
    return out


def differences_by_kind(origin: dict[str, str], replica: dict[str, str]) -> dict[str, list[str]]:
    """The paths that differ, by what differs: missing, extra, type, content, mode, owner,
    mtime, link, hardlink (a path can be under several)."""
    out: dict[str, list[str]] = {}
    for k in sorted(origin.keys() | replica.keys()):
        a, b = origin.get(k), replica.get(k)
        if a == b:
            continue
        if b is None or a is None:
            out.setdefault("missing" if b is None else "extra", []).append(k)
            continue
        fa, fb = _fields(a), _fields(b)
        names = {
            "type": ("type",),
            "content": ("size", "sha256"),
            "mode": ("mode",),
            "owner": ("uid", "gid"),
            "mtime": ("mtime",),
            "link": ("link",),
            "hardlink": ("hardlink-of",),
        }
        for kind, keys in names.items():
            if any(fa.get(x) != fb.get(x) for x in keys):
                out.setdefault(kind, []).append(k)
    return out


def wait_identical(replicas, expected: dict[str, str], what: str, timeout: float = 60) -> None:
    """Wait for every replica pod's tree to equal ``expected`` (``what`` names whose it is); on
    timeout, name every path that differs and how."""
    for replica in replicas:
        try:
            wait_for(
                f"{replica.name} to match {what}",
                lambda r=replica: tree_digest(r.host_dir) == expected,
                timeout=timeout,
                interval=0.5,
            )
        except TimeoutError as e:
            got = tree_digest(replica.host_dir)
            kinds = ", ".join(f"{k}: {len(v)}" for k, v in differences_by_kind(expected, got).items())
            diff = differences(expected, got)
            raise AssertionError(
                f"{e}; differing paths by kind: {kinds}\n  " + "\n  ".join(diff[:40])
            ) from None


def integrity(replica, workdir: Path) -> tuple[str, int]:
    """integrity_check and row count of items of the web app's database in a replica pod, judged on a copy
    in ``workdir`` (opening the database in WAL mode writes next to it)."""
    check = workdir / f"check-{replica.name}"
    check.mkdir()
    for f in replica.host_dir.glob("app.db*"):
        shutil.copy2(f, check / f.name)
    db = sqlite3.connect(check / "app.db")
    try:
        return (
            db.execute("PRAGMA integrity_check").fetchone()[0],
            db.execute("SELECT count(*) FROM items").fetchone()[0],
        )
    finally:
        db.close()


def main() -> None:
    """``python3 -m edgerep_e2e.files ROOT``: tree_digest(ROOT) as JSON, for a tree inside a pod."""
    import json
    import sys

    json.dump(tree_digest(Path(sys.argv[1])), sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
