/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* State capture: maps, constants and small helpers (bcc dialect). */
#ifndef EDGEREP_STATE_MAPS_H
#define EDGEREP_STATE_MAPS_H

#include "state_types.h"

/* Pages of the ring buffer (power of two); the loader may override. */
#ifndef ST_RING_PAGES
#define ST_RING_PAGES 16384
#endif
/* Records are submitted without waking the reader (BPF_RB_NO_WAKEUP): the
 * loader drains the ring on its own clock, so a busy traced process does not
 * cost a reader wake-up per syscall. */
#define ST_SUBMIT_FLAGS 1
/* Data bytes of the write-record reservation classes (tiny, small, mid, chunk). */
#define ST_TINY_DATA  64
#define ST_SMALL_DATA 512
#define ST_MID_DATA   4096
/* Data bytes of a full chunk record. */
#define ST_CHUNK_DATA 16384
/* Ring-buffer records one write call may produce (a tail-call chain; the kernel allows 33). */
#define ST_MAX_RECORDS 24
/* Bytes of one write captured with data; beyond this only ST_EV_DIRTY is sent. */
#define ST_CAPTURE_MAX (16 * ST_CHUNK_DATA)
/* iovec entries followed per writev call (the rest becomes ST_EV_DIRTY). */
#define ST_MAX_IOV 16
/* Bits of an LPM key that carry the replication id. */
#define ST_REP_BITS 16
/* Prefix length of a lookup key: the whole key. */
#define ST_FULL_BITS (ST_REP_BITS + 8 * ST_PATH_LEN)
/* Lowest fds a forked child inherits that stay followed (bounds the fork loop). */
#define ST_FORK_FDS 64
/* Slots of the tgid filter (power of two). */
#define ST_TGID_SLOTS 65536
/* Slots of the cgroup and pending-call filters (powers of two). */
#define ST_CGROUP_SLOTS	 4096
#define ST_PENDING_SLOTS 16384
/* Shift of the CPU number in a description id (low bits: per-CPU counter). */
#define ST_DESC_CPU_SHIFT 48

/* Open flags (asm-generic values, shared by x86_64 and arm64). */
#define ST_O_ACCMODE   03
#define ST_O_CREAT     0100
#define ST_O_TRUNC     01000
#define ST_O_APPEND    02000
#define ST_O_DIRECTORY 0200000
#define ST_O_PATH      010000000
/* RWF_APPEND of pwritev2. */
#define ST_RWF_APPEND 0x10
/* unlinkat flag: remove a directory. */
#define ST_AT_REMOVEDIR	       0x200
#define ST_AT_SYMLINK_NOFOLLOW 0x100
#define ST_AT_EMPTY_PATH       0x1000
/* AT_FDCWD. */
#define ST_AT_FDCWD -100
/* fcntl commands. */
#define ST_F_DUPFD	   0
#define ST_F_SETFL	   4
#define ST_F_DUPFD_CLOEXEC 1030
/* mmap protection / flags. */
#define ST_PROT_WRITE	       0x2
#define ST_MAP_SHARED	       0x1
#define ST_MAP_SHARED_VALIDATE 0x3
/* Largest errno a syscall returns as -errno (mmap returns addresses). */
#define ST_MAX_ERRNO 4095

/* Pending-only operation codes (never in events). */
#define ST_OP_OPEN_RO 100 /* open not followed: only drops a stale fd entry */
#define ST_OP_WRITE   101 /* write(fd, buf, count) */
#define ST_OP_PWRITE  102 /* pwrite64(fd, buf, count, pos) */
#define ST_OP_WRITEV  103 /* writev(fd, vec, vlen) */
#define ST_OP_PWRITEV 104 /* pwritev/pwritev2(fd, vec, vlen, pos) */
#define ST_OP_LSEEK   105 /* lseek(fd) */
#define ST_OP_DUP     106 /* dup/dup2/dup3/fcntl(F_DUPFD*) */
#define ST_OP_SETFL   107 /* fcntl(F_SETFL): O_APPEND may change */
#define ST_OP_SPLICE  108 /* splice/sendfile/copy_file_range into a file */
#define ST_OP_DIRDUP  109 /* dup of an fd not followed: it may name a directory */

/* cgroup v2 id -> replication id: the processes that are traced. */
BPF_HASH(st_cgroups, u64, u32, 1024);
/* cgroup id & (ST_CGROUP_SLOTS - 1) -> traced cgroups hashing there (kept by
 * user space with st_cgroups). 0 = certainly untraced: the enter programs of
 * untraced processes stop after one array lookup instead of a hash lookup. */
BPF_ARRAY(st_cgroup_filter, u32, ST_CGROUP_SLOTS);
/* (replication id, path prefix) -> 1: where captured paths must lie. */
BPF_LPM_TRIE(st_prefixes, struct st_prefix_key, u8, 1024);
/* (tgid, fd) -> description id: descriptors opened under a prefix. */
BPF_HASH(st_fds, struct st_fd_key, u64, 65536);
/* description id -> position, flags, path of a followed open file. */
BPF_HASH(st_descs, u64, struct st_desc, 65536);
/* description id -> fds pointing at it (dup, fork); its own map so that user
 * space can count a fork's copies without rewriting st_descs under the kernel. */
BPF_HASH(st_desc_refs, u64, u32, 65536);
/* tgid & (ST_TGID_SLOTS - 1) -> processes with followed fds hashing there.
 * 0 = certainly no followed fd: fd syscalls of untraced processes stop after
 * one array lookup (inlined by the verifier) instead of hash lookups. */
BPF_ARRAY(st_tgid_filter, u32, ST_TGID_SLOTS);
/* tgid -> 1: processes counted in st_tgid_filter (added at their first
 * followed fd or at fork, removed at exit). */
BPF_HASH(st_tgid_known, u32, u8, 65536);
/* thread id -> syscall arguments saved at sys_enter for sys_exit. */
BPF_HASH(st_pending, u64, struct st_pending, 16384);
/* thread id & (ST_PENDING_SLOTS - 1) -> st_pending entries of threads hashing
 * there. 0 = the thread saved nothing: the exit programs of untraced processes
 * stop after one array lookup instead of a hash lookup. */
BPF_ARRAY(st_pending_filter, u32, ST_PENDING_SLOTS);
/* Captured records, in reservation order across CPUs. */
BPF_RINGBUF_OUTPUT(st_events, ST_RING_PAGES);
/* Per-CPU sequence of record attempts (a failed reservation leaves a gap). */
BPF_PERCPU_ARRAY(st_seq, u64, 1);
/* Per-CPU counter for description ids. */
BPF_PERCPU_ARRAY(st_desc_next, u64, 1);
/* replication id -> records lost (failed reservations, full maps). */
BPF_HASH(st_lost_rep, u32, u64, 1024);
/* (description, replication id, tgid, path) -> records lost for that file. */
BPF_HASH(st_lost_files, struct st_lost_key, u64, 8192);
/* Per-CPU scratch: prefix lookup key (too large for the stack). */
BPF_PERCPU_ARRAY(st_scratch_key, struct st_prefix_key, 1);
/* Per-CPU scratch: a description being created. */
BPF_PERCPU_ARRAY(st_scratch_desc, struct st_desc, 1);
/* Per-CPU scratch: a loss key being built. */
BPF_PERCPU_ARRAY(st_scratch_lost, struct st_lost_key, 1);

/* Layout maps: never used by programs; bcc derives the loader's view of
 * each record struct from them, so Python never restates a layout. */
BPF_ARRAY(st_layout_hdr, struct st_hdr, 1);
BPF_ARRAY(st_layout_open, struct st_open, 1);
BPF_ARRAY(st_layout_data, struct st_data, 1);
BPF_ARRAY(st_layout_path, struct st_path, 1);
BPF_ARRAY(st_layout_proc, struct st_proc, 1);

#endif
