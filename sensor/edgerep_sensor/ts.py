# SPDX-License-Identifier: Apache-2.0
"""The edge's DPI in Python: MPEG-TS / PES / H.264 / H.265 frame class of each datagram.

A line-by-line port of bpf/progs/ts.h and the datagram step of bpf/progs/stream_common.c
(same names, same bounds), so a sensor classifies every datagram as the edge does: the
class of a datagram is the highest-ranked class among its TS packets, and the class of a
PES (one access unit) is kept per PID until the next PES start. ``unit_sensor_ts`` checks
it against ffprobe on real encoder output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# FrameClass numbers (common.proto, bpf/progs/stream_types.h)
CLASS_UNKNOWN = 1
CLASS_REFERENCE = 2
CLASS_DIFFERENTIAL = 3
CLASS_DISPOSABLE = 4
CLASS_NON_VIDEO = 5
#: ts_packet's answer when the NAL scan must still run (never a datagram's class)
CLASS_SCAN_PENDING = 0xFF

TS_PACKET_SIZE = 188
TS_SYNC_BYTE = 0x47
TS_HEADER_SIZE = 4
TS_PER_DGRAM_MAX = 7
TS_PAYLOAD_MAX = 184
TS_PID_PAT = 0x0000
TS_PID_NULL = 0x1FFF
TS_AF_RAI = 0x40
PES_HEADER_FIXED = 9
PES_SID_VIDEO_MIN = 0xE0
PES_SID_VIDEO_MAX = 0xEF
PSI_TABLE_PAT = 0x00
PSI_TABLE_PMT = 0x02
PSI_CRC_SIZE = 4
PAT_PROGRAMS_MAX = 4
PMT_STREAMS_MAX = 8
STREAM_TYPE_H264 = 0x1B
STREAM_TYPE_H265 = 0x24
START_CODE = 0x000001
START_CODE_MASK = 0xFFFFFF
UE_MAX_ZEROS = 15
SLICE_BITS_BYTES = 5
MAX_PIDS = 8

H264_NAL_SLICE = 1
H264_NAL_IDR = 5
H264_NAL_SPS = 7
H264_NAL_PPS = 8
H264_NAL_AUD = 9
H264_SLICE_I = 2
H264_SLICE_SI = 4
H264_SLICE_TYPES = 5
H265_NAL_RASL_R = 9
H265_NAL_RSV_VCL_N14 = 14
H265_NAL_BLA_W_LP = 16
H265_NAL_IRAP_MAX = 23
H265_NAL_VPS = 32
H265_NAL_PPS = 34
H265_NAL_AUD = 35
H265_SLICE_I = 2

# pid_state.kind and .codec (stream_types.h)
PID_FREE, PID_PMT, PID_VIDEO, PID_OTHER = 0, 1, 2, 3
CODEC_UNKNOWN, CODEC_H264, CODEC_H265 = 0, 1, 2

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF


def class_rank(cls: int) -> int:
    """Rank of a class when several TS packets make one datagram's class."""
    return {CLASS_REFERENCE: 5, CLASS_UNKNOWN: 4, CLASS_DIFFERENTIAL: 3, CLASS_DISPOSABLE: 2}.get(cls, 1)


@dataclass
class PidState:
    """What is known of one TS PID (struct pid_state)."""

    pid: int = 0
    kind: int = PID_FREE
    codec: int = CODEC_UNKNOWN
    cls: int = CLASS_UNKNOWN
    pending: int = 0  # 1 = PES started, slice NAL not yet found
    hdr_next: int = 0  # 1 = a start code ended the last packet: its next byte is a NAL header
    saw_param: int = 0
    window: int = _U32  # last bytes of the previous packet of this PES


@dataclass
class StreamState:
    """Per-stream DPI state (struct stream_state): the PIDs learned, at most MAX_PIDS."""

    pids: list[PidState] = field(default_factory=lambda: [PidState() for _ in range(MAX_PIDS)])

    def slot(self, pid: int, alloc: bool) -> PidState | None:
        free = None
        for ps in self.pids:
            if ps.kind != PID_FREE and ps.pid == pid:
                return ps
            if free is None and ps.kind == PID_FREE:
                free = ps
        if not alloc or free is None:
            return None
        free.pid, free.kind, free.codec, free.cls, free.pending = (
            pid,
            PID_OTHER,
            CODEC_UNKNOWN,
            CLASS_UNKNOWN,
            0,
        )
        return free

    def learn(self, pid: int, kind: int, codec: int) -> None:
        ps = self.slot(pid, True)
        if ps is None or (ps.kind == PID_VIDEO and kind != PID_VIDEO):
            return  # a PES already proved it video
        ps.kind = kind
        if codec != CODEC_UNKNOWN:
            ps.codec = codec


class _Bytes:
    """A datagram's bytes read as the scratch buffer is: anything past the end reads 0."""

    __slots__ = ("data", "n")

    def __init__(self, data: bytes):
        self.data = data
        self.n = len(data)

    def __call__(self, off: int) -> int:
        return self.data[off] if off < self.n else 0


def _psi_section(sb: _Bytes, p: int, end: int, table_id: int) -> tuple[int, int] | None:
    if p >= end:
        return None
    t = p + 1 + sb(p)  # pointer_field
    if t + 3 > end or sb(t) != table_id:
        return None
    length = ((sb(t + 1) & 0x0F) << 8) | sb(t + 2)
    if length < PSI_CRC_SIZE:
        return None
    return t, min(t + 3 + length - PSI_CRC_SIZE, end)


def _parse_pat(sb: _Bytes, p: int, end: int, st: StreamState) -> None:
    sec = _psi_section(sb, p, end, PSI_TABLE_PAT)
    if sec is None:
        return
    t, e = sec
    for k in range(PAT_PROGRAMS_MAX):
        q = t + 8 + 4 * k
        if q + 4 > e:
            break
        prog = (sb(q) << 8) | sb(q + 1)
        pid = ((sb(q + 2) & 0x1F) << 8) | sb(q + 3)
        if prog != 0:
            st.learn(pid, PID_PMT, CODEC_UNKNOWN)


def _parse_pmt(sb: _Bytes, p: int, end: int, st: StreamState) -> None:
    sec = _psi_section(sb, p, end, PSI_TABLE_PMT)
    if sec is None:
        return
    t, e = sec
    if t + 12 > e:
        return
    q = t + 12 + (((sb(t + 10) & 0x0F) << 8) | sb(t + 11))
    for _ in range(PMT_STREAMS_MAX):
        if q + 5 > e:
            break
        kind = sb(q)
        pid = ((sb(q + 1) & 0x1F) << 8) | sb(q + 2)
        if kind == STREAM_TYPE_H264:
            st.learn(pid, PID_VIDEO, CODEC_H264)
        elif kind == STREAM_TYPE_H265:
            st.learn(pid, PID_VIDEO, CODEC_H265)
        else:
            st.learn(pid, PID_OTHER, CODEC_UNKNOWN)
        q += 5 + (((sb(q + 3) & 0x0F) << 8) | sb(q + 4))


def ue_read(bits: int, pos: int) -> tuple[int, int]:
    """One unsigned Exp-Golomb value from the 64 bits (MSB first) at pos: (value or 2^32-1, new pos)."""
    rest = (bits << (pos & 63)) & _U64
    lz = seen = 0
    for k in range(UE_MAX_ZEROS):
        seen |= (rest >> (63 - k)) & 1
        lz += seen ^ 1
    if lz >= UE_MAX_ZEROS:
        return _U32, pos
    suffix = (((rest << ((lz + 1) & 63)) & _U64) >> 1) >> ((63 - lz) & 63)
    return (suffix + (1 << lz) - 1) & _U32, pos + 2 * lz + 1


def _bits_at(sb: _Bytes, off: int) -> int:
    v = 0
    for k in range(SLICE_BITS_BYTES):
        v |= sb(off + k) << (56 - 8 * k)
    return v


def _nal_header(sb: _Bytes, h: int, end: int, ps: PidState) -> bool:
    """A NAL unit header at h: updates ps; True when the frame class is final."""
    b0 = sb(h)
    if ps.codec == CODEC_UNKNOWN:
        # learned from a PES stream_id without a PMT: the access unit delimiter tells
        if b0 in (H264_NAL_AUD, 0x10 | H264_NAL_AUD, 0x30 | H264_NAL_AUD):
            ps.codec = CODEC_H264
        elif ((b0 >> 1) & 0x3F) == H265_NAL_AUD and h + 1 < end and sb(h + 1) == 0x01:
            ps.codec = CODEC_H265
        else:
            return False
    if ps.codec == CODEC_H264:
        kind = b0 & 0x1F
        ref_idc = (b0 >> 5) & 3
        if kind == H264_NAL_IDR:
            ps.cls = CLASS_REFERENCE
            return True
        if kind in (H264_NAL_SPS, H264_NAL_PPS):
            ps.saw_param = 1
            ps.cls = CLASS_REFERENCE  # in-band parameter sets lead a key frame
            return False
        if kind != H264_NAL_SLICE:
            return False
        bits = _bits_at(sb, h + 1)
        _, pos = ue_read(bits, 0)  # first_mb_in_slice
        slice_type, _ = ue_read(bits, pos)
        if slice_type != _U32 and slice_type % H264_SLICE_TYPES in (H264_SLICE_I, H264_SLICE_SI):
            ps.cls = CLASS_REFERENCE
            return True
        ps.cls = CLASS_DISPOSABLE if ref_idc == 0 else CLASS_DIFFERENTIAL
        return True
    kind = (b0 >> 1) & 0x3F  # H.265
    if H265_NAL_BLA_W_LP <= kind <= H265_NAL_IRAP_MAX:
        ps.cls = CLASS_REFERENCE
        return True
    if H265_NAL_VPS <= kind <= H265_NAL_PPS:
        ps.saw_param = 1
        ps.cls = CLASS_REFERENCE
        return False
    if kind > H265_NAL_RASL_R:
        return False
    bits = _bits_at(sb, h + 2)
    if bits >> 63:  # first_slice_segment_in_pic_flag
        _, pos = ue_read(bits, 1)  # slice_pic_parameter_set_id
        slice_type, _ = ue_read(bits, pos)
        if slice_type == H265_SLICE_I:
            ps.cls = CLASS_REFERENCE
            return True
    disposable = kind % 2 == 0 and kind <= H265_NAL_RSV_VCL_N14
    ps.cls = CLASS_DISPOSABLE if disposable else CLASS_DIFFERENTIAL
    return True


def _nal_scan(sb: _Bytes, p: int, end: int, ps: PidState) -> None:
    """NAL units in [p, end) until the frame class is final (nal_scan)."""
    w = ps.window
    if ps.hdr_next:
        ps.hdr_next = 0
        w = _U32
        if p < end and _nal_header(sb, p, end, ps):
            ps.pending = 0
            return
    data = sb.data
    q = p
    stop = min(end, p + TS_PAYLOAD_MAX)
    while q < stop:
        w = ((w << 8) | (data[q] if q < sb.n else 0)) & _U32
        if (w & START_CODE_MASK) == START_CODE:
            if q + 1 >= end:
                ps.hdr_next = 1  # the NAL header is the next packet's first byte
                break
            if _nal_header(sb, q + 1, end, ps):
                ps.pending = 0
                break
        q += 1
    ps.window = w


def _ts_packet(sb: _Bytes, base: int, st: StreamState) -> tuple[int, bool]:
    """Class of the TS packet at base (with its NAL scan run) and whether it is broken."""
    end = base + TS_PACKET_SIZE
    if sb(base) != TS_SYNC_BYTE:
        return CLASS_UNKNOWN, True
    b1 = sb(base + 1)
    pusi = b1 & 0x40
    pid = ((b1 & 0x1F) << 8) | sb(base + 2)
    afc = (sb(base + 3) >> 4) & 3
    p = base + TS_HEADER_SIZE
    rai = 0
    if afc & 2:
        aflen = sb(p)
        if aflen > TS_PAYLOAD_MAX - 1:
            return CLASS_UNKNOWN, True
        if aflen > 0:
            rai = sb(p + 1) & TS_AF_RAI
        p += 1 + aflen
    has_payload = bool(afc & 1) and p < end
    if pid == TS_PID_PAT:
        if pusi and has_payload:
            _parse_pat(sb, p, end, st)
        return CLASS_NON_VIDEO, False
    if pid == TS_PID_NULL:
        return CLASS_NON_VIDEO, False
    ps = st.slot(pid, False)
    if ps is not None and ps.kind == PID_PMT:
        if pusi and has_payload:
            _parse_pmt(sb, p, end, st)
        return CLASS_NON_VIDEO, False
    scan = 0  # where to look for NAL units; 0 = nowhere
    if (
        pusi
        and has_payload
        and p + PES_HEADER_FIXED <= end
        and sb(p) == 0
        and sb(p + 1) == 0
        and sb(p + 2) == 1
    ):
        sid = sb(p + 3)
        if not PES_SID_VIDEO_MIN <= sid <= PES_SID_VIDEO_MAX:
            if ps is None:
                st.learn(pid, PID_OTHER, CODEC_UNKNOWN)
            return CLASS_NON_VIDEO, False
        if ps is None:
            ps = st.slot(pid, True)
            if ps is None:
                return (CLASS_REFERENCE if rai else CLASS_UNKNOWN), False
        ps.kind = PID_VIDEO
        # until a slice says otherwise: the random_access_indicator, then unknown
        ps.cls = CLASS_REFERENCE if rai else CLASS_UNKNOWN
        ps.pending, ps.hdr_next, ps.saw_param, ps.window = 1, 0, 0, _U32
        scan = p + PES_HEADER_FIXED + sb(p + PES_HEADER_FIXED - 1)
    else:
        if ps is None:
            return CLASS_UNKNOWN, False  # joined mid-PES on a PID not learned yet
        if ps.kind != PID_VIDEO:
            return CLASS_NON_VIDEO, False
        if ps.pending and has_payload:
            scan = p
    if not scan:
        return ps.cls, False
    _nal_scan(sb, scan, end, ps)
    return ps.cls, False


class Classifier:
    """The frame class of each datagram of one stream, in arrival order (the edge's DPI state)."""

    def __init__(self) -> None:
        self.state = StreamState()

    def classify(self, payload: bytes) -> int:
        """The datagram's class: CLASS_REFERENCE, _DIFFERENTIAL, _DISPOSABLE, _NON_VIDEO or _UNKNOWN."""
        return self.classify_packets(payload)[0]

    def classify_packets(self, payload: bytes) -> tuple[int, list[int]]:
        """The datagram's class and the class of each of its (at most TS_PER_DGRAM_MAX) TS packets."""
        n = len(payload) // TS_PACKET_SIZE
        bad = len(payload) % TS_PACKET_SIZE != 0 or n == 0 or n > TS_PER_DGRAM_MAX
        n = min(n, TS_PER_DGRAM_MAX)
        sb = _Bytes(payload)
        best, cls = 0, CLASS_NON_VIDEO
        packets = []
        for i in range(n):
            c, broken = _ts_packet(sb, i * TS_PACKET_SIZE, self.state)
            packets.append(c)
            bad = bad or broken
            if c != CLASS_NON_VIDEO and class_rank(c) > best:
                best, cls = class_rank(c), c
        if bad and cls == CLASS_NON_VIDEO:
            cls = CLASS_UNKNOWN
        return cls, packets
