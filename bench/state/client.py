# SPDX-License-Identifier: Apache-2.0
"""Request-latency client: N keep-alive POSTs of 1 KiB; prints latencies (ns) as JSON.

Usage: python3 -B client.py PORT N
"""

import http.client
import json
import os
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
body = os.urandom(1024)
conn = http.client.HTTPConnection("127.0.0.1", port)
conn.connect()
conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lat = []
for i in range(n):
    t0 = time.perf_counter_ns()
    conn.request("POST", f"/r/{i}", body=body)
    r = conn.getresponse()
    r.read()
    lat.append(time.perf_counter_ns() - t0)
conn.close()
json.dump(lat, sys.stdout)
