# SPDX-License-Identifier: Apache-2.0
"""Bad input at start: the real loader on a node without kernel headers exits 2 with one line that names the
cause, in its log and in the termination message the kubelet shows (the chart's FallbackToLogsOnError)."""

from __future__ import annotations

import os
import subprocess

from statelib.harness import PYTHON
from statelib.loaderproc import LOADER_PATH, new_pin_dir


def test_a_node_without_kernel_headers_is_named_and_nothing_is_pinned(tmp_path):
    pin = new_pin_dir()
    release = os.uname().release
    # a mount namespace of its own where /lib/modules is empty: the node as it is without a headers package
    script = (
        "mount --make-rprivate / && mount -t tmpfs none /lib/modules && "
        f"exec {PYTHON} -m edgerep_loader --socket {tmp_path}/l.sock --pin-dir {pin}"
    )
    r = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        env=dict(os.environ, PYTHONPATH=LOADER_PATH),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1, r.stderr
    assert f"no kernel headers for {release}: /lib/modules/{release}/build is missing" in lines[0]
    assert f"linux-headers-{release}" in lines[0]
    assert not os.path.exists(pin), "a loader that cannot start must not leave a pin dir"
