# SPDX-License-Identifier: Apache-2.0
"""A small web application that writes a file on every request (the xdn-ebpf
measurement): POST body -> DATA/req-<n % 64>.bin (O_TRUNC), one line appended
to DATA/access.log; answers "ok". Single-threaded, HTTP/1.1 keep-alive.

Usage: python3 -B webapp.py DATA PORTFILE
"""

import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

DATA = sys.argv[1]
LOG = os.open(os.path.join(DATA, "access.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate sends

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        n = COUNT[0] = COUNT[0] + 1
        fd = os.open(os.path.join(DATA, f"req-{n % 64}.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, body)
        os.close(fd)
        os.write(LOG, f"{n} POST {self.path} {len(body)}\n".encode())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
