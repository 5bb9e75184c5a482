# SPDX-License-Identifier: Apache-2.0
"""The prototype's client: N `curl` processes one after another, each timed fork to exit
as `time curl` times it; prints the latencies (ns) as JSON. A process of its own, so the
timing never waits for the loader's threads (the benchmark's process hosts the loader).

Usage: python3 -B curlloop.py URL FIRST N     (fetches URL + str(i) for i in FIRST..FIRST+N-1)
"""

import json
import os
import sys
import time

url, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat = []
for i in range(first, first + n):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn("/usr/bin/curl", ["curl", "-sf", "-o", "/dev/null", url + str(i)], os.environ)
    _, status = os.waitpid(pid, 0)
    lat.append(time.perf_counter_ns() - t0)
    if status:
        sys.exit(f"curl {url}{i} failed: status {status}")
json.dump(lat, sys.stdout)
