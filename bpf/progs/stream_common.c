/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Parts shared by the tc and XDP replicators: header parsing, stream match and
 * the per-TS-packet DPI step. The DPI runs one TS packet per program through
 * tail calls (JMP_TS calls itself for the next packet), which keeps each
 * program small enough for the verifier; state between the steps lives in the
 * per-CPU dpi_ctxs map and the payload in scratch_buf.
 */
#include <uapi/linux/bpf.h>
#include <uapi/linux/if_ether.h>
#include <uapi/linux/in.h>
#include <uapi/linux/ip.h>
#include <uapi/linux/ipv6.h>
#include <uapi/linux/udp.h>
#include <uapi/linux/pkt_cls.h>

#include "stream_maps.h"
#include "ts.h"
#include "policy.h"
#include "rewrite.h"

#define IP_FRAG_MASK	      0x3fff /* MF flag and fragment offset */
#define IPV6_NEXTHDR_FRAGMENT 44     /* IPv6 fragment extension header */
#define UDP_HLEN	      8	     /* UDP header */
#define JMP_TS		      0	     /* tail call slot: one DPI step */
#define JMP_FANOUT	      1	     /* tail call slot: policies, rewrite, copies */
#define JMP_SCAN	      2	     /* tail call slot: NAL scan of one TS packet */
#define JMP_SLOTS	      4	     /* size of the tail call arrays */
#define FANOUT_CHUNK	      32     /* consumers per fan-out program run (tail calls for more) */

/* What the entry program found, for the DPI steps and the fan-out. */
struct dpi_ctx {
	u32 slot;	    /* stream slot */
	u32 n;		    /* TS packets to inspect */
	u32 i;		    /* next TS packet */
	u32 best;	    /* rank of the datagram's class so far */
	u8 cls;		    /* class of the datagram so far */
	u8 bad;		    /* 1 = malformed */
	u8 inspect;	    /* 1 = DPI on */
	u8 pad;		    /* zero */
	u32 len;	    /* frame length */
	u32 first;	    /* next consumer slot of the fan-out */
	u32 off;	    /* offset of the UDP payload in the frame */
	struct hdr_now cur; /* header values of the frame */
};

/* per-CPU hand-over between the entry, DPI and fan-out programs (pinned, like scratch_buf). */
BPF_TABLE_PINNED("percpu_array", u32, struct dpi_ctx, dpi_ctxs, 1, PIN_DIR "/stream_dpi_ctx");

/* bcc rewrites map methods only in the main text, so map helpers live here. */
static __always_inline void glob_count(u32 idx)
{
	u64 *v = glob_stats.lookup(&idx);
	if (v)
		*v += 1;
}

/* Index of a class in the counter arrays (masked for the verifier). */
static __always_inline u32 class_idx(u8 cls)
{
	return cls & (CLASS_SLOTS - 1);
}

/* Parse Ethernet/IPv4/UDP in [data, data_end) and find the stream. Fills d; returns
 * the UDP payload offset, or 0 when the frame is not a stream's (passed untouched). */
static __always_inline u32 match_stream(void *data, void *data_end, u32 ifindex, u32 len,
					struct dpi_ctx *d)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end) {
		glob_count(G_TRUNCATED);
		return 0;
	}
	u16 proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		glob_count(G_VLAN);
		return 0;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		/* IPv6 streams are not replicated yet: counted and passed untouched */
		glob_count(G_IPV6);
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) <= data_end && ip6->nexthdr == IPV6_NEXTHDR_FRAGMENT)
			glob_count(G_FRAGMENT);
		return 0;
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		glob_count(G_NON_IP);
		return 0;
	}
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end) {
		glob_count(G_TRUNCATED);
		return 0;
	}
	if (ip->protocol != IPPROTO_UDP) {
		glob_count(G_NO_STREAM);
		return 0;
	}
	if (ip->frag_off & bpf_htons(IP_FRAG_MASK)) {
		glob_count(G_FRAGMENT);
		return 0;
	}
	u32 ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip)) {
		glob_count(G_TRUNCATED);
		return 0;
	}
	struct udphdr *udp = (void *)ip + ihl;
	if ((void *)(udp + 1) > data_end) {
		glob_count(G_TRUNCATED);
		return 0;
	}
	struct port_key key = {};
	key.ifindex = ifindex;
	key.port = bpf_ntohs(udp->dest);
	key.proto = IPPROTO_UDP;
	u32 *slotp = ports.lookup(&key);
	if (!slotp) {
		glob_count(G_NO_STREAM);
		return 0;
	}
	u32 slot = *slotp;
	struct stream_cfg *cfg = stream_cfgs.lookup(&slot);
	if (!cfg || cfg->stream_id == 0) {
		glob_count(G_NO_STREAM);
		return 0;
	}
	glob_count(G_MATCHED);
	struct stream_counters *sc = stream_stats.lookup(&slot);
	if (sc)
		sc->packets_seen++;
	u32 l4_off = ETH_HLEN_ + ihl;
	u32 udp_len = bpf_ntohs(udp->len);
	u32 plen = udp_len >= UDP_HLEN ? udp_len - UDP_HLEN : 0;
	d->slot = slot;
	d->i = 0;
	d->first = 0;
	d->best = 0;
	d->cls = CLASS_NON_VIDEO;
	d->bad = 0;
	d->len = len;
	d->cur.saddr = ip->saddr;
	d->cur.daddr = ip->daddr;
	d->cur.dport = udp->dest;
	d->cur.l4_off = l4_off;
	d->inspect = cfg->inspection == INSPECT_MPEGTS;
	if (l4_off + UDP_HLEN + plen > len || udp_len < UDP_HLEN) {
		d->bad = 1; /* UDP length beyond the frame */
		plen = 0;
	}
	d->n = plen / TS_PACKET_SIZE;
	if (plen % TS_PACKET_SIZE || d->n == 0 || d->n > TS_PER_DGRAM_MAX)
		d->bad = 1;
	if (d->n > TS_PER_DGRAM_MAX)
		d->n = TS_PER_DGRAM_MAX;
	d->off = l4_off + UDP_HLEN;
	return l4_off + UDP_HLEN;
}

/* Account the class c of TS packet d->i to the datagram. */
static __always_inline void dpi_record(struct dpi_ctx *d, u8 c, int bad)
{
	u32 zero = 0;
	u32 slot = d->slot;
	struct stream_counters *sc = stream_stats.lookup(&slot);
	if (bad)
		d->bad = 1;
	if (sc) {
		sc->ts_packets++;
		sc->ts_by_class[class_idx(c)]++;
	}
#ifdef EDGEREP_TRACE_CLASSES
	struct class_trace *tr = class_traces.lookup(&zero);
	if (tr) {
		tr->cls[d->i & (TRACE_TS_MAX - 1)] = c;
		tr->n = d->i + 1;
	}
#endif
	if (c != CLASS_NON_VIDEO && class_rank(c) > d->best) {
		d->best = class_rank(c);
		d->cls = c;
	}
}

/* DPI step: TS packet d->i up to its NAL scan. 1 when the scan program must run. */
static __always_inline int dpi_step(struct dpi_ctx *d)
{
	u32 zero = 0;
	struct scratch *s = scratch_buf.lookup(&zero);
	u32 slot = d->slot;
	struct stream_state *st = stream_states.lookup(&slot);
	if (!s || !st || d->i >= TS_PER_DGRAM_MAX) {
		dpi_record(d, CLASS_UNKNOWN, 1);
		return 0;
	}
	int bad = 0;
	u8 c = ts_packet(s, d->i * TS_PACKET_SIZE, st, &bad);
	if (c == CLASS_SCAN_PENDING)
		return 1;
	dpi_record(d, c, bad);
	return 0;
}

/* DPI scan step: NAL units of TS packet d->i, from where dpi_step left them. */
static __always_inline void dpi_scan(struct dpi_ctx *d)
{
	u32 zero = 0;
	struct scratch *s = scratch_buf.lookup(&zero);
	u32 slot = d->slot;
	struct stream_state *st = stream_states.lookup(&slot);
	if (!s || !st) {
		dpi_record(d, CLASS_UNKNOWN, 1);
		return;
	}
	struct pid_state *ps = &st->pids[st->cur & (MAX_PIDS - 1)];
	nal_scan(s, ps);
	dpi_record(d, ps->cls, 0);
}

/* Fast path, run by the entry program on the packet itself (no copy): TS packets that
 * only continue a frame whose class is known (no unit start, no pending NAL scan) take
 * their PID's class without a tail call. Stops at the first packet that needs the full
 * step; returns 1 when packets are left for it. A datagram mostly carries one PID: its
 * class is looked up once per run of packets of the same PID (nothing here changes the
 * PID state, so it cannot change within the run) and counted once per run. */
static __always_inline int dpi_fast(struct dpi_ctx *d, void *payload, void *data_end)
{
	u32 slot = d->slot;
	struct stream_state *st = stream_states.lookup(&slot);
	struct stream_counters *sc = stream_stats.lookup(&slot);
	if (!st || !sc)
		return d->i < d->n;
	u32 best = d->best;
	u8 cls = d->cls;
	u32 i = d->i;
	u32 run_pid = TS_PID_NONE; /* PID of the current run of packets */
	u8 c = CLASS_NON_VIDEO;	   /* its class */
	u32 run = 0;		   /* packets of the run not yet counted */
	for (int k = 0; k < TS_PER_DGRAM_MAX; k++, i++) {
		if (i >= d->n || i >= TS_PER_DGRAM_MAX)
			break;
		u32 idx = i;
		asm volatile("" : "+r"(idx)); /* keep the mask below: the verifier needs it */
		u8 *h = payload + (idx & (TRACE_TS_MAX - 1)) * TS_PACKET_SIZE;
		if ((void *)(h + TS_HEADER_SIZE) > data_end)
			break;
		if (h[0] != TS_SYNC_BYTE || (h[1] & 0x40))
			break; /* broken or a unit start: the full step decides */
		u32 pid = ((h[1] & 0x1f) << 8) | h[2];
		if (pid != run_pid) {
			u8 pc = CLASS_NON_VIDEO;
			if (pid != TS_PID_PAT && pid != TS_PID_NULL) {
				int j = pid_slot(st, pid, 0);
				if (j < 0)
					break;
				struct pid_state *ps = &st->pids[j & (MAX_PIDS - 1)];
				if (ps->kind == PID_VIDEO) {
					if (ps->pending)
						break;
					pc = ps->cls;
				}
			}
			if (run)
				sc->ts_by_class[class_idx(c)] += run;
			run = 0;
			run_pid = pid;
			c = pc;
			if (c != CLASS_NON_VIDEO && class_rank(c) > best) {
				best = class_rank(c);
				cls = c;
			}
		}
		run++;
#ifdef EDGEREP_TRACE_CLASSES
		u32 zero = 0;
		struct class_trace *tr = class_traces.lookup(&zero);
		if (tr) {
			tr->cls[idx & (TRACE_TS_MAX - 1)] = c;
			tr->n = i + 1;
		}
#endif
	}
	if (run)
		sc->ts_by_class[class_idx(c)] += run;
	sc->ts_packets += i - d->i;
	d->i = i;
	d->best = best;
	d->cls = cls;
	return i < d->n;
}

/* After a full step on TS packet d->i: moves to the next one and takes what the fast
 * path can; returns 1 when a packet is left for the full step (else the fan-out). */
static __always_inline int dpi_next(struct dpi_ctx *d, void *data, void *data_end)
{
	d->i++;
	/* the packets after a unit start mostly continue it: the fast path takes them */
	return d->i < d->n && dpi_fast(d, data + (d->off & SCRATCH_MASK), data_end);
}

/* After the last DPI step (or without DPI): the datagram's class, counted. */
static __always_inline u8 dpi_finish(struct dpi_ctx *d)
{
	u32 slot = d->slot;
	struct stream_counters *sc = stream_stats.lookup(&slot);
	u8 cls = d->cls;
	if (!d->inspect)
		cls = CLASS_UNKNOWN;
	else if (d->bad && cls == CLASS_NON_VIDEO)
		cls = CLASS_UNKNOWN;
	if (sc) {
		if (d->inspect) {
			if (d->bad)
				sc->packets_malformed++;
			else
				sc->packets_parsed++;
		}
		if (cls == CLASS_UNKNOWN)
			sc->packets_unknown++;
	}
	d->cls = cls;
	return cls;
}

/* Count one copy's fate for consumer index idx. */
static __always_inline void count_copy(u32 idx, u8 cls, u32 len, u32 reason)
{
	struct consumer_counters *cc = consumer_stats.lookup(&idx);
	if (!cc)
		return;
	u32 ci = class_idx(cls);
	if (reason == DROP_NONE) {
		cc->delivered_packets[ci]++;
		cc->delivered_bytes[ci] += len;
	} else {
		cc->dropped_packets[ci]++;
		cc->dropped_bytes[ci] += len;
		cc->drops_by_reason[reason & (NUM_DROP_REASONS - 1)]++;
	}
}
