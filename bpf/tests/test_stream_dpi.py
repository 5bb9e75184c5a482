# SPDX-License-Identifier: Apache-2.0
"""DPI accuracy through BPF_PROG_TEST_RUN on real ffmpeg output, against ffprobe.

Each clip is cut into 7-TS-packet UDP datagrams, run through the tc entry
program (tail calls included) and the per-TS-packet classes recorded by a test
build are compared with ffprobe's frame types: I -> REFERENCE, P/B ->
DIFFERENTIAL or DISPOSABLE.
"""

from __future__ import annotations

import pytest

import stream_fixtures as fx
import streamlib
from edgerep_loader.stream_kernel import StreamKernel
from edgerep_loader.testrun import test_run as prog_test_run

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")

LO_IFINDEX = 1  # BPF_PROG_TEST_RUN's skb arrives on the loopback device
PORT = 5004
TC_ACT_SHOT = 2
NON_REF = (fx.DIFFERENTIAL, fx.DISPOSABLE)


@pytest.fixture(scope="module")
def kernel():
    streamlib.remove_leftovers()
    pin = streamlib.new_pin_dir()
    try:
        k = StreamKernel(pin, trace_classes=True, xdp=False)
        yield k
        k.bpf.cleanup()
    finally:
        streamlib.remove_pin_dir(pin)


def classify_clip(kernel: StreamKernel, name: str, slot: int):
    """(truth, per-TS-packet classes) of one clip through the program."""
    truth = fx.ground_truth(fx.clip(name))
    kernel.write_stream(slot, 100 + slot, LO_IFINDEX, PORT, 2, [])
    got: list[int] = []
    try:
        for payload in fx.datagrams(truth.data):
            frame = fx.ipv4_udp_frame(payload, dport=PORT)
            res = prog_test_run(kernel.tc_fn.fd, frame)
            assert res.retval == TC_ACT_SHOT, "a matched stream is consumed by the fan-out"
            classes = kernel.last_classes()
            assert len(classes) == len(payload) // fx.TS
            got.extend(classes)
    finally:
        kernel.clear_stream(slot, LO_IFINDEX, PORT)
    return truth, got


def accuracy(truth, got):
    video = [(t, g) for t, g in zip(truth.labels, got) if t is not None]
    right = sum(1 for t, g in video if (g == fx.REFERENCE if t == fx.REFERENCE else g in NON_REF))
    refs = [(t, g) for t, g in video if t == fx.REFERENCE]
    ref_ok = sum(1 for _, g in refs if g == fx.REFERENCE)
    return right / len(video), ref_ok / len(refs), len(video), len(refs)


@pytest.mark.parametrize("name", list(fx.CLIPS))
def test_stream_dpi_matches_ffprobe(kernel, name):
    truth, got = classify_clip(kernel, name, slot=1)
    acc, ref_acc, n, nref = accuracy(truth, got)
    print(f"{name}: {n} video TS packets, accuracy {acc:.5f}; {nref} reference, recognised {ref_acc:.5f}")
    assert acc >= 0.999, f"{name}: accuracy {acc:.5f} over {n} video packets"
    assert ref_acc >= 0.999, f"{name}: reference recall {ref_acc:.5f} over {nref}"
    # PAT/PMT/stuffing are never video
    non_video = [g for t, g, p in zip(truth.labels, got, truth.pict) if t is None]
    assert all(g in (fx.NON_VIDEO, fx.UNKNOWN) for g in non_video)


@pytest.mark.parametrize("name", ["h264", "h264_2video_audio"])
def test_stream_counters_agree_with_the_classes_of_every_packet(kernel, name):
    """The per-class TS packet counters add up what each packet was classed as, on the fast path (which counts
    a run of packets of one PID at once) as on the full step — with interleaved PIDs (two videos, audio) too.
    """
    truth = fx.ground_truth(fx.clip(name))
    slot = 2
    kernel.write_stream(slot, 100 + slot, LO_IFINDEX, PORT, 2, [])
    traced = [0] * 8
    packets = 0
    try:
        for payload in fx.datagrams(truth.data):
            prog_test_run(kernel.tc_fn.fd, fx.ipv4_udp_frame(payload, dport=PORT))
            for c in kernel.last_classes():
                traced[c] += 1
            packets += len(payload) // fx.TS
        counters = kernel.stream_counters(slot)
    finally:
        kernel.clear_stream(slot, LO_IFINDEX, PORT)
    assert counters["ts_packets"] == packets
    assert counters["ts_by_class"] == traced[: len(counters["ts_by_class"])]
    assert sum(traced[len(counters["ts_by_class"]) :]) == 0
    assert counters["ts_by_class"][fx.REFERENCE] > 0 and counters["ts_by_class"][fx.NON_VIDEO] > 0
