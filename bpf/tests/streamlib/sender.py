# SPDX-License-Identifier: Apache-2.0
"""Sensor side of the netns tests: send a TS file as 7-TS-packet UDP datagrams, paced.

Run inside the sender namespace:
``python3 sender.py IFNAME SRC_IP DST_IP DST_MAC PORT FILE PPS [REPEAT]``.
Frames are built whole (AF_PACKET) with correct IPv4 and UDP checksums, so what
the replicator rewrites can be checked bit for bit. Prints the datagrams sent.
"""

from __future__ import annotations

import socket
import struct
import sys
import time

TS_DGRAM = 7 * 188


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(
    src_mac: bytes, dst_mac: bytes, src: bytes, dst: bytes, port: int, payload: bytes, ident: int
) -> bytes:
    ulen = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, ulen)
    uc = csum(pseudo + struct.pack("!HHHH", 40000, port, ulen, 0) + payload) or 0xFFFF
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident & 0xFFFF, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + struct.pack("!HHHH", 40000, port, ulen, uc) + payload


def main() -> None:
    ifname, src_ip, dst_ip, dst_mac, port, path, pps = sys.argv[1:8]
    repeat = int(sys.argv[8]) if len(sys.argv) > 8 else 1
    port, pps = int(port), float(pps)
    with open(path, "rb") as f:
        data = f.read()
    data = data[: len(data) - len(data) % 188]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src_mac = s.getsockname()[4]
    dmac = bytes(int(x, 16) for x in dst_mac.split(":"))
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    frames = [
        frame(src_mac, dmac, src, dst, port, data[i : i + TS_DGRAM], i // TS_DGRAM)
        for i in range(0, len(data), TS_DGRAM)
    ]
    sent = 0
    start = time.monotonic()
    for _ in range(repeat):
        for fr in frames:
            due = start + sent / pps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            s.send(fr)
            sent += 1
    print(sent, flush=True)


if __name__ == "__main__":
    main()
