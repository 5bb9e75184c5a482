# SPDX-License-Identifier: Apache-2.0
"""A long-lived process inside a test cgroup that runs commands for the test,
the way a container's init spawns its work: every command is forked by a
traced parent whose working directory the loader already knows.

Protocol: one JSON object per line on stdin {"argv": [...], "cwd": "..."},
one JSON object per line on stdout {"rc": int, "stderr": "..."}.
"""

import json
import subprocess
import sys

for line in sys.stdin:
    req = json.loads(line)
    p = subprocess.run(
        req["argv"],
        cwd=req.get("cwd"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=req.get("timeout", 120),
    )
    sys.stdout.write(
        json.dumps({"rc": p.returncode, "stderr": p.stderr.decode(errors="replace")[-2000:]}) + "\n"
    )
    sys.stdout.flush()
