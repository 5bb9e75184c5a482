# SPDX-License-Identifier: Apache-2.0
"""Real-encoder fixtures for the stream tests: ffmpeg MPEG-TS clips, ffprobe ground truth, frames.

Clips are generated at test time into a cache under /tmp keyed by the ffmpeg
command, never committed. Ground truth: ffprobe gives each video frame's
pict_type and the byte offset of its first TS packet (pkt_pos); every TS packet
of that PID up to the next frame's start belongs to that frame.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import struct
import subprocess
from dataclasses import dataclass

CACHE_DIR = os.environ.get("EDGEREP_FIXTURES", "/tmp/edgerep-fixtures")
TS = 188
TS_PER_DGRAM = 7

# FrameClass numbers (common.proto)
UNKNOWN, REFERENCE, DIFFERENTIAL, DISPOSABLE, NON_VIDEO = 1, 2, 3, 4, 5

#: name -> ffmpeg arguments after the input (output format and file are appended).
CLIPS = {
    "h264": ["-c:v", "libx264", "-preset", "veryfast", "-g", "48", "-bf", "3", "-b:v", "2M"],
    "h264_g12_pid": [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "12",
        "-bf",
        "2",
        "-b:v",
        "1M",
        "-mpegts_start_pid",
        "0x321",
    ],
    "h265": [
        "-c:v",
        "libx265",
        "-preset",
        "veryfast",
        "-x265-params",
        "keyint=50:bframes=4:log-level=error",
        "-b:v",
        "2M",
    ],
    "h265_g24": [
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "keyint=24:bframes=2:log-level=error",
        "-b:v",
        "1M",
    ],
    # two video PIDs (different GOPs) and an audio PID in one transport stream
    "h264_2video_audio": [
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-map",
        "0:v",
        "-map",
        "1:v",
        "-map",
        "2:a",
        "-c:v:0",
        "libx264",
        "-g:v:0",
        "30",
        "-bf:v:0",
        "2",
        "-c:v:1",
        "libx264",
        "-g:v:1",
        "17",
        "-bf:v:1",
        "0",
        "-preset",
        "veryfast",
        "-c:a",
        "mp2",
        "-shortest",
    ],
}


def have_ffmpeg() -> bool:
    """True when ffmpeg and ffprobe are installed."""
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


def clip(name: str, seconds: int = 8, size: str = "640x360", rate: int = 30) -> str:
    """Path of the cached MPEG-TS clip ``name`` (generated on first use)."""
    return encode(name, CLIPS[name], seconds, size, rate)


def encode(tag: str, args: list[str], seconds: int, size: str, rate: int) -> str:
    """Path of ffmpeg's testsrc2 (``seconds`` of ``size`` at ``rate`` fps) encoded with ``args`` to MPEG-TS.

    Made on first use and cached in CACHE_DIR as ``<tag>-<key>.ts``, keyed by the whole ffmpeg command;
    the one encoder of the repository's clips (the e2e harness and bench/ use it too).
    """
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-t",
        str(seconds),
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}",
        "-t",
        str(seconds),
        *args,
        "-f",
        "mpegts",
    ]
    key = hashlib.sha256(" ".join(cmd).encode()).hexdigest()[:16]
    os.makedirs(CACHE_DIR, exist_ok=True)
    path = os.path.join(CACHE_DIR, f"{tag}-{key}.ts")
    if not os.path.exists(path):
        tmp = path + ".part"
        subprocess.run(cmd + [tmp], check=True, timeout=600)
        os.replace(tmp, path)
    return path


@dataclass
class Truth:
    """Ground truth of one clip."""

    data: bytes  # the whole TS file
    video_pids: set[int]  # PIDs of the video streams
    labels: list[int | None]  # per TS packet: REFERENCE / DIFFERENTIAL (P,B) or None (not video)
    pict: list[str | None]  # per TS packet: ffprobe pict_type of its frame


def ground_truth(path: str) -> Truth:
    """Label every TS packet of the clip with its frame's type as ffprobe reports it."""
    with open(path, "rb") as f:
        data = f.read()
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=index,id,codec_type", "-of", "csv=p=0", path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    streams = []
    for line in out.split():
        idx, typ, pid = line.split(",")[:3] if line.count(",") >= 2 else (None, None, None)
        if idx is None:
            continue
        # csv order follows -show_entries order as ffprobe prints it: index,codec_type,id
        streams.append((int(idx), typ, int(pid, 16)))
    frame_at: dict[int, str] = {}
    video_pids = set()
    for idx, typ, pid in streams:
        if typ != "video":
            continue
        video_pids.add(pid)
        fr = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-select_streams",
                str(idx),
                "-show_entries",
                "frame=pkt_pos,pict_type",
                "-of",
                "csv=p=0",
                path,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for line in fr.splitlines():
            parts = line.strip().split(",")
            if len(parts) < 2 or not parts[0].isdigit():
                continue
            frame_at[int(parts[0])] = parts[1]
    labels: list[int | None] = []
    pict: list[str | None] = []
    current: dict[int, str | None] = {}
    for off in range(0, len(data) - TS + 1, TS):
        pid = ((data[off + 1] & 0x1F) << 8) | data[off + 2]
        if pid not in video_pids:
            labels.append(None)
            pict.append(None)
            continue
        if off in frame_at:
            current[pid] = frame_at[off]
        t = current.get(pid)
        pict.append(t)
        labels.append(None if t is None else (REFERENCE if t == "I" else DIFFERENTIAL))
    return Truth(data, video_pids, labels, pict)


def ipv4_udp_frame(
    payload: bytes,
    src_ip: str = "10.99.0.1",
    dst_ip: str = "10.99.0.2",
    sport: int = 40000,
    dport: int = 5004,
    dst_mac: bytes = b"\x02" * 6,
    src_mac: bytes = b"\x04" * 6,
    udp_csum: bool = True,
) -> bytes:
    """An Ethernet/IPv4/UDP frame with correct checksums around ``payload``."""
    udp_len = 8 + len(payload)
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    csum = 0
    if udp_csum:
        pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
        csum = inet_checksum(pseudo + struct.pack("!HHHH", sport, dport, udp_len, 0) + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, csum)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", inet_checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp + payload


def inet_checksum(data: bytes) -> int:
    """RFC 1071 checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def datagrams(data: bytes, per: int = TS_PER_DGRAM) -> list[bytes]:
    """The TS file cut into UDP payloads of ``per`` packets (the last one may be shorter)."""
    step = per * TS
    return [data[i : i + step] for i in range(0, len(data) - len(data) % TS, step)]
