/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* MPEG-TS / PES / H.264 / H.265 inspection of one UDP payload.
 *
 * The payload is first copied into a per-CPU scratch buffer (struct scratch);
 * every read below is masked into that buffer and checked against the end of
 * the TS packet it belongs to, so the verifier sees bounded accesses only.
 * The frame class of a PES (one access unit in ffmpeg's muxer) is kept per PID
 * in struct stream_state until the next PES start, so continuation packets
 * inherit it.
 */
#ifndef EDGEREP_TS_H
#define EDGEREP_TS_H

#include "stream_types.h"

#define TS_PACKET_SIZE	    188	   /* bytes per TS packet */
#define TS_SYNC_BYTE	    0x47   /* first byte of every TS packet */
#define TS_HEADER_SIZE	    4	   /* fixed TS header */
#define TS_PER_DGRAM_MAX    7	   /* TS packets inspected per datagram */
#define TS_PAYLOAD_MAX	    184	   /* largest TS payload */
#define TS_PID_PAT	    0x0000 /* program association table */
#define TS_PID_NULL	    0x1fff /* stuffing */
#define TS_PID_NONE	    0xffff /* no PID (PIDs are 13 bits) */
#define TS_AF_RAI	    0x40   /* random_access_indicator in the adaptation field flags */
#define PES_HEADER_FIXED    9	   /* bytes of the PES header before its optional fields */
#define PES_SID_VIDEO_MIN   0xe0   /* stream_id range of video PES */
#define PES_SID_VIDEO_MAX   0xef
#define PES_SID_AUDIO_MIN   0xc0 /* stream_id range of audio PES */
#define PES_SID_AUDIO_MAX   0xdf
#define PSI_TABLE_PAT	    0x00     /* table_id of a PAT section */
#define PSI_TABLE_PMT	    0x02     /* table_id of a PMT section */
#define PSI_CRC_SIZE	    4	     /* CRC32 at the end of a section */
#define PAT_PROGRAMS_MAX    4	     /* programs read from a PAT */
#define PMT_STREAMS_MAX	    8	     /* elementary streams read from a PMT */
#define STREAM_TYPE_H264    0x1b     /* PMT stream_type of H.264 */
#define STREAM_TYPE_H265    0x24     /* PMT stream_type of H.265 */
#define START_CODE	    0x000001 /* Annex B start code prefix */
#define START_CODE_MASK	    0xffffff
#define UE_MAX_ZEROS	    15 /* longest Exp-Golomb prefix decoded */
#define SLICE_BITS_BYTES    5  /* bytes of slice header read for slice_type */
#define NALS_PER_PACKET_MAX 8  /* NAL units looked at per TS packet */

/* H.264 nal_unit_type values. */
#define H264_NAL_SLICE 1
#define H264_NAL_IDR   5
#define H264_NAL_SPS   7
#define H264_NAL_PPS   8
#define H264_NAL_AUD   9
/* H.264 slice_type values that are intra (I, SI; +5 variants). */
#define H264_SLICE_P	 0
#define H264_SLICE_I	 2
#define H264_SLICE_SI	 4
#define H264_SLICE_TYPES 5
/* H.265 nal_unit_type values. */
#define H265_NAL_RASL_R	     9	/* last VCL type of the TRAIL..RASL group */
#define H265_NAL_RSV_VCL_N14 14 /* last sub-layer non-reference type */
#define H265_NAL_BLA_W_LP    16 /* first IRAP type */
#define H265_NAL_IRAP_MAX    23 /* last IRAP type (22, 23 reserved IRAP) */
#define H265_NAL_VPS	     32
#define H265_NAL_PPS	     34
#define H265_NAL_AUD	     35
#define H265_SLICE_I	     2

/* ts_packet's answer when the NAL scan must still run (never stored or counted). */
#define CLASS_SCAN_PENDING 0xff

/* Byte of the scratch buffer at off (masked: always inside the buffer). */
static __always_inline u32 sb(struct scratch *s, u32 off)
{
	return s->data[off & SCRATCH_MASK];
}

/* Rank of a class when several TS packets make one datagram's class. */
static __always_inline u32 class_rank(u8 cls)
{
	if (cls == CLASS_REFERENCE)
		return 5;
	if (cls == CLASS_UNKNOWN)
		return 4;
	if (cls == CLASS_DIFFERENTIAL)
		return 3;
	if (cls == CLASS_DISPOSABLE)
		return 2;
	return 1;
}

/* Slot of pid in the stream state, allocating a free one when alloc; -1 if none. */
static __always_inline int pid_slot(struct stream_state *st, u32 pid, int alloc)
{
	int free = -1;
	for (int i = 0; i < MAX_PIDS; i++) {
		if (st->pids[i].kind != PID_FREE && st->pids[i].pid == pid)
			return i;
		if (free < 0 && st->pids[i].kind == PID_FREE)
			free = i;
	}
	if (!alloc || free < 0)
		return -1;
	st->pids[free & (MAX_PIDS - 1)].pid = pid;
	st->pids[free & (MAX_PIDS - 1)].kind = PID_OTHER;
	st->pids[free & (MAX_PIDS - 1)].codec = CODEC_UNKNOWN;
	st->pids[free & (MAX_PIDS - 1)].cls = CLASS_UNKNOWN;
	st->pids[free & (MAX_PIDS - 1)].pending = 0;
	return free;
}

/* Record what a PSI table says a PID carries. */
static __always_inline void pid_learn(struct stream_state *st, u32 pid, u8 kind, u8 codec)
{
	int i = pid_slot(st, pid, 1);
	if (i < 0)
		return;
	struct pid_state *ps = &st->pids[i & (MAX_PIDS - 1)];
	if (ps->kind == PID_VIDEO && kind != PID_VIDEO)
		return; /* a PES already proved it video */
	ps->kind = kind;
	if (codec != CODEC_UNKNOWN)
		ps->codec = codec;
}

/* Start and end (exclusive, CRC excluded) of the PSI section in a TS payload. */
static __always_inline int psi_section(struct scratch *s, u32 p, u32 end, u32 table_id, u32 *sec,
				       u32 *sec_end)
{
	if (p >= end)
		return -1;
	u32 t = p + 1 + sb(s, p); /* pointer_field */
	if (t + 3 > end || sb(s, t) != table_id)
		return -1;
	u32 len = ((sb(s, t + 1) & 0x0f) << 8) | sb(s, t + 2);
	u32 e = t + 3 + len;
	if (len < PSI_CRC_SIZE)
		return -1;
	e -= PSI_CRC_SIZE;
	if (e > end)
		e = end; /* sections longer than a packet: read what is here */
	*sec = t;
	*sec_end = e;
	return 0;
}

/* PAT: every program's PMT PID becomes a PID_PMT. */
static __always_inline void parse_pat(struct scratch *s, u32 p, u32 end, struct stream_state *st)
{
	u32 t, e;
	if (psi_section(s, p, end, PSI_TABLE_PAT, &t, &e) < 0)
		return;
#pragma unroll
	for (int k = 0; k < PAT_PROGRAMS_MAX; k++) {
		u32 q = t + 8 + 4 * k;
		if (q + 4 > e)
			break;
		u32 prog = (sb(s, q) << 8) | sb(s, q + 1);
		u32 pid = ((sb(s, q + 2) & 0x1f) << 8) | sb(s, q + 3);
		if (prog != 0)
			pid_learn(st, pid, PID_PMT, CODEC_UNKNOWN);
	}
}

/* PMT: H.264 / H.265 elementary streams become PID_VIDEO with their codec. */
static __always_inline void parse_pmt(struct scratch *s, u32 p, u32 end, struct stream_state *st)
{
	u32 t, e;
	if (psi_section(s, p, end, PSI_TABLE_PMT, &t, &e) < 0)
		return;
	if (t + 12 > e)
		return;
	u32 q = t + 12 + (((sb(s, t + 10) & 0x0f) << 8) | sb(s, t + 11));
	for (int k = 0; k < PMT_STREAMS_MAX; k++) {
		if (q + 5 > e)
			break;
		u32 type = sb(s, q);
		u32 pid = ((sb(s, q + 1) & 0x1f) << 8) | sb(s, q + 2);
		if (type == STREAM_TYPE_H264)
			pid_learn(st, pid, PID_VIDEO, CODEC_H264);
		else if (type == STREAM_TYPE_H265)
			pid_learn(st, pid, PID_VIDEO, CODEC_H265);
		else
			pid_learn(st, pid, PID_OTHER, CODEC_UNKNOWN);
		q += 5 + (((sb(s, q + 3) & 0x0f) << 8) | sb(s, q + 4));
	}
}

/* Decode one unsigned Exp-Golomb value from bits (MSB first) at *pos; ~0 when too long.
 * Branch-free prefix count: keeps the verifier's path count flat. */
static __always_inline u32 ue_read(u64 bits, u32 *pos)
{
	u64 rest = bits << (*pos & 63);
	u32 lz = 0, seen = 0;
#pragma unroll
	for (int k = 0; k < UE_MAX_ZEROS; k++) {
		seen |= (rest >> (63 - k)) & 1;
		lz += seen ^ 1;
	}
	if (lz >= UE_MAX_ZEROS)
		return ~0U;
	*pos += 2 * lz + 1;
	/* the lz bits after the prefix's 1, plus 2^lz - 1 */
	u64 suffix = (rest << ((lz + 1) & 63)) >> 1 >> ((63 - lz) & 63);
	return (u32)suffix + (1U << lz) - 1;
}

/* SLICE_BITS_BYTES bytes at off, MSB-aligned (bytes past the TS packet are harmless
 * neighbours in the scratch buffer: they only feed slice header fields). */
static __always_inline u64 bits_at(struct scratch *s, u32 off)
{
	u64 v = 0;
#pragma unroll
	for (int k = 0; k < SLICE_BITS_BYTES; k++)
		v |= (u64)sb(s, off + k) << (56 - 8 * k);
	return v;
}

/* A NAL unit header at h: update ps; return 1 when the frame class is final. */
static __always_inline int nal_header(struct scratch *s, u32 h, u32 end, struct pid_state *ps)
{
	u32 b0 = sb(s, h);
	if (ps->codec == CODEC_UNKNOWN) {
		/* learned from a PES stream_id without a PMT: the access unit delimiter tells */
		if (b0 == H264_NAL_AUD || b0 == (0x10 | H264_NAL_AUD) ||
		    b0 == (0x30 | H264_NAL_AUD))
			ps->codec = CODEC_H264;
		else if (((b0 >> 1) & 0x3f) == H265_NAL_AUD && h + 1 < end && sb(s, h + 1) == 0x01)
			ps->codec = CODEC_H265;
		else
			return 0;
	}
	if (ps->codec == CODEC_H264) {
		u32 type = b0 & 0x1f;
		u32 ref_idc = (b0 >> 5) & 3;
		if (type == H264_NAL_IDR) {
			ps->cls = CLASS_REFERENCE;
			return 1;
		}
		if (type == H264_NAL_SPS || type == H264_NAL_PPS) {
			ps->saw_param = 1;
			ps->cls = CLASS_REFERENCE; /* in-band parameter sets lead a key frame */
			return 0;
		}
		if (type != H264_NAL_SLICE)
			return 0;
		u32 pos = 0;
		u64 bits = bits_at(s, h + 1);
		ue_read(bits, &pos);	      /* first_mb_in_slice */
		u32 st = ue_read(bits, &pos); /* slice_type */
		if (st != ~0U) {
			u32 base = st % H264_SLICE_TYPES;
			if (base == H264_SLICE_I || base == H264_SLICE_SI) {
				ps->cls = CLASS_REFERENCE;
				return 1;
			}
		}
		ps->cls = ref_idc == 0 ? CLASS_DISPOSABLE : CLASS_DIFFERENTIAL;
		return 1;
	}
	/* H.265 */
	u32 type = (b0 >> 1) & 0x3f;
	if (type >= H265_NAL_BLA_W_LP && type <= H265_NAL_IRAP_MAX) {
		ps->cls = CLASS_REFERENCE;
		return 1;
	}
	if (type >= H265_NAL_VPS && type <= H265_NAL_PPS) {
		ps->saw_param = 1;
		ps->cls = CLASS_REFERENCE;
		return 0;
	}
	if (type > H265_NAL_RASL_R)
		return 0;
	u64 bits = bits_at(s, h + 2);
	if (bits >> 63) { /* first_slice_segment_in_pic_flag */
		u32 pos = 1;
		ue_read(bits, &pos);	      /* slice_pic_parameter_set_id */
		u32 st = ue_read(bits, &pos); /* slice_type (no extra header bits) */
		if (st == H265_SLICE_I) {
			ps->cls = CLASS_REFERENCE;
			return 1;
		}
	}
	ps->cls =
	    (type % 2 == 0 && type <= H265_NAL_RSV_VCL_N14) ? CLASS_DISPOSABLE : CLASS_DIFFERENTIAL;
	return 1;
}

/* Look for NAL units in [p, end) until the frame class is final. One flat loop over
 * the bytes (no nested loop) keeps the verifier's state count linear. */
static __always_inline void nal_scan(struct scratch *s, struct pid_state *ps)
{
	u32 p = ps->scan_from;
	u32 end = ps->scan_end;
	u32 w = ps->window;
	if (ps->hdr_next) {
		ps->hdr_next = 0;
		w = 0xffffffff;
		if (p < end && nal_header(s, p, end, ps)) {
			ps->pending = 0;
			return;
		}
	}
	for (int j = 0; j < TS_PAYLOAD_MAX; j++) {
		u32 q = p + j;
		if (q >= end)
			break;
		w = (w << 8) | sb(s, q);
		if ((w & START_CODE_MASK) != START_CODE)
			continue;
		if (q + 1 >= end) {
			ps->hdr_next = 1; /* the NAL header is the next packet's first byte */
			break;
		}
		if (nal_header(s, q + 1, end, ps)) {
			ps->pending = 0;
			break;
		}
	}
	ps->window = w;
}

/* Class of the TS packet at base; updates the PID state. Sets *bad on a broken packet. */
static __always_inline u8 ts_packet(struct scratch *s, u32 base, struct stream_state *st, int *bad)
{
	u32 end = base + TS_PACKET_SIZE;
	if (sb(s, base) != TS_SYNC_BYTE) {
		*bad = 1;
		return CLASS_UNKNOWN;
	}
	u32 b1 = sb(s, base + 1);
	u32 pusi = b1 & 0x40;
	u32 pid = ((b1 & 0x1f) << 8) | sb(s, base + 2);
	u32 afc = (sb(s, base + 3) >> 4) & 3;
	u32 p = base + TS_HEADER_SIZE;
	u32 rai = 0;
	if (afc & 2) {
		u32 aflen = sb(s, p);
		if (aflen > TS_PAYLOAD_MAX - 1) {
			*bad = 1;
			return CLASS_UNKNOWN;
		}
		if (aflen > 0)
			rai = sb(s, p + 1) & TS_AF_RAI;
		p += 1 + aflen;
	}
	u32 has_payload = (afc & 1) && p < end;
	if (pid == TS_PID_PAT) {
		if (pusi && has_payload)
			parse_pat(s, p, end, st);
		return CLASS_NON_VIDEO;
	}
	if (pid == TS_PID_NULL)
		return CLASS_NON_VIDEO;
	int i = pid_slot(st, pid, 0);
	struct pid_state *ps = i >= 0 ? &st->pids[i & (MAX_PIDS - 1)] : 0;
	if (ps && ps->kind == PID_PMT) {
		if (pusi && has_payload)
			parse_pmt(s, p, end, st);
		return CLASS_NON_VIDEO;
	}
	u32 scan = 0; /* where to look for NAL units; 0 = nowhere */
	if (pusi && has_payload && p + PES_HEADER_FIXED <= end && sb(s, p) == 0 &&
	    sb(s, p + 1) == 0 && sb(s, p + 2) == 1) {
		u32 sid = sb(s, p + 3);
		if (sid < PES_SID_VIDEO_MIN || sid > PES_SID_VIDEO_MAX) {
			if (!ps)
				pid_learn(st, pid, PID_OTHER, CODEC_UNKNOWN);
			return CLASS_NON_VIDEO;
		}
		if (!ps) {
			i = pid_slot(st, pid, 1);
			if (i < 0)
				return rai ? CLASS_REFERENCE : CLASS_UNKNOWN;
			ps = &st->pids[i & (MAX_PIDS - 1)];
		}
		ps->kind = PID_VIDEO;
		/* until a slice says otherwise: the random_access_indicator, then unknown */
		ps->cls = rai ? CLASS_REFERENCE : CLASS_UNKNOWN;
		ps->pending = 1;
		ps->hdr_next = 0;
		ps->saw_param = 0;
		ps->window = 0xffffffff;
		scan = p + PES_HEADER_FIXED + sb(s, p + PES_HEADER_FIXED - 1);
	} else {
		if (!ps)
			return CLASS_UNKNOWN; /* joined mid-PES on a PID not learned yet */
		if (ps->kind != PID_VIDEO)
			return CLASS_NON_VIDEO;
		if (ps->pending && has_payload)
			scan = p;
	}
	if (!scan)
		return ps->cls;
	/* the NAL scan runs in its own program (a tail call) that starts from this state */
	ps->scan_from = scan;
	ps->scan_end = end;
	st->cur = i;
	return CLASS_SCAN_PENDING;
}

#endif
