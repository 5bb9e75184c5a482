/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* XDP replicator: the same match and DPI as tc (tail calls per TS packet), then
 * one bpf_redirect_map with BPF_F_BROADCAST to the stream's devmap; the devmap
 * program of each entry (stream_xdp_egress) applies that consumer's policy and
 * rewrites the copy. The class and stream slot travel in the source MAC bytes,
 * which the egress program overwrites with the consumer's anyway (XDP metadata
 * does not survive to devmap programs in generic mode).
 */

#define XDP_STREAMS   8	     /* stream slots the XDP datapath serves (one devmap each) */
#define XDP_MARK      0x4552 /* "ER" in h_source[2..3]: a frame the ingress program tagged */
#define XDP_TAG_SLOT  0	     /* h_source byte: stream slot */
#define XDP_TAG_CLASS 1	     /* h_source byte: frame class */
#define XDP_TAG_MARK  2	     /* h_source bytes 2..3: XDP_MARK */

/* Devmap entry: egress device and its program. */
struct devmap_val {
	u32 ifindex; /* egress interface */
	int prog_fd; /* egress program (stream_xdp_egress) */
};

/* A pinned devmap with bcc's redirect_map method. */
#define XDP_DEVMAP_PINNED(_name, _path)                                                            \
	struct _name##_table_t {                                                                   \
		u32 key;		/* consumer slot */                                        \
		struct devmap_val leaf; /* egress device and program */                            \
		u64 (*redirect_map)(int, int);                                                     \
		u32 max_entries;                                                                   \
	};                                                                                         \
	__attribute__((section("maps/devmap:" _path))) struct _name##_table_t _name = {            \
	    .max_entries = MAX_CONSUMERS}

/* per stream slot: consumer slot -> egress device (broadcast targets). */
XDP_DEVMAP_PINNED(xdp_outs0, PIN_DIR "/stream_xdp_outs0");
XDP_DEVMAP_PINNED(xdp_outs1, PIN_DIR "/stream_xdp_outs1");
XDP_DEVMAP_PINNED(xdp_outs2, PIN_DIR "/stream_xdp_outs2");
XDP_DEVMAP_PINNED(xdp_outs3, PIN_DIR "/stream_xdp_outs3");
XDP_DEVMAP_PINNED(xdp_outs4, PIN_DIR "/stream_xdp_outs4");
XDP_DEVMAP_PINNED(xdp_outs5, PIN_DIR "/stream_xdp_outs5");
XDP_DEVMAP_PINNED(xdp_outs6, PIN_DIR "/stream_xdp_outs6");
XDP_DEVMAP_PINNED(xdp_outs7, PIN_DIR "/stream_xdp_outs7");

/* Key of xdp_consumer_idx: which consumer an egress device is, per stream slot. */
struct xdp_egress_key {
	u32 slot;    /* stream slot */
	u32 ifindex; /* egress interface */
};

/* (stream slot, egress ifindex) -> consumer slot (one consumer per egress device). */
BPF_TABLE_PINNED("hash", struct xdp_egress_key, u32, xdp_consumer_idx, MAX_STREAMS *MAX_CONSUMERS,
		 PIN_DIR "/stream_xdp_consumer_idx");
/* tail calls of the XDP replicator: JMP_TS, JMP_SCAN, JMP_FANOUT. */
BPF_TABLE_PINNED("prog", u32, u32, xdp_jmp, JMP_SLOTS, PIN_DIR "/stream_xdp_jmp");

/* Entry: attached to the ingress interface (generic or native XDP). */
int stream_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return XDP_PASS;
	u32 off = match_stream(data, data_end, ctx->ingress_ifindex, (u32)(data_end - data), d);
	if (!off)
		return XDP_PASS;
	if (d->slot >= XDP_STREAMS)
		return XDP_PASS; /* the loader keeps XDP streams in low slots */
	if (d->inspect && d->n > 0) {
		if (!dpi_fast(d, data + off, data_end))
			xdp_jmp.call(ctx, JMP_FANOUT); /* every TS packet continued a known frame */
		struct scratch *s = scratch_buf.lookup(&zero);
		u64 take = ((u64)d->n * TS_PACKET_SIZE) & SCRATCH_MASK; /* n <= TS_PER_DGRAM_MAX */
		asm volatile("" : "+r"(take)); /* keep the bound where the verifier sees it */
		if (s && take >= TS_PACKET_SIZE && bpf_xdp_load_bytes(ctx, off, s->data, take) == 0)
			xdp_jmp.call(ctx, JMP_TS);
		d->bad = 1; /* could not read the payload */
		d->n = 0;
	}
	xdp_jmp.call(ctx, JMP_FANOUT);
	return XDP_PASS;
}

/* DPI step: one TS packet, then the next one or the fan-out. */
int stream_xdp_ts(struct xdp_md *ctx)
{
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return XDP_PASS;
	if (dpi_step(d))
		xdp_jmp.call(ctx, JMP_SCAN);
	if (dpi_next(d, (void *)(long)ctx->data, (void *)(long)ctx->data_end))
		xdp_jmp.call(ctx, JMP_TS);
	xdp_jmp.call(ctx, JMP_FANOUT);
	return XDP_PASS;
}

/* DPI scan step: NAL units of one TS packet. */
int stream_xdp_scan(struct xdp_md *ctx)
{
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return XDP_PASS;
	dpi_scan(d);
	if (dpi_next(d, (void *)(long)ctx->data, (void *)(long)ctx->data_end))
		xdp_jmp.call(ctx, JMP_TS);
	xdp_jmp.call(ctx, JMP_FANOUT);
	return XDP_PASS;
}

/* Fan-out: tag the frame with slot and class, broadcast to the stream's devmap. */
int stream_xdp_fanout(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return XDP_PASS;
	u8 cls = dpi_finish(d);
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	u32 slot = d->slot;
	eth->h_source[XDP_TAG_SLOT] = slot;
	eth->h_source[XDP_TAG_CLASS] = cls;
	eth->h_source[XDP_TAG_MARK] = XDP_MARK >> 8;
	eth->h_source[XDP_TAG_MARK + 1] = XDP_MARK & 0xff;
	u64 flags = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
	switch (slot) {
	case 0:
		return xdp_outs0.redirect_map(0, flags);
	case 1:
		return xdp_outs1.redirect_map(0, flags);
	case 2:
		return xdp_outs2.redirect_map(0, flags);
	case 3:
		return xdp_outs3.redirect_map(0, flags);
	case 4:
		return xdp_outs4.redirect_map(0, flags);
	case 5:
		return xdp_outs5.redirect_map(0, flags);
	case 6:
		return xdp_outs6.redirect_map(0, flags);
	case 7:
		return xdp_outs7.redirect_map(0, flags);
	}
	return XDP_DROP;
}

/* Devmap program per egress: the consumer's policy and rewrite. XDP_PASS sends the copy. */
int stream_xdp_egress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_source[XDP_TAG_MARK] != (XDP_MARK >> 8) ||
	    eth->h_source[XDP_TAG_MARK + 1] != (XDP_MARK & 0xff))
		return XDP_DROP;
	struct xdp_egress_key key = {};
	key.slot = eth->h_source[XDP_TAG_SLOT];
	key.ifindex = ctx->egress_ifindex;
	u8 cls = eth->h_source[XDP_TAG_CLASS];
	u32 *kp = xdp_consumer_idx.lookup(&key);
	if (!kp)
		return XDP_DROP;
	u32 idx = (key.slot % MAX_STREAMS) * MAX_CONSUMERS + (*kp % MAX_CONSUMERS);
	struct consumer_cfg *c = consumers.lookup(&idx);
	if (!c || !c->ifindex)
		return XDP_DROP;
	u32 len = data_end - data;
	struct bucket *b = buckets.lookup(&idx);
	u32 reason = policy_verdict(c, b, cls, len, bpf_ktime_get_ns());
	if (reason != DROP_NONE) {
		count_copy(idx, cls, len, reason);
		return XDP_DROP;
	}
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl != 5) {
		count_copy(idx, cls, len, DROP_REWRITE);
		return XDP_DROP;
	}
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end) {
		count_copy(idx, cls, len, DROP_REWRITE);
		return XDP_DROP;
	}
	u32 saddr = c->src_ip ? c->src_ip : ip->saddr;
	u16 ucsum = udp->check;
	ip->check = csum_update32(ip->check, ip->daddr, c->dst_ip);
	ip->check = csum_update32(ip->check, ip->saddr, saddr);
	if (ucsum) {
		ucsum = csum_update32(ucsum, ip->daddr, c->dst_ip);
		ucsum = csum_update32(ucsum, ip->saddr, saddr);
		ucsum = csum_update16(ucsum, udp->dest, c->dst_port);
		udp->check = ucsum ? ucsum : 0xffff;
	}
	ip->daddr = c->dst_ip;
	ip->saddr = saddr;
	udp->dest = c->dst_port;
	__builtin_memcpy(eth->h_dest, c->dst_mac, ETH_ALEN_);
	__builtin_memcpy(eth->h_source, c->src_mac, ETH_ALEN_);
	count_copy(idx, cls, len, DROP_NONE);
	return XDP_PASS;
}

/* Native XDP into a veth: the kernel hands a redirected frame only to a peer whose NAPI
 * runs (veth_xdp_xmit drops it otherwise), and a native XDP program on the peer is what
 * turns that on from outside the pod. The loader attaches this one to the peer of each
 * veth consumer while its stream's ingress runs native XDP, and removes it after. */
int stream_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
