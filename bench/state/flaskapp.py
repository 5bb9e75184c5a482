# SPDX-License-Identifier: Apache-2.0
"""The prototype's measured application: a Flask app that writes a file on every
request. GET /write/<n> writes a small record to DATA/req-<n % 64>.txt (O_TRUNC)
and appends a line to DATA/access.log; answers "ok". Flask's own server with its
defaults (a thread per request), as `flask run` serves it.

Usage: python3 -B flaskapp.py DATA PORTFILE
"""

import logging
import os
import sys
import time

from flask import Flask
from werkzeug.serving import make_server

DATA = sys.argv[1]
app = Flask(__name__)
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the terminal: its writes are noise


@app.route("/write/<int:n>")
def write(n: int):
    record = f"request {n} at {time.time_ns()}\n".encode() * 8
    with open(os.path.join(DATA, f"req-{n % 64}.txt"), "wb") as f:
        f.write(record)
    with open(os.path.join(DATA, "access.log"), "ab") as f:
        f.write(f"{n} GET /write/{n} {len(record)}\n".encode())
    return "ok"


server = make_server("127.0.0.1", 0, app, threaded=True)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_port))
server.serve_forever()
