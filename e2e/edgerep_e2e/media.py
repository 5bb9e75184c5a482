# SPDX-License-Identifier: Apache-2.0
"""Real video for the stream scenarios: clips from ffmpeg, a paced sender, decoding and PSNR."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Clips are encoded (and cached across runs, keyed by the ffmpeg command) by the bpf stream tests'
# fixtures: one encoder for the whole repository. bpf/tests is no package; reach it as bench/ does.
BPF_TESTS = str(Path(__file__).resolve().parents[2] / "bpf" / "tests")
if BPF_TESTS not in sys.path:
    sys.path.append(BPF_TESTS)
import stream_fixtures  # noqa: E402

#: 7 TS packets per datagram, as IP cameras and ffmpeg's udp output send them.
DATAGRAM = 7 * 188


def clip(
    codec: str = "h264",
    seconds: int = 10,
    size: str = "1280x720",
    rate: int = 30,
    bitrate: str = "16M",
    gop: int = 48,
    bframes: int = 3,
) -> Path:
    """An MPEG-TS clip of ffmpeg's testsrc2 with B-frames, encoded once and cached."""
    if codec == "h264":
        # constant bitrate with HRD filler: a camera's stream runs at its configured rate however
        # easy the picture is to compress (testsrc2 would otherwise undershoot by a third)
        enc = [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            str(gop),
            "-bf",
            str(bframes),
            "-x264-params",
            "nal-hrd=cbr",
            "-minrate",
            bitrate,
        ]
    elif codec == "h265":
        enc = [
            "-c:v",
            "libx265",
            "-preset",
            "veryfast",
            "-x265-params",
            f"keyint={gop}:bframes={bframes}:log-level=error",
        ]
    else:
        raise ValueError(f"unknown codec {codec}")
    args = [*enc, "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate, "-pix_fmt", "yuv420p"]
    return Path(stream_fixtures.encode(codec, args, seconds, size, rate))


def duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def frame_rate(path: Path) -> float:
    """Frames per second of the clip's video stream."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=avg_frame_rate"]
        + ["-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    num, _, den = next(line for line in out if "/" in line).partition("/")
    return float(num) / float(den or 1)


def datagrams_per_second(path: Path) -> float:
    """Packet rate of the clip when sent in real time as 1316-byte datagrams."""
    return path.stat().st_size / DATAGRAM / duration(path)


def sender_command(path: Path, ip: str, port: int, loops: int = 1) -> list[str]:
    """The sensor sending the clip in real time, paced, as UDP datagrams of 7 TS packets (see sensor.py)."""
    rate = path.stat().st_size * 8 / duration(path)
    return [
        "/usr/bin/python3",
        str(Path(__file__).with_name("sensor.py")),
        str(path),
        ip,
        str(port),
        "--rate",
        f"{rate:.0f}",
        "--loops",
        str(loops),
    ]


def psnr(received: Path, original: Path) -> float:
    """Average PSNR (dB) of the received stream decoded against the original, frames matched by timestamp.

    Frames the receiver could not decode are concealed or repeated by the
    decoder and count against it, as they would for a consumer.
    """
    result = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-i",
            str(received),
            "-i",
            str(original),
            "-lavfi",
            "[0:v][1:v]psnr",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    match = re.search(r"PSNR .* average:([0-9.]+|inf)", result.stderr)
    if not match:
        raise RuntimeError(f"no PSNR from ffmpeg for {received}: {result.stderr[-1500:]}")
    return float("inf") if match.group(1) == "inf" else float(match.group(1))


#: PSNR shown for a stream identical to the original (ffmpeg reports inf).
PSNR_EXACT = 99.0


def frame_errors(received: Path, original: Path, *, growing: bool = False, nice: bool = False) -> list[float]:
    """Mean squared error of the received stream at every frame of the original.

    Frames are matched by timestamp; a frame the receiver lost is concealed or repeated and
    counts against it. With ``growing`` (a capture still being written) the series
    ends with the last frame received instead of repeating it to the original's length.
    ``nice`` runs ffmpeg at the lowest CPU priority, for measurements taken while the system
    under test runs.
    """
    with tempfile.TemporaryDirectory(prefix="edgerep-psnr-") as tmp:
        stats = Path(tmp) / "psnr.log"
        result = subprocess.run(
            (["nice", "-n", "19"] if nice else [])
            # the original drives the timeline: one value per original frame, the received
            # stream's last frame standing in for each one it lacks
            + ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(original), "-i", str(received)]
            + ["-lavfi", f"[0:v][1:v]psnr=stats_file={stats}" + (":shortest=1" if growing else "")]
            + ["-f", "null", "-"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if not stats.exists():
            raise RuntimeError(f"no PSNR from ffmpeg for {received}: {result.stderr[-1500:]}")
        return [float(v) for v in re.findall(r"mse_avg:([0-9.]+)", stats.read_text())]


def psnr_of(errors: list[float]) -> float:
    """PSNR (dB) of 8-bit frames with these mean squared errors, as ffmpeg averages it; PSNR_EXACT if none."""
    mean = sum(errors) / len(errors) if errors else 0.0
    return PSNR_EXACT if mean <= 0 else min(10 * math.log10(255 * 255 / mean), PSNR_EXACT)


def frames_command(path) -> list[str]:
    """ffprobe decoding a (possibly lossy) capture and counting its video frames; ``parse_frames`` reads
    its output. Separate so it can run where the capture is (in a consumer's pod)."""
    return [
        "ffprobe",
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-count_frames",
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "json",
        str(path),
    ]


def parse_frames(out: str) -> int:
    """The frame count in frames_command's output; 0 when nothing decoded."""
    try:
        return int(json.loads(out)["streams"][0]["nb_read_frames"])
    except (KeyError, IndexError, ValueError, json.JSONDecodeError):
        return 0


def decodable_frames(path: Path) -> int:
    """Number of video frames ffmpeg decodes from a (possibly lossy) capture."""
    return parse_frames(subprocess.run(frames_command(path), capture_output=True, text=True).stdout)


def reference_datagrams(path: Path) -> list[bool]:
    """For each 1316-byte datagram of the clip as sent: does it carry key-frame (reference) data?

    Ground truth from ffprobe: every video packet's byte position and key flag;
    a TS packet belongs to the frame whose [pos, next pos) range holds it.
    """
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pos,flags",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    packets = sorted(
        (int(p["pos"]), "K" in p.get("flags", ""))
        for p in json.loads(out)["packets"]
        if p.get("pos") not in (None, "N/A")
    )
    size = path.stat().st_size
    key_ts = bytearray(size // 188 + 1)
    for i, (pos, key) in enumerate(packets):
        end = packets[i + 1][0] if i + 1 < len(packets) else size
        if key:
            for ts in range(pos // 188, min(end // 188, len(key_ts))):
                key_ts[ts] = 1
    count = (size + DATAGRAM - 1) // DATAGRAM
    return [any(key_ts[d * 7 : d * 7 + 7]) for d in range(count)]


def datagrams(path: Path) -> list[bytes]:
    """The datagrams of a clip as the sensor sends it: its bytes cut every 1316."""
    data = path.read_bytes()
    return [data[i : i + DATAGRAM] for i in range(0, len(data), DATAGRAM)]


def received_datagrams(path: Path) -> list[bytes]:
    """The datagrams a udp_sink kept in ``path``, told apart by its ``.sizes`` file."""
    data = path.read_bytes()
    sizes = Path(str(path) + ".sizes").read_bytes()
    out, at = [], 0
    for i in range(0, len(sizes) - 1, 2):
        n = int.from_bytes(sizes[i : i + 2], "little")
        out.append(data[at : at + n])
        at += n
    if at != len(data):
        raise AssertionError(f"{path}: the sizes file accounts for {at} of {len(data)} bytes")
    return out


def lost_datagrams(sent: list[bytes], received: list[bytes]) -> list[int]:
    """Indexes of the sent datagrams a receiver did not get.

    A copy is dropped or delivered, never reordered on one path, so what was
    received is a subsequence of what was sent; identical datagrams (CBR
    filler) make a lookup by content ambiguous, an in-order match does not.
    Raises when something arrived that was never sent (corruption).
    """
    lost: list[int] = []
    i = 0
    for n, datagram in enumerate(received):
        start = i
        while i < len(sent) and sent[i] != datagram:
            i += 1
        if i == len(sent):
            raise AssertionError(f"received datagram {n} matches nothing sent after datagram {start}")
        lost.extend(range(start, i))
        i += 1
    lost.extend(range(i, len(sent)))
    return lost


def lost_before_stop(sent: list[bytes], received: list[bytes]) -> tuple[list[int], int]:
    """Lost datagrams of a stream whose sender was stopped, and how many it had sent by then as far as can be told.

    What the receiver never got after its last datagram is the tail the stopped
    sender never sent (or that was still on its way when the receiver stopped):
    it is not counted as lost.
    """
    lost = lost_datagrams(sent, received)
    end = len(sent)
    while lost and lost[-1] == end - 1:
        lost.pop()
        end -= 1
    return lost, end
