# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures. Kernel tests are marked ``kernel`` (run by ``make test-bpf``, as root)."""

from __future__ import annotations

import fcntl
import os

import pytest

#: Prefix of every namespace, cgroup, pin directory and process name a test creates,
#: so a run can remove what a killed run left behind without touching anything else.
TEST_PREFIX = "edgerep-t"
#: Held by every kernel-touching suite for its whole run (see e2e/edgerep_e2e/suitelock.py).
SUITE_LOCK = "/run/edgerep-suites.lock"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.fspath.basename.startswith("test_"):
            item.add_marker(pytest.mark.kernel)


@pytest.fixture(scope="session", autouse=True)
def _kernel_ready(request):
    """Kernel tests need root and the mounts `scripts/setup kernel` makes."""
    kernel = any(i.get_closest_marker("kernel") for i in request.session.items)
    if not kernel:
        yield
        return
    if os.geteuid() != 0:
        pytest.exit("kernel tests need root: run `sudo make test-bpf`", returncode=2)
    for path, what in (("/sys/kernel/tracing/events", "tracefs"), ("/sys/fs/bpf", "bpffs")):
        if not os.path.isdir(path):
            pytest.exit(f"{what} is not mounted at {path}: run `scripts/setup kernel`", returncode=2)
    # leftover cleanup by name prefix must not meet a live run's resources: one suite at a time
    # (the same lock as e2e/edgerep_e2e/suitelock.py, which this suite cannot import)
    lock = open(SUITE_LOCK, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"bpf tests: waiting for another edgerep suite to finish (lock {SUITE_LOCK})", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    yield
    lock.close()
