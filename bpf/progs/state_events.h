/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* State capture: record emission and loss accounting (bcc dialect). */
#ifndef EDGEREP_STATE_EVENTS_H
#define EDGEREP_STATE_EVENTS_H

#include "state_maps.h"

/* Next per-CPU sequence number; every record attempt takes one. */
static __always_inline u64 st_next_seq(void)
{
	u32 zero = 0;
	u64 *seq = st_seq.lookup(&zero);
	if (!seq)
		return 0;
	*seq += 1;
	return *seq;
}

static __always_inline void st_fill_hdr(struct st_hdr *h, u16 type, u64 seq, u64 desc_id,
					u32 rep_id, u16 flags)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->seq = seq;
	h->desc_id = desc_id;
	h->tgid = bpf_get_current_pid_tgid() >> 32;
	h->rep_id = rep_id;
	h->cpu = bpf_get_smp_processor_id();
	h->type = type;
	h->flags = flags;
}

/* Count one lost record for the replication id and for the file: the kernel
 * path of a description (kpath) or a user path (upath). */
static __always_inline void st_count_loss(u32 rep_id, u64 desc_id, const char *kpath,
					  const char *upath)
{
	u64 zero64 = 0, one = 1;
	u64 *c = st_lost_rep.lookup_or_try_init(&rep_id, &zero64);
	if (c)
		__sync_fetch_and_add(c, 1);
	u32 zero = 0;
	struct st_lost_key *k = st_scratch_lost.lookup(&zero);
	if (!k)
		return;
	__builtin_memset(k->path, 0, sizeof(k->path));
	k->desc_id = desc_id;
	k->rep_id = rep_id;
	k->tgid = bpf_get_current_pid_tgid() >> 32;
	if (kpath)
		bpf_probe_read_kernel_str(k->path, sizeof(k->path), kpath);
	else if (upath)
		bpf_probe_read_user_str(k->path, sizeof(k->path), upath);
	u64 *n = st_lost_files.lookup(k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		st_lost_files.update(k, &one);
}

/* Emit a descriptor op without data (DIRTY, FTRUNC, SYNC, CLOSE, FCHMOD, MMAP, MSYNC). */
static __always_inline void st_emit_data(u16 type, u64 desc_id, struct st_desc *d, u32 rep_id,
					 s32 fd, u64 offset, u64 len, u32 reason)
{
	u64 seq = st_next_seq();
	struct st_data *e = st_events.ringbuf_reserve(sizeof(struct st_data));
	if (!e) {
		st_count_loss(rep_id, desc_id, d ? d->path : 0, 0);
		return;
	}
	st_fill_hdr(&e->hdr, type, seq, desc_id, rep_id, 0);
	e->offset = offset;
	e->len = len;
	e->reason = reason;
	e->fd = fd;
	st_events.ringbuf_submit(e, ST_SUBMIT_FLAGS);
}

/* Emit a process op (FORK, EXIT, DUP, CLOSERANGE). */
static __always_inline void st_emit_proc(u16 type, u32 rep_id, u64 desc_id, u32 child, s32 fd)
{
	u64 seq = st_next_seq();
	struct st_proc *e = st_events.ringbuf_reserve(sizeof(struct st_proc));
	if (!e) {
		st_count_loss(rep_id, desc_id, 0, 0);
		return;
	}
	st_fill_hdr(&e->hdr, type, seq, desc_id, rep_id, 0);
	e->child = child;
	e->fd = fd;
	st_events.ringbuf_submit(e, ST_SUBMIT_FLAGS);
}

/* Emit an open-like record (OPEN, DIROPEN, CHDIR) with the path re-read from user memory. */
static __always_inline void st_emit_open(u16 type, u64 desc_id, u32 rep_id, u16 flags, s32 fd,
					 s32 dfd, u32 oflags, u32 mode, const char *upath)
{
	u64 seq = st_next_seq();
	struct st_open *e = st_events.ringbuf_reserve(sizeof(struct st_open));
	if (!e) {
		st_count_loss(rep_id, desc_id, 0, upath);
		return;
	}
	st_fill_hdr(&e->hdr, type, seq, desc_id, rep_id, flags);
	e->fd = fd;
	e->dfd = dfd;
	e->oflags = oflags;
	e->mode = mode;
	e->path[0] = 0;
	if (upath) {
		long n = bpf_probe_read_user_str(e->path, sizeof(e->path), upath);
		if (n >= (long)sizeof(e->path))
			e->hdr.flags |= ST_F_TRUNCATED;
	}
	st_events.ringbuf_submit(e, ST_SUBMIT_FLAGS);
}

/* Emit a path op (TRUNC, RENAME, UNLINK, MKDIR, RMDIR, CHMOD, LINK, SYMLINK). */
static __always_inline void st_emit_path(struct st_pending *p, u16 type)
{
	u64 seq = st_next_seq();
	struct st_path *e = st_events.ringbuf_reserve(sizeof(struct st_path));
	if (!e) {
		st_count_loss(p->rep_id, 0, 0, (const char *)p->a0);
		return;
	}
	st_fill_hdr(&e->hdr, type, seq, 0, p->rep_id, p->flags);
	e->dfd = p->fd;
	e->dfd2 = (s32)p->a3;
	e->mode = (u32)p->a2;
	e->aflags = (u32)(p->a2 >> 32);
	e->arg = p->a1;
	e->path[0] = 0;
	e->path2[0] = 0;
	long n = bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)p->a0);
	if (n >= (long)sizeof(e->path))
		e->hdr.flags |= ST_F_TRUNCATED;
	if (type == ST_EV_RENAME || type == ST_EV_LINK || type == ST_EV_SYMLINK) {
		n = bpf_probe_read_user_str(e->path2, sizeof(e->path2), (const char *)p->a1);
		if (n >= (long)sizeof(e->path2))
			e->hdr.flags |= ST_F_TRUNCATED;
	}
	st_events.ringbuf_submit(e, ST_SUBMIT_FLAGS);
}

#endif
