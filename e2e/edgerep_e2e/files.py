"""Comparing a replica's files with its origin's."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

from .proc import wait_for


def file_digest(p: Path) -> str:
    """Permission bits and sha256 of a regular file: what a replica must hold the same."""
    return f"{p.stat().st_mode & 0o7777:04o} {hashlib.sha256(p.read_bytes()).hexdigest()}"


def tree_digest(root: Path) -> dict[str, str]:
    """file_digest of every regular file under root, by relative path (SQLite's -shm is memory, not state)."""
    return {
        str(p.relative_to(root)): file_digest(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith("-shm")
    }


def wait_identical(replicas, expected: dict[str, str], what: str, timeout: float = 60) -> None:
    """Wait for every replica pod's files to have the digests ``expected`` (``what`` names whose they are)."""
    for replica in replicas:
        wait_for(
            f"{replica.name} to match {what}",
            lambda r=replica: tree_digest(r.host_dir) == expected,
            timeout=timeout,
            interval=0.5,
        )


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
