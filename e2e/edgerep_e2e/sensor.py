# SPDX-License-Identifier: Apache-2.0
"""A sensor: sends an MPEG-TS clip over UDP as a camera does, 7 TS packets per datagram, paced.

Run in the sensor namespace: ``python3 -m edgerep_e2e.sensor CLIP IP PORT --rate BPS``.
Datagrams are the clip's bytes cut every 1316 bytes, sent evenly at the clip's
bitrate (the constant-bitrate pacing of a TS multiplexer), so what a consumer
receives can be matched datagram by datagram against the file. ffmpeg's own
UDP output is not used: it flushes at frame boundaries, which makes datagrams
of fewer than 7 packets that the file cannot tell apart afterwards, and it sends
each frame in one burst. Prints the number of datagrams sent.
"""

from __future__ import annotations

import argparse
import socket
import time

DATAGRAM = 7 * 188


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("clip")
    parser.add_argument("ip")
    parser.add_argument("port", type=int)
    parser.add_argument("--rate", type=float, required=True, help="bits per second")
    parser.add_argument("--loops", type=int, default=1, help="times the clip is sent")
    args = parser.parse_args()
    if args.rate <= 0:
        parser.error("--rate must be positive")
    with open(args.clip, "rb") as f:
        data = f.read()
    chunks = [data[i : i + DATAGRAM] for i in range(0, len(data), DATAGRAM)]
    interval = DATAGRAM * 8 / args.rate
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sent = 0
    start = time.monotonic()
    for _ in range(args.loops):
        for chunk in chunks:
            due = start + sent * interval
            ahead = due - time.monotonic()
            if ahead > 0.001:
                time.sleep(ahead)
            sock.sendto(chunk, (args.ip, args.port))
            sent += 1
    print(sent, flush=True)


if __name__ == "__main__":
    main()
