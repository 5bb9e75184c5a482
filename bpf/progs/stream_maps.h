/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Maps of the stream replicator, pinned under PIN_DIR (a -D from the loader).
 * bcc reuses a pinned map when its path exists, so a restarted loader adopts them.
 */
#ifndef EDGEREP_STREAM_MAPS_H
#define EDGEREP_STREAM_MAPS_H

#include "stream_types.h"

#ifndef PIN_DIR
#error "PIN_DIR must be defined by the loader"
#endif

#define PORTS_MAX 1024 /* port-pair entries */

/* (ingress ifindex, port, proto) -> stream slot. */
BPF_TABLE_PINNED("hash", struct port_key, u32, ports, PORTS_MAX, PIN_DIR "/stream_ports");
/* stream slot -> configuration. */
BPF_TABLE_PINNED("array", u32, struct stream_cfg, stream_cfgs, MAX_STREAMS, PIN_DIR "/stream_cfgs");
/* stream slot * MAX_CONSUMERS + consumer slot -> consumer. */
BPF_TABLE_PINNED("array", u32, struct consumer_cfg, consumers, MAX_STREAMS *MAX_CONSUMERS,
		 PIN_DIR "/stream_consumers");
/* same index -> token bucket state. */
BPF_TABLE_PINNED("array", u32, struct bucket, buckets, MAX_STREAMS *MAX_CONSUMERS,
		 PIN_DIR "/stream_buckets");
/* same index -> per-CPU delivery counters. */
BPF_TABLE_PINNED("percpu_array", u32, struct consumer_counters, consumer_stats,
		 MAX_STREAMS *MAX_CONSUMERS, PIN_DIR "/stream_consumer_stats");
/* stream slot -> per-CPU stream counters. */
BPF_TABLE_PINNED("percpu_array", u32, struct stream_counters, stream_stats, MAX_STREAMS,
		 PIN_DIR "/stream_stats");
/* stream slot -> DPI state (learned PIDs, class of the current frame per PID). */
BPF_TABLE_PINNED("array", u32, struct stream_state, stream_states, MAX_STREAMS,
		 PIN_DIR "/stream_states");
/* G_* index -> per-CPU count of traffic passed untouched. */
BPF_TABLE_PINNED("percpu_array", u32, u64, glob_stats, NUM_GLOB, PIN_DIR "/stream_glob_stats");
/* ifindex -> replicator attached there (read by the loader only). */
BPF_TABLE_PINNED("hash", u32, struct replicator_info, replicators, MAX_REPLICATORS,
		 PIN_DIR "/stream_replicators");
/* stream slot -> serialized StreamSpec (read by the loader only). */
BPF_TABLE_PINNED("array", u32, struct spec_blob, spec_blobs, MAX_STREAMS, PIN_DIR "/stream_specs");
/* per-CPU copy of the payload the DPI reads (pinned: the tail-called programs of a
 * restarted loader share it with the entry program an earlier loader attached). */
BPF_TABLE_PINNED("percpu_array", u32, struct scratch, scratch_buf, 1, PIN_DIR "/stream_scratch");
#ifdef EDGEREP_TRACE_CLASSES
/* test builds: classes of the TS packets of the last datagram. */
BPF_ARRAY(class_traces, struct class_trace, 1);
#endif

#endif
