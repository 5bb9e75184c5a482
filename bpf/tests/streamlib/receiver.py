# SPDX-License-Identifier: Apache-2.0
"""Consumer side of the netns tests: capture UDP frames to a port, verify checksums, keep payloads.

Run inside a consumer namespace: ``python3 receiver.py IFNAME PORT OUT_PREFIX IDLE_S``.
Writes OUT_PREFIX.ts (payloads in arrival order) and OUT_PREFIX.json (counts)
when no frame came for IDLE_S seconds after the first one, or on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main() -> None:
    ifname, port, prefix, idle = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    raw.bind((ifname, 0))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    raw.settimeout(0.2)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("0.0.0.0", port))  # the copies have a listener: no ICMP errors
    sink.setblocking(False)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    count = bad_ip = bad_udp = 0
    payloads = []
    last = None
    with open(prefix + ".ready", "w") as f:
        f.write("ready")
    while not stop:
        try:
            frame, addr = raw.recvfrom(65535)
        except socket.timeout:
            if last is not None and time.monotonic() - last > idle:
                break
            continue
        finally:
            try:
                while True:
                    sink.recv(65535)
            except BlockingIOError:
                pass
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 42 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 0x0F) * 4
        ip = frame[14 : 14 + ihl]
        if ip[9] != 17:
            continue
        udp = frame[14 + ihl :]
        dport = struct.unpack("!H", udp[2:4])[0]
        if dport != port:
            continue
        last = time.monotonic()
        count += 1
        if csum(ip) != 0:
            bad_ip += 1
        ulen = struct.unpack("!H", udp[4:6])[0]
        if struct.unpack("!H", udp[6:8])[0] != 0:
            pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
            if csum(pseudo + udp[:ulen]) != 0:
                bad_udp += 1
        payloads.append(udp[8:ulen])
    with open(prefix + ".ts", "wb") as f:
        f.write(b"".join(payloads))
    with open(prefix + ".json", "w") as f:
        json.dump(
            {
                "count": count,
                "bad_ip_csum": bad_ip,
                "bad_udp_csum": bad_udp,
                "bytes": sum(len(p) for p in payloads),
            },
            f,
        )


if __name__ == "__main__":
    main()
