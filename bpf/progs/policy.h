/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Per-consumer drop policies: None, Uniform, DifferentialFirst (byte token bucket). */
#ifndef EDGEREP_POLICY_H
#define EDGEREP_POLICY_H

#include "stream_types.h"

#define NS_PER_SEC 1000000000ULL
#define PPM	   1000000 /* parts per million */
/* DifferentialFirst: share of the bucket (in 1/8) that must stay after a packet of the class. */
#define RESERVE_DISPOSABLE_8TH	 6 /* disposable packets leave 3/4 of the bucket for others */
#define RESERVE_DIFFERENTIAL_8TH 4 /* differential packets leave 1/2 for reference packets */

/* DROP_NONE to send the copy, else the DROP_* reason. A frame longer than the egress carries is
 * dropped first (DROP_MTU). A budget (rate_bps) is a byte token bucket:
 * DifferentialFirst keeps part of it for the classes above a packet's, Uniform drops whatever does
 * not fit, whatever its class; Uniform's uniform_ppm drops that share of packets at random on top.
 */
static __always_inline u32 policy_verdict(struct consumer_cfg *c, struct bucket *b, u8 cls, u32 len,
					  u64 now)
{
	if (c->max_len && len > c->max_len)
		return DROP_MTU; /* before the bucket: a copy that cannot leave costs no budget */
	if (c->policy == POLICY_UNIFORM && c->uniform_ppm &&
	    bpf_get_prandom_u32() % PPM < c->uniform_ppm)
		return DROP_UNIFORM;
	if ((c->policy != POLICY_DIFF_FIRST && c->policy != POLICY_UNIFORM) || c->rate_bps == 0 ||
	    !b)
		return DROP_NONE;
	u64 elapsed = now - b->last_ns;
	if (elapsed > NS_PER_SEC)
		elapsed = NS_PER_SEC; /* keeps elapsed * rate inside 64 bits */
	u64 tokens = b->tokens + elapsed * c->rate_bps / NS_PER_SEC;
	if (tokens > c->burst)
		tokens = c->burst;
	b->last_ns = now;
	u64 reserve = 0;
	if (c->policy == POLICY_DIFF_FIRST && cls == CLASS_DISPOSABLE)
		reserve = c->burst / 8 * RESERVE_DISPOSABLE_8TH;
	else if (c->policy == POLICY_DIFF_FIRST && cls == CLASS_DIFFERENTIAL)
		reserve = c->burst / 8 * RESERVE_DIFFERENTIAL_8TH;
	if (tokens < reserve + len) {
		b->tokens = tokens;
		return DROP_BUDGET;
	}
	b->tokens = tokens - len;
	return DROP_NONE;
}

#endif
