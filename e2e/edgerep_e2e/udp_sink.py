# SPDX-License-Identifier: Apache-2.0
"""A consumer pod's receiver: keeps every datagram of the stream and reports what arrived.

Run inside a pod: ``python3 -m edgerep_e2e.udp_sink --port 6000 --out /srv/recv.ts``.
Writes the payloads, in arrival order, to ``--out`` (a playable TS file), the
length of each datagram to ``--out``.sizes (16-bit little-endian, so the
datagrams can be told apart again) and a JSON summary to ``--out``.json every
half second (packets, bytes, first and last arrival); the last one, written once
SIGTERM's drain is on disk, also says ``"stopped": true``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import time


def drain(sock: socket.socket, out, sizes, stats: dict) -> None:
    """Keeps what is still queued on the socket when the sink is told to stop."""
    # non-blocking: on a socket with a timeout, an empty queue would wait that long and raise TimeoutError
    sock.setblocking(False)
    while True:
        try:
            data = sock.recv(65535)
        except BlockingIOError:
            break
        out.write(data)
        sizes.write(len(data).to_bytes(2, "little"))
        stats["packets"] += 1
        stats["bytes"] += len(data)
        stats["last"] = time.time()
    out.flush()
    sizes.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("0.0.0.0", args.port))
    sock.settimeout(0.5)
    stats = {"packets": 0, "bytes": 0, "first": None, "last": None}
    last_report = 0.0
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(args.out, "wb") as out, open(args.out + ".sizes", "wb") as sizes:
        while True:
            try:
                data = sock.recv(65535)
                out.write(data)
                sizes.write(len(data).to_bytes(2, "little"))
                now = time.time()
                stats["packets"] += 1
                stats["bytes"] += len(data)
                stats["first"] = stats["first"] or now
                stats["last"] = now
            except socket.timeout:
                pass
            if stop or time.monotonic() - last_report >= 0.5:
                out.flush()
                sizes.flush()
                tmp = args.out + ".json.tmp"
                with open(tmp, "w") as f:
                    json.dump(stats, f)
                os.replace(tmp, args.out + ".json")
                last_report = time.monotonic()
            if stop:
                drain(sock, out, sizes, stats)
                stats["stopped"] = True
                with open(args.out + ".json.tmp", "w") as f:
                    json.dump(stats, f)
                os.replace(args.out + ".json.tmp", args.out + ".json")
                return  # everything that had arrived is on disk


if __name__ == "__main__":
    main()
