# SPDX-License-Identifier: Apache-2.0
"""bench/quality/metrics.py on real ffmpeg output: what a consumer's capture is worth against the original.

Captures are made the way consumers get them: the clip's 1316-byte datagrams with some left out, or none
decodable at all. The detector's tests need OpenCV (``scripts/setup bench`` installs python3-opencv) and are
skipped without it; ``make bench`` runs them before any benchmark.
"""

from pathlib import Path

import pytest

import metrics
from edgerep_e2e import media

pytestmark = pytest.mark.skipif(not media.stream_fixtures.have_ffmpeg(), reason="needs ffmpeg and ffprobe")


@pytest.fixture(scope="module")
def original() -> Path:
    # testsrc2 moves everywhere but the colour bars: the detector has objects in every frame
    return media.clip("h264", seconds=3, size="640x360", bitrate="2M", gop=30, bframes=3)


def capture(tmp_path: Path, original: Path, keep) -> Path:
    """The clip with only the datagrams ``keep(index)`` lets through, as a consumer's sink writes it."""
    out = tmp_path / "capture.ts"
    out.write_bytes(b"".join(d for i, d in enumerate(media.datagrams(original)) if keep(i)))
    return out


def test_the_original_against_itself_is_exact(original):
    got = metrics.compare(original, original)
    assert got["frames_compared"] == media.decodable_frames(original) == 90
    assert got["psnr_db"] == metrics.PSNR_EXACT
    assert got["ssim"] == pytest.approx(1.0)
    assert "decoded_nothing" not in got


def test_lost_datagrams_cost_quality_and_the_original_drives_the_timeline(tmp_path, original):
    count = len(media.datagrams(original))
    # every 10th datagram after the first second: frames are damaged, none is missing from the comparison
    got = metrics.compare(capture(tmp_path, original, lambda i: i < count // 3 or i % 10), original)
    assert got["frames_compared"] == 90
    assert 10.0 < got["psnr_db"] < 40.0
    assert 0.3 < got["ssim"] < 0.99
    # five datagrams of the last frames against a third of everything after the first second: the
    # metric orders captures as a viewer would
    light = metrics.compare(capture(tmp_path, original, lambda i: not count - 10 <= i < count - 5), original)
    heavy = metrics.compare(capture(tmp_path, original, lambda i: i < count // 3 or i % 3), original)
    assert heavy["psnr_db"] + 6.0 < light["psnr_db"]
    assert heavy["ssim"] < light["ssim"] < 1.0


def test_a_capture_that_decodes_to_nothing_counts_as_black_for_the_whole_clip(tmp_path, original):
    # no datagram with the PAT/PMT or a key frame: ffmpeg gets no picture out of it
    empty = tmp_path / "nothing.ts"
    empty.write_bytes(b"\xff" * (188 * 70))
    got = metrics.compare(empty, original)
    assert got["decoded_nothing"] is True
    assert got["frames_compared"] == 90
    black = got["psnr_db"]
    assert black < 15.0
    # any decodable capture, however damaged, is worth more than a black screen
    count = len(media.datagrams(original))
    damaged = metrics.compare(capture(tmp_path, original, lambda i: i < count // 3 or i % 2), original)
    assert damaged["psnr_db"] > black


def test_the_detector_finds_the_original_in_itself_and_misses_a_frozen_picture(tmp_path, original):
    pytest.importorskip("cv2")
    own = metrics.self_check(original)
    assert own["frames_counted"] > 60
    assert own["detection_rate"] == 1.0
    # only the first second arrives: the decoder holds its last picture, every later object is elsewhere
    count = len(media.datagrams(original))
    frozen = metrics.compare(capture(tmp_path, original, lambda i: i < count // 3), original, detect=True)
    assert frozen["frames_counted"] == own["frames_counted"]
    assert frozen["detection_rate"] < 0.5
    assert frozen["mean_object_share"] < own["mean_object_share"]
