/* Rewrite of a tc packet (skb) towards one consumer: MACs, IPv4 addresses, UDP port,
 * with the IPv4 and UDP checksums updated incrementally. The packet is rewritten in
 * place before each clone; `cur` remembers what the previous consumer left in it.
 */
#ifndef EDGEREP_REWRITE_H
#define EDGEREP_REWRITE_H

#include "stream_types.h"

#define ETH_HLEN_ 14              /* Ethernet header */
#define ETH_ALEN_ 6               /* MAC address */
#define IP_CSUM_OFF 10            /* IPv4 header checksum, from the IP header */
#define IP_SADDR_OFF 12           /* IPv4 source address */
#define IP_DADDR_OFF 16           /* IPv4 destination address */
#define UDP_DPORT_OFF 2           /* UDP destination port, from the UDP header */
#define UDP_CSUM_OFF 6            /* UDP checksum */
#define AF_INET_ 2                /* address family of a FIB lookup */

/* Header values the packet currently carries (network order). */
struct hdr_now {
    u32 saddr;                    /* IPv4 source */
    u32 daddr;                    /* IPv4 destination */
    u16 dport;                    /* UDP destination port */
    u16 pad;                      /* zero */
    u32 l4_off;                   /* offset of the UDP header in the frame */
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
                                      struct hdr_now *cur)
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
        if (bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT) != BPF_FIB_LKUP_RET_SUCCESS)
            return -1;
        __builtin_memcpy(macs, fib.dmac, ETH_ALEN_);
        __builtin_memcpy(macs + ETH_ALEN_, fib.smac, ETH_ALEN_);
    }
    err |= bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0);
    return err ? -1 : 0;
}

#endif
