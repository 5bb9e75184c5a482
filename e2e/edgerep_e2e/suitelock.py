# SPDX-License-Identifier: Apache-2.0
"""One kernel-touching suite at a time on a machine.

Each suite removes what a killed run left behind by its name prefix (cgroups,
namespaces, pins, loaders); a second suite running at the same moment would have
its live resources taken for leftovers. So the bpf tests, the e2e suite and the
demo hold this lock for their whole run, and a second one waits, saying why."""

from __future__ import annotations

import fcntl
import os
import sys
import time

PATH = "/run/edgerep-suites.lock"


def hold(what: str):
    """Blocks until no other suite runs; returns the open lock (keep it referenced)."""
    f = open(PATH, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "another edgerep suite"
        print(f"{what}: waiting for {holder} to finish (lock {PATH})", file=sys.stderr, flush=True)
        fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    f.truncate()
    f.write(f"{what} (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})\n")
    f.flush()
    return f
