# SPDX-License-Identifier: Apache-2.0
"""Running commands and long-lived processes inside network namespaces."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

log = logging.getLogger("edgerep.e2e")


def run(
    cmd: Sequence[str],
    *,
    netns: str | None = None,
    check: bool = True,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    """Run a command to completion (in ``netns`` when given) and return its result."""
    full = (["ip", "netns", "exec", netns] if netns else []) + list(cmd)
    result = subprocess.run(full, capture_output=True, text=True, input=input, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(full)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


@dataclass
class Proc:
    """A background process with its log file; stopped (process group) on :meth:`stop`."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    cgroup: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.stop(signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_all(procs: Sequence[Proc | None], timeout: float = 10) -> None:
    """Stop several processes at once: SIGTERM to all, then wait for each (SIGKILL after ``timeout``).

    The same as calling :meth:`Proc.stop` on each, without their shutdowns adding up.
    """
    live = [p for p in procs if p is not None and p.alive()]
    for p in live:
        try:
            os.killpg(p.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for p in live:
        try:
            p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


def start(
    name: str,
    cmd: Sequence[str],
    *,
    log_dir: Path,
    netns: str | None = None,
    cgroup: str | None = None,
    env: dict | None = None,
    cwd: str | None = None,
) -> Proc:
    """Start ``cmd`` in the background in its own process group.

    With ``cgroup`` (a cgroup v2 directory), the process moves itself there
    before it execs, so every descendant is in that cgroup from the start.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    prefix: list[str] = []
    if cgroup:
        # before entering the namespace: `ip netns exec` remounts /sys, hiding the cgroup tree
        prefix += ["sh", "-c", f'echo $$ > "{cgroup}/cgroup.procs" && exec "$@"', "sh"]
    if netns:
        prefix += ["ip", "netns", "exec", netns]
    out = open(log_path, "ab")
    popen = subprocess.Popen(
        prefix + list(cmd),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    out.close()
    log.debug("started %s (pid %d): %s", name, popen.pid, " ".join(cmd))
    return Proc(name, popen, log_path, cgroup)


def settle(predicate, timeout: float = 60, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; whether it held (the caller's assertions say why not)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - retried until the deadline
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def wait_for(what: str, predicate, timeout: float = 30, interval: float = 0.2, proc: Proc | None = None):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited while waiting for {what}:\n{proc.tail()}")
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_error = e
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    tail = f"\n{proc.tail()}" if proc is not None else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}{tail}")
