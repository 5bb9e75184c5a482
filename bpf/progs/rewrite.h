/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Rewrite of a tc packet (skb) towards one consumer: MACs, IPv4 addresses, UDP port,
 * with the IPv4 and UDP checksums updated incrementally. The packet is rewritten in
 * place before each clone; `cur` remembers what the previous consumer left in it.
 */
#ifndef EDGEREP_REWRITE_H
#define EDGEREP_REWRITE_H

#include "stream_types.h"

#define ETH_HLEN_     14 /* Ethernet header */
#define ETH_ALEN_     6	 /* MAC address */
#define IP_CSUM_OFF   10 /* IPv4 header checksum, from the IP header */
#define IP_SADDR_OFF  12 /* IPv4 source address */
#define IP_DADDR_OFF  16 /* IPv4 destination address */
#define UDP_DPORT_OFF 2	 /* UDP destination port, from the UDP header */
#define UDP_CSUM_OFF  6	 /* UDP checksum */
#define AF_INET_      2	 /* address family of a FIB lookup */

/* Header values the packet currently carries (network order). */
struct hdr_now {
	u32 saddr;  /* IPv4 source */
	u32 daddr;  /* IPv4 destination */
	u16 dport;  /* UDP destination port */
	u16 pad;    /* zero */
	u32 l4_off; /* offset of the UDP header in the frame */
};

/* Replace a 4-byte IPv4 address at off, fixing both checksums. */
static __always_inline long rewrite_addr(struct __sk_buff *skb, struct hdr_now *cur, u32 off,
					 u32 from, u32 to)
{
	long err = bpf_l4_csum_replace(skb, cur->l4_off + UDP_CSUM_OFF, from, to,
				       BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(to));
	err |= bpf_l3_csum_replace(skb, ETH_HLEN_ + IP_CSUM_OFF, from, to, sizeof(to));
	err |= bpf_skb_store_bytes(skb, ETH_HLEN_ + off, &to, sizeof(to), 0);
	return err;
}

/* Rewrite the frame in skb for consumer c. 0 on success. Every field is written
 * unconditionally (a same-value checksum update is a no-op) to keep the verifier's
 * path count flat across 256 consumers. */
static __always_inline int rewrite_tc(struct __sk_buff *skb, struct consumer_cfg *c,
				      struct hdr_now *cur, u32 *out_ifindex)
{
	u32 daddr = c->dst_ip;
	u32 saddr = c->src_ip ? c->src_ip : cur->saddr;
	u16 dport = c->dst_port;
	long err = 0;
	err |= rewrite_addr(skb, cur, IP_DADDR_OFF, cur->daddr, daddr);
	err |= rewrite_addr(skb, cur, IP_SADDR_OFF, cur->saddr, saddr);
	err |= bpf_l4_csum_replace(skb, cur->l4_off + UDP_CSUM_OFF, cur->dport, dport,
				   BPF_F_MARK_MANGLED_0 | sizeof(dport));
	err |= bpf_skb_store_bytes(skb, cur->l4_off + UDP_DPORT_OFF, &dport, sizeof(dport), 0);
	cur->daddr = daddr;
	cur->saddr = saddr;
	cur->dport = dport;
	u8 macs[2 * ETH_ALEN_];
	__builtin_memcpy(macs, c->dst_mac, ETH_ALEN_);
	__builtin_memcpy(macs + ETH_ALEN_, c->src_mac, ETH_ALEN_);
	if (c->use_fib) {
		/* consumer behind another node: next hop from the FIB */
		struct bpf_fib_lookup fib = {};
		fib.family = AF_INET_;
		fib.ipv4_dst = daddr;
		fib.ipv4_src = saddr;
		fib.l4_protocol = IPPROTO_UDP;
		fib.ifindex = c->ifindex;
		if (bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT) !=
		    BPF_FIB_LKUP_RET_SUCCESS)
			return -1;
		__builtin_memcpy(macs, fib.dmac, ETH_ALEN_);
		__builtin_memcpy(macs + ETH_ALEN_, fib.smac, ETH_ALEN_);
		*out_ifindex = fib.ifindex; /* the route may leave through another device */
	}
	err |= bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0);
	return err ? -1 : 0;
}

/* Ethernet + IPv4 (no options) + UDP headers of a frame, as one block. */
#define HDR_BLOCK     42
#define HDR_BLOCK_PAD 2 /* puts the IP header on a 4-byte boundary on the stack */
struct hdr_block {
	u8 pad[HDR_BLOCK_PAD]; /* alignment only */
	u8 b[HDR_BLOCK];       /* bytes 0..41 of the frame */
} __attribute__((aligned(4)));

/* One's-complement update of a 16-bit checksum for a 32-bit field change (RFC 1624).
 * Works on values as they lie in memory (the sum is byte-order independent). */
static __always_inline u16 csum_update32(u16 csum, u32 from, u32 to)
{
	u32 sum = (u16)~csum;
	sum += (u16)~from + (u16)(~from >> 16) + (u16)to + (u16)(to >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Same for a 16-bit field. */
static __always_inline u16 csum_update16(u16 csum, u16 from, u16 to)
{
	u32 sum = (u16)~csum;
	sum += (u16)~from + to;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Fast rewrite for frames without IP options: the consumer's headers are computed from
 * the original block `orig` (checksums updated arithmetically) and written with one
 * store. `out` is scratch space of the caller. 0 on success. */
static __always_inline int rewrite_block(struct __sk_buff *skb, struct consumer_cfg *c,
					 struct hdr_block *orig, struct hdr_block *out)
{
	struct ethhdr *eth = (void *)out->b;
	struct iphdr *ip = (void *)(out->b + ETH_HLEN_);
	struct udphdr *udp = (void *)(out->b + ETH_HLEN_ + sizeof(struct iphdr));
	__builtin_memcpy(out->b, orig->b, HDR_BLOCK);
	u32 saddr = c->src_ip ? c->src_ip : ip->saddr;
	u16 check = ip->check;
	check = csum_update32(check, ip->daddr, c->dst_ip);
	check = csum_update32(check, ip->saddr, saddr);
	ip->check = check;
	if (udp->check) {
		u16 uc = csum_update32(udp->check, ip->daddr, c->dst_ip);
		uc = csum_update32(uc, ip->saddr, saddr);
		uc = csum_update16(uc, udp->dest, c->dst_port);
		udp->check = uc ? uc : 0xffff;
	}
	ip->daddr = c->dst_ip;
	ip->saddr = saddr;
	udp->dest = c->dst_port;
	__builtin_memcpy(eth->h_dest, c->dst_mac, ETH_ALEN_);
	__builtin_memcpy(eth->h_source, c->src_mac, ETH_ALEN_);
	return bpf_skb_store_bytes(skb, 0, out->b, HDR_BLOCK, 0) < 0 ? -1 : 0;
}

#endif
