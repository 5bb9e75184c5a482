# SPDX-License-Identifier: Apache-2.0
"""The benchmarks' own tests: pure (``unit_*``), run by ``make test-unit`` and before ``make bench``.

They check what turns measurements into figures (bench/report, bench/benchlib.py, bench/quality/metrics.py),
not the measurements themselves.
"""

import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
for path in (
    BENCH,
    os.path.join(BENCH, "quality"),
    os.path.join(ROOT, "e2e"),
    os.path.join(ROOT, "bpf", "tests"),
):
    if path not in sys.path:
        sys.path.insert(0, path)


def load_script(name: str, path: str):
    """A benchmark driver without a .py extension (bench/report) as a module."""
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
