# SPDX-License-Identifier: Apache-2.0
"""edgerep-sensor's DPI (sensor/edgerep_sensor/ts.py) gives every TS packet the class the kernel gives it.

Both classify the same five ffmpeg clips, cut into 7-packet datagrams; the kernel through
BPF_PROG_TEST_RUN with its class trace (as test_stream_dpi), the sensor's port in Python. A
sensor that disagreed with the edge would drop at the source what a consumer should receive.
"""

from __future__ import annotations

import os
import sys

import pytest

import stream_fixtures as fx
from test_stream_dpi import classify_clip, kernel  # noqa: F401 (the fixture)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sensor"))
from edgerep_sensor import ts  # noqa: E402

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")


@pytest.mark.parametrize("name", list(fx.CLIPS))
def test_sensor_dpi_is_the_kernels(kernel, name):  # noqa: F811
    truth, in_kernel = classify_clip(kernel, name, slot=2)
    c = ts.Classifier()
    in_python: list[int] = []
    for payload in fx.datagrams(truth.data):
        in_python.extend(c.classify_packets(payload)[1])
    differ = [i for i, (k, p) in enumerate(zip(in_kernel, in_python)) if k != p]
    print(f"{name}: {len(in_python)} TS packets, {len(differ)} classed differently")
    assert len(in_python) == len(in_kernel)
    assert not differ, f"{name}: TS packets {differ[:10]} kernel {[in_kernel[i] for i in differ[:10]]}"
