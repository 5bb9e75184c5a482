# SPDX-License-Identifier: Apache-2.0
"""A small web application that keeps its state in files and SQLite, written on every request.

It is the black-box origin of the state scenarios: edgerep knows nothing of it
and replicates it only by watching its syscalls. Each ``POST /items`` stores
the body as ``items/<id>.json`` (written to a temporary file, fsynced and
renamed over, the atomic-save pattern), appends a line to ``access.log`` and
inserts a row in ``app.db``. ``GET /items/<id>`` reads it back; ``GET /health``
answers ok.

    python3 webapp.py --root /srv --port 8080 [--journal wal|delete]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class App:
    def __init__(self, root: str, journal: str):
        self.root = root
        os.makedirs(os.path.join(root, "items"), exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(os.path.join(root, "app.db"), check_same_thread=False)
        self.db.execute(f"PRAGMA journal_mode={journal}")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, body TEXT NOT NULL, size INTEGER)"
        )
        self.db.commit()
        self.log = open(os.path.join(root, "access.log"), "a", buffering=1)

    def store(self, body: bytes) -> int:
        with self.lock:
            cur = self.db.execute("INSERT INTO items (body, size) VALUES (?, ?)", (body.decode(), len(body)))
            item = cur.lastrowid
            self.db.commit()
            path = os.path.join(self.root, "items", f"{item}.json")
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, path)
            self.log.write(f"POST /items {item} {len(body)}\n")
            return item


def handler(app: App):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/health":
                return self._send(200, b"ok")
            if self.path.startswith("/items/"):
                try:
                    with open(os.path.join(app.root, "items", f"{int(self.path[7:])}.json"), "rb") as f:
                        return self._send(200, f.read())
                except (ValueError, OSError):
                    return self._send(404, b"not found")
            return self._send(404, b"not found")

        def do_POST(self):
            if self.path != "/items":
                return self._send(404, b"not found")
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            item = app.store(body)
            return self._send(201, json.dumps({"id": item}).encode())

        def _send(self, code: int, body: bytes):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default="/srv")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--journal", default="wal", choices=["wal", "delete"])
    args = parser.parse_args()
    app = App(args.root, args.journal)
    ThreadingHTTPServer(("0.0.0.0", args.port), handler(app)).serve_forever()


if __name__ == "__main__":
    main()
