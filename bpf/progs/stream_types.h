/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Structs and constants shared between the stream programs and the loader.
 *
 * The loader reads the layouts of these structs through bcc (table.Leaf), and
 * bpf/tests/unit_stream_layout.py checks that the Python mirror in
 * edgerep_loader/stream_layout.py sees the same sizes and offsets.
 * Numeric codes here are stable: never renumber or reuse them.
 */
#ifndef EDGEREP_STREAM_TYPES_H
#define EDGEREP_STREAM_TYPES_H

#define MAX_STREAMS	64    /* stream slots per loader */
#define MAX_CONSUMERS	256   /* consumers per stream */
#define MAX_PIDS	8     /* TS PIDs tracked per stream (PAT, PMTs, videos) */
#define MAX_REPLICATORS 256   /* interfaces with a replicator */
#define SPEC_BLOB_MAX	32760 /* bytes of a serialized StreamSpec kept for adoption */
#define SCRATCH_SIZE	2048  /* per-CPU copy of a UDP payload; power of two */
#define SCRATCH_MASK	(SCRATCH_SIZE - 1)

/* FrameClass, same numbers as common.proto. */
#define CLASS_UNSPECIFIED  0
#define CLASS_UNKNOWN	   1
#define CLASS_REFERENCE	   2
#define CLASS_DIFFERENTIAL 3
#define CLASS_DISPOSABLE   4
#define CLASS_NON_VIDEO	   5
#define NUM_CLASSES	   6
#define CLASS_SLOTS	   8 /* counter array length per class (power of two >= NUM_CLASSES) */

/* Inspection, same numbers as common.proto. */
#define INSPECT_NONE   1
#define INSPECT_MPEGTS 2

/* PolicyKind, same numbers as common.proto. */
#define POLICY_NONE	  1
#define POLICY_UNIFORM	  2
#define POLICY_DIFF_FIRST 3

/* Drop reasons per consumer (stable codes, index into drops_by_reason). */
#define DROP_NONE	 0 /* reserved: not a drop */
#define DROP_UNIFORM	 1 /* Uniform policy picked this packet */
#define DROP_BUDGET	 2 /* token bucket could not carry the packet's class */
#define DROP_REDIRECT	 3 /* clone/redirect helper failed */
#define DROP_REWRITE	 4 /* header rewrite helper failed */
#define DROP_MTU	 5 /* frame longer than the egress's MTU: the kernel would drop it unseen */
#define NUM_DROP_REASONS 8

/* Global (not per stream) counters, index into the glob_counters map. */
#define G_NON_IP    0 /* not IPv4/IPv6: passed */
#define G_VLAN	    1 /* VLAN-tagged frames seen in the data: passed */
#define G_FRAGMENT  2 /* IPv4/IPv6 fragments: passed */
#define G_NO_STREAM 3 /* UDP/IP without a matching stream: passed */
#define G_IPV6	    4 /* IPv6 frames looked at */
#define G_TRUNCATED 5 /* headers shorter than they claim: passed */
#define G_MATCHED   6 /* frames that matched a stream */
#define NUM_GLOB    8

/* How a TS PID is used, as learned by the DPI. */
#define PID_FREE  0 /* slot unused */
#define PID_PMT	  1 /* carries a PMT (learned from the PAT) */
#define PID_VIDEO 2 /* carries H.264/H.265 PES */
#define PID_OTHER 3 /* known, not video (audio, data) */

/* Codecs of a video PID. */
#define CODEC_UNKNOWN 0 /* video PES seen, codec not yet known */
#define CODEC_H264    1
#define CODEC_H265    2

/* Port-pair map key: which ingress traffic is a stream. */
struct port_key {
	u32 ifindex; /* ingress interface */
	u16 port;    /* UDP destination port, host order */
	u8 proto;    /* IP protocol (17) */
	u8 pad;	     /* zero */
};

/* Stream configuration, array slot = stream slot. */
struct stream_cfg {
	u32 stream_id;	 /* agent's id; 0 = slot free */
	u32 ifindex;	 /* ingress interface */
	u16 port;	 /* UDP destination port */
	u8 inspection;	 /* INSPECT_* */
	u8 pad;		 /* zero */
	u32 n_consumers; /* consumer slots in use (0..MAX_CONSUMERS) */
};

/* One consumer; array index = stream slot * MAX_CONSUMERS + consumer slot. */
struct consumer_cfg {
	u32 ifindex;	 /* egress interface; 0 = slot unused */
	u32 dst_ip;	 /* IPv4 destination, network order */
	u32 src_ip;	 /* IPv4 source to write, network order; 0 = keep */
	u16 dst_port;	 /* UDP destination port, network order */
	u8 policy;	 /* POLICY_* */
	u8 use_fib;	 /* 1 = find MACs by FIB lookup (another node) */
	u8 dst_mac[6];	 /* destination MAC */
	u8 src_mac[6];	 /* source MAC */
	u32 uniform_ppm; /* Uniform: drop fraction, parts per million */
	u32 max_len;	 /* longest frame the egress carries (MTU + Ethernet header); 0 = any */
	u64 rate_bps;	 /* DifferentialFirst: bytes per second; 0 = unlimited */
	u64 burst;	 /* DifferentialFirst: bucket depth, bytes */
};

/* Token bucket state per consumer (same index as consumer_cfg). */
struct bucket {
	u64 tokens;  /* bytes available */
	u64 last_ns; /* time of the last refill */
};

/* Per-CPU counters per consumer (same index as consumer_cfg). */
struct consumer_counters {
	u64 delivered_packets[CLASS_SLOTS];    /* copies sent, by frame class */
	u64 delivered_bytes[CLASS_SLOTS];      /* bytes of copies sent (L2 frame) */
	u64 dropped_packets[CLASS_SLOTS];      /* copies not sent, by frame class */
	u64 dropped_bytes[CLASS_SLOTS];	       /* bytes of copies not sent */
	u64 drops_by_reason[NUM_DROP_REASONS]; /* copies not sent, by DROP_* */
};

/* Per-CPU counters per stream slot. */
struct stream_counters {
	u64 packets_seen;	      /* datagrams that matched the stream */
	u64 packets_parsed;	      /* datagrams whose every TS packet parsed */
	u64 packets_unknown;	      /* datagrams whose class stayed UNKNOWN */
	u64 packets_malformed;	      /* datagrams not a whole number of good TS packets */
	u64 ts_packets;		      /* TS packets inspected */
	u64 ts_by_class[CLASS_SLOTS]; /* TS packets by frame class */
};

/* DPI state of one PID of a stream. */
struct pid_state {
	u16 pid;       /* TS PID */
	u8 kind;       /* PID_* */
	u8 codec;      /* CODEC_* */
	u8 cls;	       /* class of the current PES (frame) */
	u8 pending;    /* 1 = PES started, slice NAL not yet found */
	u8 hdr_next;   /* 1 = start code ended the last packet: next byte is a NAL header */
	u8 saw_param;  /* 1 = parameter sets / IRAP seen in this PES */
	u32 window;    /* last bytes of the previous packet of this PES */
	u16 scan_from; /* scratch: scan start offset of the packet being parsed */
	u16 scan_end;  /* scratch: end offset of the packet being parsed */
};

/* DPI state per stream slot. */
struct stream_state {
	struct pid_state pids[MAX_PIDS]; /* learned PIDs */
	u32 cur;			 /* scratch: slot of the PID being parsed */
	u32 pad;			 /* zero */
};

/* Interface with a replicator (adoption and ListStreams). */
struct replicator_info {
	u32 datapath; /* Datapath enum: 1 TC, 2 XDP */
	u32 xdp_mode; /* XdpMode enum */
};

/* A serialized StreamSpec (protobuf bytes), kept so a restarted loader can list it. */
struct spec_blob {
	u32 len;		/* bytes used in data */
	u8 data[SPEC_BLOB_MAX]; /* StreamSpec wire bytes */
};

/* Per-CPU copy of the UDP payload the DPI reads. */
struct scratch {
	u8 data[SCRATCH_SIZE]; /* payload bytes */
};

/* Test builds only (-DEDGEREP_TRACE_CLASSES): classes of the last datagram. */
#define TRACE_TS_MAX 8
struct class_trace {
	u32 n;		      /* TS packets in the last datagram */
	u8 cls[TRACE_TS_MAX]; /* class of each TS packet */
};

#endif
