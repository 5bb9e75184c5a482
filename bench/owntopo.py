# SPDX-License-Identifier: Apache-2.0
"""The stream tests' netns topology (bpf/tests/streamlib) under a prefix of its own, for long benchmarks.

streamlib names everything ``edgerep-t-st-*`` and every stream kernel test (and bench/quality,
bench/stream) starts by removing whatever carries that prefix, as leftovers of a killed run. A
benchmark that measures for minutes on a machine where those tests run would lose its namespaces
mid-run; this one's namespaces, pin dir and work dir carry ``edgerep-pb-`` instead, and are removed by
:meth:`OwnTopology.destroy` only.
"""

from __future__ import annotations

import os
import shutil
import uuid

from streamlib import BPFFS, topo

PREFIX = "edgerep-pb"
WORK_ROOT = "/run/edgerep-pb"


class OwnTopology(topo.Topology):
    @property
    def sender(self) -> str:
        return f"{PREFIX}-{self.tag}-snd"

    @property
    def node(self) -> str:
        return f"{PREFIX}-{self.tag}-node"

    def cns(self, i: int) -> str:
        return f"{PREFIX}-{self.tag}-c{i}"

    def create(self) -> "OwnTopology":
        # streamlib's create takes its work root and pin dir from module globals: point them here for the call
        saved = topo.WORK_ROOT, topo.new_pin_dir
        topo.WORK_ROOT = WORK_ROOT
        topo.new_pin_dir = lambda: os.path.join(BPFFS, f"{PREFIX}-{uuid.uuid4().hex[:8]}")
        try:
            return super().create()
        finally:
            topo.WORK_ROOT, topo.new_pin_dir = saved

    def destroy(self) -> None:
        pin, self.pin_dir = self.pin_dir, ""  # streamlib removes only pin dirs of its own prefix
        super().destroy()
        if os.path.basename(pin).startswith(PREFIX + "-"):
            shutil.rmtree(pin, ignore_errors=True)
