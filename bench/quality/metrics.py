# SPDX-License-Identifier: Apache-2.0
"""What a consumer's capture is worth: PSNR and SSIM against the original, and a feature-based detector.

One ffmpeg run per capture decodes the original and the capture side by side, frames matched by
timestamp with the original driving the timeline (a frame the consumer lost is concealed or
repeated by the decoder and counts against it, as it would for a consumer's application), and
writes ffmpeg's own psnr and ssim per-frame statistics.

The detector (``detect=True``) stands in for the paper's object detection: OpenCV ORB keypoints.
The *objects* of a frame are the keypoints of the original frame that are not where they were
``LAG`` frames earlier (testsrc2's moving checkerboard, line, dots and counter; the static colour
bars are no object). A frame counts as **detected** when at least ``DETECT_SHARE`` of its object
keypoints are found in the consumer's decoded frame: a keypoint there within ``RADIUS_PX`` pixels
whose ORB descriptor is the mutual nearest one and within ``MAX_HAMMING`` bits. A frame that was
concealed with an older picture shows its objects where they were and is not detected. Frames whose
original has fewer than ``MIN_OBJECT_KEYPOINTS`` object keypoints are not counted.
"""

from __future__ import annotations

import collections
import math
import re
import subprocess
import tempfile
from pathlib import Path

from edgerep_e2e import media  # the caller puts e2e/ on the path (bench/quality/run does)

LAG = 3
DETECT_SHARE = 0.5
RADIUS_PX = 3.0
MAX_HAMMING = 48
MIN_OBJECT_KEYPOINTS = 20
ORB_FEATURES = 500
PSNR_EXACT = media.PSNR_EXACT


def _size(path: Path) -> tuple[int, int]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height"]
        + ["-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    w, h = out.split()[0].split(",")[:2]
    return int(w), int(h)


def _decodes(path: Path) -> bool:
    """Whether ffmpeg gets at least one video frame out of ``path``."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries"]
        + ["stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
    ).stdout.split()
    return bool(out) and out[0].split(",")[0].isdigit() and int(out[0].split(",")[0]) > 0


def compare(received: Path, original: Path, detect: bool = False) -> dict:
    """PSNR (dB), SSIM and, with ``detect``, the detection rate of ``received`` against ``original``.

    A capture from which no frame decodes at all (every parameter set lost) is what a viewer sees as a black
    screen: it is compared as black frames for the whole clip, and says so (``decoded_nothing``).
    """
    if not _decodes(received):
        w, h = _size(original)
        black = f"color=c=black:s={w}x{h}:r={media.frame_rate(original)}:d={media.duration(original)}"
        return {**_compare(black, original, detect, lavfi=True), "decoded_nothing": True}
    return _compare(str(received), original, detect)


def _compare(received: str, original: Path, detect: bool, lavfi: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="edgerep-quality-") as tmp:
        pstats, sstats = Path(tmp) / "psnr.log", Path(tmp) / "ssim.log"
        n = 3 if detect else 2
        graph = (
            f"[0:v]split={n}[o0][o1]{'[o2]' if detect else ''};[1:v]split={n}[r0][r1]{'[r2]' if detect else ''};"
            f"[o0][r0]psnr=stats_file={pstats}[p];[p]nullsink;"
            f"[o1][r1]ssim=stats_file={sstats}[s]"
        )
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(original),
            *(["-f", "lavfi"] if lavfi else []),
            "-i",
            received,
        ]
        if detect:
            graph += ";[s]nullsink;[o2][r2]hstack=inputs=2,format=gray[v]"
            cmd += ["-filter_complex", graph, "-map", "[v]", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:"]
        else:
            cmd += ["-filter_complex", graph, "-map", "[s]", "-f", "null", "-"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        det = _detect(proc.stdout, *_size(original)) if detect else None
        _, err = proc.communicate(timeout=1800)
        if not pstats.exists() or not sstats.exists():
            raise RuntimeError(
                f"no PSNR/SSIM from ffmpeg for {received}: {err.decode(errors='replace')[-1500:]}"
            )
        mse = [float(v) for v in re.findall(r"mse_avg:([0-9.]+)", pstats.read_text())]
        ssim = [float(v) for v in re.findall(r"All:([0-9.]+)", sstats.read_text())]
        if proc.returncode != 0 or not mse or len(mse) != len(ssim):
            raise RuntimeError(
                f"ffmpeg compared {len(mse)} frames (PSNR) and {len(ssim)} (SSIM) of {received}, exit "
                f"{proc.returncode}: {err.decode(errors='replace')[-1500:]}"
            )
    out = {
        "frames_compared": len(mse),
        "psnr_db": media.psnr_of(mse),
        "ssim": sum(ssim) / len(ssim) if ssim else 0.0,
    }
    if det is not None:
        out.update(det)
    return out


def _detect(pipe, width: int, height: int) -> dict:
    """Reads side-by-side gray frames (original | received) from ``pipe`` and applies the detector."""
    import cv2  # noqa: PLC0415  (python3-opencv: only the detector needs it)
    import numpy as np  # noqa: PLC0415

    orb = cv2.ORB_create(ORB_FEATURES)
    bf = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    frame_bytes = 2 * width * height
    history: collections.deque = collections.deque(maxlen=LAG)
    counted = detected = 0
    shares = []

    def found(kp_a, des_a, kp_b, des_b) -> list[bool]:
        """For each keypoint of a: is it in b, at the same place with a matching descriptor?"""
        hit = [False] * len(kp_a)
        if des_a is None or des_b is None:
            return hit
        for m in bf.match(des_a, des_b):
            pa, pb = kp_a[m.queryIdx].pt, kp_b[m.trainIdx].pt
            if m.distance <= MAX_HAMMING and math.dist(pa, pb) <= RADIUS_PX:
                hit[m.queryIdx] = True
        return hit

    while True:
        buf = pipe.read(frame_bytes)
        if len(buf) < frame_bytes:
            break
        both = np.frombuffer(buf, np.uint8).reshape(height, 2 * width)
        orig, recv = both[:, :width], both[:, width:]
        kp_o, des_o = orb.detectAndCompute(orig, None)
        if len(history) == LAG:
            kp_p, des_p = history[0]
            still = found(kp_o, des_o, kp_p, des_p)
            objects = [i for i, s in enumerate(still) if not s]
            if len(objects) >= MIN_OBJECT_KEYPOINTS:
                kp_r, des_r = orb.detectAndCompute(recv, None)
                sel_kp = [kp_o[i] for i in objects]
                sel_des = des_o[objects]
                share = sum(found(sel_kp, sel_des, kp_r, des_r)) / len(objects)
                shares.append(share)
                counted += 1
                detected += share >= DETECT_SHARE
        history.append((kp_o, des_o))
    return {
        "detection_rate": detected / counted if counted else None,
        "frames_detected": detected,
        "frames_counted": counted,
        "mean_object_share": sum(shares) / len(shares) if shares else None,
    }


def self_check(original: Path) -> dict:
    """The detector on the original against itself: every counted frame must be detected."""
    return compare(original, original, detect=True)
