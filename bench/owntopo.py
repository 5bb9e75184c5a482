# SPDX-License-Identifier: Apache-2.0
"""The stream tests' netns topology (bpf/tests/streamlib) under a prefix of its own, for long benchmarks.

streamlib names everything ``edgerep-t-st-*`` and every stream kernel test (and bench/quality,
bench/stream) starts by removing whatever carries that prefix, as leftovers of a killed run. A
benchmark that measures for minutes on a machine where those tests run would lose its namespaces
mid-run; this one's namespaces, pin dir and work dir carry ``edgerep-pb-`` instead, and are removed by
:meth:`OwnTopology.destroy` only.
"""

from __future__ import annotations

from streamlib import topo

PREFIX = "edgerep-pb"
WORK_ROOT = "/run/edgerep-pb"


class OwnTopology(topo.Topology):
    prefix = PREFIX
    work_root = WORK_ROOT
