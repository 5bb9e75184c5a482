# SPDX-License-Identifier: Apache-2.0
"""The web app's users (``e2e/apps/webapp.py``): POST /items, one request after another.

Run where the app answers, e.g. in its pod:
``python3 -m edgerep_e2e.web_client --url http://127.0.0.1:8080 --count 300 --progress /tmp/w.json``;
``--count 0`` keeps going until SIGTERM. Waits for /health first. ``--progress`` gets a JSON summary
after every request and a last one when it ends: ``stored`` (requests answered 201), ``stopped`` and
``error`` (the first failed request, which ends the run; exit status 1).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
import urllib.request


def body(i: int, tag: str) -> bytes:
    """Item i's JSON, of a size that varies with i."""
    return json.dumps({"tag": tag, "n": i, "pad": "x" * (i % 300)}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--count", type=int, required=True, help="requests to make (0: until SIGTERM)")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between requests")
    parser.add_argument("--tag", default="", help="put in every item (tells runs apart)")
    parser.add_argument("--progress", help="JSON summary file")
    args = parser.parse_args()
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    summary = {"stored": 0, "stopped": False, "error": None}

    def report() -> None:
        if args.progress:
            with open(args.progress + ".tmp", "w") as f:
                json.dump(summary, f)
            os.replace(args.progress + ".tmp", args.progress)

    for _ in range(300):
        try:
            urllib.request.urlopen(args.url + "/health", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    i = 0
    while not stop and (args.count == 0 or i < args.count):
        request = urllib.request.Request(args.url + "/items", data=body(i, args.tag), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                if answer.status != 201:
                    raise OSError(f"answered {answer.status}")
        except OSError as e:
            summary["error"] = f"request {i}: {e}"
            break
        i += 1
        summary["stored"] = i
        report()
        if args.interval:
            time.sleep(args.interval)
    summary["stopped"] = True
    report()
    raise SystemExit(1 if summary["error"] else 0)


if __name__ == "__main__":
    main()
