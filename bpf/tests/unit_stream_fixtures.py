# SPDX-License-Identifier: Apache-2.0
"""Pure tests of the fixture helpers the kernel tests rely on."""

from __future__ import annotations

import struct

import stream_fixtures as fx


def test_stream_frame_checksums_are_valid():
    payload = bytes(range(256)) * 5 + b"\x47" * 36
    frame = fx.ipv4_udp_frame(payload, dport=5004)
    ip = frame[14:34]
    assert fx.inet_checksum(ip) == 0
    udp = frame[34:]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    assert fx.inet_checksum(pseudo + udp) == 0
    assert struct.unpack("!H", udp[2:4])[0] == 5004


def test_stream_datagrams_are_whole_ts_packets():
    data = bytes(188 * 20)
    parts = fx.datagrams(data)
    assert [len(p) for p in parts] == [1316, 1316, 6 * 188]
