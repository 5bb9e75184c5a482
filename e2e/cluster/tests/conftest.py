# SPDX-License-Identifier: Apache-2.0
"""The cluster suite: one real node for the module, always torn down; one suite at a time on the machine."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from edgerep_e2e import suitelock
from edgerep_e2e.cluster import Cluster, leftovers
from edgerep_e2e.images import archives


@pytest.fixture(scope="session", autouse=True)
def _root_and_lock():
    if os.geteuid() != 0:
        pytest.exit("the cluster suite needs root: run `sudo make e2e-cluster`", returncode=2)
    lock = suitelock.hold("the cluster suite")  # noqa: F841 (held for the session)
    found = leftovers()
    if Path("/sys/fs/bpf/edgerep").exists():
        found.append("/sys/fs/bpf/edgerep (the chart's pin directory)")
    if found:
        pytest.exit(f"leftovers of an earlier cluster run: {found}", returncode=3)
    yield


@pytest.fixture(scope="module")
def cluster():
    """One node for the module: torn down when its last test ends, before test_machine_clean runs."""
    workdir = Path(tempfile.mkdtemp(prefix="edgerep-cluster-"))
    try:
        with Cluster(workdir) as c:
            c.import_images(archives())
            yield c
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
