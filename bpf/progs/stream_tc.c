/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* tc ingress replicator: match a stream by port pair, classify the datagram's
 * frame class (DPI over every TS packet, one tail call per TS packet), then for
 * each consumer apply its drop policy, rewrite the headers and
 * bpf_clone_redirect a copy. The original frame of a matched stream is
 * consumed; everything else passes untouched with TC_NEXT, so the programs after
 * this one (a CNI's tcx programs, then cls_bpf filters) still see it.
 */

/* Verdict for traffic the replicator does not consume: TC_ACT_UNSPEC is TCX_NEXT on a tcx
 * chain and "continue with the next filter" in cls_bpf direct-action mode; at the end of
 * either chain the packet goes on up the stack (as TC_ACT_OK would, which ends the chain). */
#define TC_NEXT TC_ACT_UNSPEC

/* tail calls of the tc replicator: JMP_TS, JMP_FANOUT (pinned: entries outlive the loader). */
BPF_TABLE_PINNED("prog", u32, u32, tc_jmp, JMP_SLOTS, PIN_DIR "/stream_tc_jmp");

/* Entry: attached to tc ingress (clsact, direct action). */
int stream_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return TC_NEXT;
	u32 off = match_stream(data, data_end, skb->ifindex, skb->len, d);
	if (!off)
		return TC_NEXT;
	if (d->inspect && d->n > 0) {
		if (!dpi_fast(d, data + off, data_end))
			tc_jmp.call(skb, JMP_FANOUT); /* every TS packet continued a known frame */
		struct scratch *s = scratch_buf.lookup(&zero);
		u64 take = ((u64)d->n * TS_PACKET_SIZE) & SCRATCH_MASK; /* n <= TS_PER_DGRAM_MAX */
		asm volatile("" : "+r"(take)); /* keep the bound where the verifier sees it */
		if (s && take >= TS_PACKET_SIZE && bpf_skb_load_bytes(skb, off, s->data, take) == 0)
			tc_jmp.call(skb, JMP_TS);
		d->bad = 1; /* could not read the payload */
		d->n = 0;
	}
	tc_jmp.call(skb, JMP_FANOUT);
	return TC_NEXT; /* no fan-out program: pass untouched */
}

/* DPI step: one TS packet, then the next one or the fan-out. */
int stream_tc_ts(struct __sk_buff *skb)
{
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return TC_NEXT;
	if (dpi_step(d))
		tc_jmp.call(skb, JMP_SCAN);
	if (dpi_next(d, (void *)(long)skb->data, (void *)(long)skb->data_end))
		tc_jmp.call(skb, JMP_TS);
	tc_jmp.call(skb, JMP_FANOUT);
	return TC_NEXT;
}

/* DPI scan step: NAL units of one TS packet, then the next packet or the fan-out. */
int stream_tc_scan(struct __sk_buff *skb)
{
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return TC_NEXT;
	dpi_scan(d);
	if (dpi_next(d, (void *)(long)skb->data, (void *)(long)skb->data_end))
		tc_jmp.call(skb, JMP_TS);
	tc_jmp.call(skb, JMP_FANOUT);
	return TC_NEXT;
}

/* Fan-out: a policy-checked, rewritten copy per consumer, FANOUT_CHUNK per run. */
int stream_tc_fanout(struct __sk_buff *skb)
{
	u32 zero = 0;
	struct dpi_ctx *d = dpi_ctxs.lookup(&zero);
	if (!d)
		return TC_NEXT;
	u32 first = d->first;
	u8 cls = first == 0 ? dpi_finish(d) : d->cls;
	u32 slot = d->slot;
	struct stream_cfg *cfg = stream_cfgs.lookup(&slot);
	if (!cfg)
		return TC_NEXT;
	u32 len = skb->len;
	u64 now = bpf_ktime_get_ns();
	u32 n = cfg->n_consumers;
	/* frames without IP options: one computed header block per copy */
	struct hdr_block orig, out;
	int fast = d->cur.l4_off == ETH_HLEN_ + sizeof(struct iphdr) &&
		   bpf_skb_load_bytes(skb, 0, orig.b, HDR_BLOCK) == 0;
	for (u32 i = 0; i < FANOUT_CHUNK; i++) {
		u32 k = first + i;
		if (k >= n || k >= MAX_CONSUMERS)
			break;
		u32 idx = (slot % MAX_STREAMS) * MAX_CONSUMERS + k;
		struct consumer_cfg *c = consumers.lookup(&idx);
		if (!c || !c->ifindex)
			continue;
		struct bucket *b = buckets.lookup(&idx);
		u32 reason = policy_verdict(c, b, cls, len, now);
		u32 egress = c->ifindex;
		if (reason == DROP_NONE) {
			if (c->use_fib || !fast) {
				if (rewrite_tc(skb, c, &d->cur, &egress) < 0)
					reason = DROP_REWRITE;
			} else if (rewrite_block(skb, c, &orig, &out) < 0) {
				reason = DROP_REWRITE;
			} else {
				/* the slow path (FIB consumers) continues from what the frame now
				 * holds */
				struct iphdr *oip = (void *)(out.b + ETH_HLEN_);
				struct udphdr *oudp =
				    (void *)(out.b + ETH_HLEN_ + sizeof(struct iphdr));
				d->cur.saddr = oip->saddr;
				d->cur.daddr = oip->daddr;
				d->cur.dport = oudp->dest;
			}
		}
		if (reason == DROP_NONE && k + 1 == n) {
			/* the last copy is the frame itself: no clone */
			count_copy(idx, cls, len, DROP_NONE);
			return bpf_redirect(egress, 0);
		}
		if (reason == DROP_NONE && bpf_clone_redirect(skb, egress, 0) < 0)
			reason = DROP_REDIRECT;
		count_copy(idx, cls, len, reason);
	}
	d->first = first + FANOUT_CHUNK;
	if (d->first < n)
		tc_jmp.call(skb, JMP_FANOUT);
	return TC_ACT_SHOT;
}
