# SPDX-License-Identifier: Apache-2.0
"""The sensor's DPI against ffprobe on real encoder output, and on broken input, as the edge's is tested."""

from __future__ import annotations

import pytest

import stream_fixtures as fx
from edgerep_sensor import ts

NON_REF = (ts.CLASS_DIFFERENTIAL, ts.CLASS_DISPOSABLE)


def test_the_class_numbers_are_the_protos():
    assert (
        ts.CLASS_UNKNOWN,
        ts.CLASS_REFERENCE,
        ts.CLASS_DIFFERENTIAL,
        ts.CLASS_DISPOSABLE,
        ts.CLASS_NON_VIDEO,
    ) == (
        fx.UNKNOWN,
        fx.REFERENCE,
        fx.DIFFERENTIAL,
        fx.DISPOSABLE,
        fx.NON_VIDEO,
    )


@pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")
@pytest.mark.parametrize("name", list(fx.CLIPS))
def test_sensor_dpi_matches_ffprobe(name):
    truth = fx.ground_truth(fx.clip(name))
    c = ts.Classifier()
    got: list[int] = []
    datagram_classes = []
    for payload in fx.datagrams(truth.data):
        cls, packets = c.classify_packets(payload)
        assert len(packets) == len(payload) // fx.TS
        got.extend(packets)
        datagram_classes.append((cls, packets))
    video = [(t, g) for t, g in zip(truth.labels, got) if t is not None]
    right = sum(1 for t, g in video if (g == ts.CLASS_REFERENCE if t == fx.REFERENCE else g in NON_REF))
    refs = [g for t, g in video if t == fx.REFERENCE]
    recall = sum(1 for g in refs if g == ts.CLASS_REFERENCE) / len(refs)
    print(
        f"{name}: {len(video)} video TS packets, accuracy {right / len(video):.5f}, reference recall {recall:.5f}"
    )
    # the edge's bar (test_stream_dpi)
    assert right / len(video) >= 0.999
    assert recall >= 0.999
    assert all(g in (ts.CLASS_NON_VIDEO, ts.CLASS_UNKNOWN) for t, g in zip(truth.labels, got) if t is None)
    # a datagram carrying a reference packet is a reference datagram (it ranks highest)
    for cls, packets in datagram_classes:
        if ts.CLASS_REFERENCE in packets:
            assert cls == ts.CLASS_REFERENCE


def ts_packet(pid: int, payload: bytes, pusi: bool = False) -> bytes:
    head = bytes([0x47, (0x40 if pusi else 0) | (pid >> 8), pid & 0xFF, 0x10])
    return head + payload.ljust(184, b"\xff")[:184]


def pes_start(nal: bytes) -> bytes:
    """A video PES header (no optional fields) followed by an Annex B NAL unit."""
    return b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + b"\x00\x00\x00\x01" + nal


def test_h264_classes_from_the_nal_header_without_a_pmt():
    c = ts.Classifier()
    aud = b"\x00\x00\x00\x01\x09\xf0"
    # access unit delimiter (codec learned), then an IDR slice
    idr = ts_packet(0x100, b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + aud + b"\x00\x00\x01\x65\x88", pusi=True)
    assert c.classify(idr) == ts.CLASS_REFERENCE
    assert c.classify(ts_packet(0x100, b"\x00" * 184)) == ts.CLASS_REFERENCE, "a continuation inherits"
    # non-IDR slice, nal_ref_idc 2, slice_type P (first_mb 0 -> '1', slice_type 0 -> '1')
    p = ts_packet(0x100, b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + aud + b"\x00\x00\x01\x41\xc0", pusi=True)
    assert c.classify(p) == ts.CLASS_DIFFERENTIAL
    # nal_ref_idc 0: disposable (a non-reference B frame)
    b = ts_packet(0x100, b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + aud + b"\x00\x00\x01\x01\xc0", pusi=True)
    assert c.classify(b) == ts.CLASS_DISPOSABLE
    # a datagram with the B frame's continuation and a new IDR start ranks reference
    assert c.classify(ts_packet(0x100, b"\x00" * 184) + idr) == ts.CLASS_REFERENCE


def test_a_start_code_split_across_packets_is_found():
    c = ts.Classifier()
    aud = b"\x00\x00\x00\x01\x09\xf0"
    head = b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + aud
    # the IDR's start code ends the first packet exactly: its NAL header is the next packet's first byte
    first = ts_packet(0x100, head + b"\xaa" * (184 - len(head) - 3) + b"\x00\x00\x01", pusi=True)
    assert c.classify(first) == ts.CLASS_UNKNOWN
    assert c.classify(ts_packet(0x100, b"\x65\x88" + b"\x00" * 182)) == ts.CLASS_REFERENCE


def test_broken_input_is_unknown_never_an_error():
    c = ts.Classifier()
    assert c.classify(b"") == ts.CLASS_UNKNOWN
    assert c.classify(b"\x47" * 100) == ts.CLASS_UNKNOWN, "not a whole TS packet"
    assert c.classify(b"\x00" * 188) == ts.CLASS_UNKNOWN, "no sync byte"
    assert c.classify(bytes([0x47, 0x01, 0x00, 0x30, 200]) + b"\x00" * 183) == ts.CLASS_UNKNOWN, "af too long"
    assert c.classify(ts_packet(0x1FFF, b"")) == ts.CLASS_NON_VIDEO, "stuffing"
    assert c.classify(ts_packet(0x333, b"\x00" * 184)) == ts.CLASS_UNKNOWN, "mid-PES on a PID not learned"
    assert c.classify(ts_packet(0x1FFF, b"") * 8) == ts.CLASS_UNKNOWN, "more than 7 TS packets is malformed"
    for n in range(1, 400, 7):
        c.classify(bytes((i * 31 + n) & 0xFF for i in range(n * 3)))  # never raises


def test_ue_read_decodes_exp_golomb():
    # '1' -> 0, '010' -> 1, '011' -> 2, '00100' -> 3
    bits = int("1" "010" "011" "00100", 2) << (64 - 12)
    pos, values = 0, []
    for _ in range(4):
        v, pos = ts.ue_read(bits, pos)
        values.append(v)
    assert values == [0, 1, 2, 3]
    assert ts.ue_read(0, 0)[0] == 0xFFFFFFFF, "a prefix longer than UE_MAX_ZEROS"
