# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the stream kernel tests: unique pin dirs and leftover cleanup."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid

#: Prefix of everything the stream tests create (inside the project's ``edgerep-t``), so
#: leftovers of a killed run are removed without touching other suites' live resources.
PREFIX = "edgerep-t-st"
BPFFS = "/sys/fs/bpf"
#: Work files (sockets, captures, logs); not under /tmp, whose ``edgerep-t-*`` other suites sweep.
WORK_ROOT = "/run/edgerep-t-stream"


def new_pin_dir() -> str:
    """A fresh pin dir under bpffs with the test prefix."""
    return os.path.join(BPFFS, f"{PREFIX}-{uuid.uuid4().hex[:8]}")


def remove_pin_dir(path: str, prefix: str = PREFIX) -> None:
    """Remove a pin dir (only ever one with the given prefix, the tests' by default)."""
    if os.path.basename(path).startswith(prefix) and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


def remove_leftovers() -> None:
    """Remove pins and namespaces a killed run left behind (by the test prefix only)."""
    for path in glob.glob(os.path.join(BPFFS, f"{PREFIX}-*")):
        remove_pin_dir(path)
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
    shutil.rmtree(WORK_ROOT, ignore_errors=True)


class TestNetns:
    """A throwaway network namespace the current thread can step into (pyroute2 pushns)."""

    def __init__(self, tag: str):
        self.name = f"{PREFIX}-{tag}-{uuid.uuid4().hex[:6]}"

    def __enter__(self) -> "TestNetns":
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        return self

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", "-n", self.name, *args], check=True)

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
