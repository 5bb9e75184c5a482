# SPDX-License-Identifier: Apache-2.0
"""The sensor's tests: pure (``unit_*``), run by ``make test-unit``; clips from bpf/tests' fixtures."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for path in (os.path.dirname(HERE), os.path.join(HERE, "..", "..", "bpf", "tests")):
    if os.path.abspath(path) not in sys.path:
        sys.path.insert(0, os.path.abspath(path))
