# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the end-to-end suite (root): topologies that always clean up."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from edgerep_e2e.controlplane import ControlPlane
from edgerep_e2e import suitelock
from edgerep_e2e.system import EdgeSystem
from edgerep_e2e.topology import Topology


@pytest.fixture(scope="session", autouse=True)
def _root_and_clean_slate():
    if os.geteuid() != 0:
        pytest.exit(
            "the e2e suite needs root (network namespaces, cgroups, bpf): run `sudo make e2e`", returncode=2
        )
    lock = suitelock.hold("the e2e suite")  # noqa: F841 (held for the session)
    removed = Topology.remove_leftovers()
    if removed:
        print(f"removed leftovers of an earlier run: {removed}")
    yield
    Topology.remove_leftovers()


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="edgerep-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item, so fixtures can tell a failure at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def failed(request) -> bool:
    report = getattr(request.node, "rep_call", None)
    return report is None or report.failed


@contextlib.contextmanager
def running_edge(nodes: list[str], workdir: Path, request):
    """A topology with the API server, the operator and a loader and agent per node; torn down always.

    On a failed test it prints every component's log tail and the resources as the API server has them.
    """
    with Topology(nodes, workdir) as topo:
        cp = ControlPlane(topo, workdir)
        system = EdgeSystem(topo, cp, workdir)
        try:
            cp.start()
            system.start()
            yield topo, cp, system
        finally:
            if failed(request):
                print(system.dump())
                print(cp.kubectl("get", "er", "-A", "-o", "yaml", check=False).stdout)
            system.stop()
            cp.stop()
