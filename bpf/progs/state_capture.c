/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* State capture: syscall tracepoints recording the file-state changes of the
 * processes of traced cgroups under traced path prefixes (bcc dialect).
 *
 * Only tracepoint arguments, helpers and maps are used: no kernel struct is
 * read. Every op is recorded at sys_exit, after the kernel said it succeeded,
 * and writes carry exactly the bytes the return value says were written.
 *
 * Filtering: sys_enter of a path op looks up the cgroup (st_cgroups) and the
 * absolute path in the prefix trie; relative paths and *at calls with a
 * directory fd are passed up flagged ST_F_RELATIVE for user space to resolve.
 * fd ops look up (tgid, fd) in st_fds only: untraced processes pay one hash
 * lookup per call.
 *
 * Not visible here (documented for the loader): stores through shared
 * writable mappings (reported as MMAP/MSYNC so user space re-reads the file),
 * splice/sendfile/copy_file_range into a file (reported DIRTY with the range),
 * io_uring submissions (not reported), inherited fds numbered ST_FORK_FDS or
 * above and fds passed over unix sockets (not followed), reflinks and
 * ioctl-based copies (FICLONE, not reported), fds closed implicitly by exec
 * (O_CLOEXEC) until reused by a traced open or closed by close/close_range.
 */
#include "state_events.h"

/* Type of pwritev2 flags in its tracepoint format (uapi __kernel_rwf_t). */
typedef int rwf_t;

/* ---------------------------------------------------------------- helpers */

/* Replication id of the current process's cgroup, 0 when it is not traced. */
static __always_inline u32 st_rep_of_current(void)
{
	u64 cg = bpf_get_current_cgroup_id();
	u32 slot = cg & (ST_CGROUP_SLOTS - 1);
	u32 *n = st_cgroup_filter.lookup(&slot);
	if (!n || !*n)
		return 0;
	u32 *rep = st_cgroups.lookup(&cg);
	return rep ? *rep : 0;
}

/* Is the user path under a prefix of rep_id? Relative paths (and paths with a
 * directory fd) are accepted and flagged for user space. */
static __always_inline int st_path_wanted(u32 rep_id, const char *upath, s32 dfd, u32 *flags)
{
	u32 zero = 0;
	struct st_prefix_key *k = st_scratch_key.lookup(&zero);
	if (!k || !upath)
		return 0;
	k->prefixlen = ST_FULL_BITS;
	k->rep_id = rep_id;
	long n = bpf_probe_read_user_str(k->path, sizeof(k->path), upath);
	if (n <= 0)
		return 0;
	if (k->path[0] != '/') {
		*flags |= ST_F_RELATIVE;
		return 1;
	}
	return st_prefixes.lookup(k) != 0;
}

/* Could this process have a followed fd? (false = certainly not) */
static __always_inline int st_maybe_followed(u32 tgid)
{
	u32 slot = tgid & (ST_TGID_SLOTS - 1);
	u32 *n = st_tgid_filter.lookup(&slot);
	return n && *n;
}

/* Count a process in the tgid filter once. */
static __always_inline void st_tgid_add(u32 tgid)
{
	u8 one = 1;
	if (st_tgid_known.lookup(&tgid) || st_tgid_known.insert(&tgid, &one))
		return; /* known already, or another thread won the insert */
	u32 slot = tgid & (ST_TGID_SLOTS - 1);
	u32 *n = st_tgid_filter.lookup(&slot);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Remove an exiting process from the tgid filter. */
static __always_inline void st_tgid_del(u32 tgid)
{
	if (!st_tgid_known.lookup(&tgid))
		return;
	st_tgid_known.delete(&tgid);
	u32 slot = tgid & (ST_TGID_SLOTS - 1);
	u32 *n = st_tgid_filter.lookup(&slot);
	if (n && *n)
		__sync_fetch_and_add(n, -1);
}

/* Drop the fd entry of (tgid, fd), releasing its description when it was the last. */
static __always_inline void st_fd_release(struct st_fd_key *fk)
{
	u64 *idp = st_fds.lookup(fk);
	if (!idp)
		return;
	u64 desc_id = *idp;
	st_fds.delete(fk);
	u32 *refs = st_desc_refs.lookup(&desc_id);
	if (refs && *refs > 1) {
		__sync_fetch_and_add(refs, -1);
		return;
	}
	struct st_desc *d = st_descs.lookup(&desc_id);
	if (d)
		st_emit_data(ST_EV_CLOSE, desc_id, d, d->rep_id, fk->fd, 0, 0, 0);
	st_desc_refs.delete(&desc_id);
	st_descs.delete(&desc_id);
}

/* The pending-filter slot of a thread id (pid_tgid). */
static __always_inline u32 *st_pending_slot(u64 id)
{
	u32 slot = (u32)id & (ST_PENDING_SLOTS - 1);
	return st_pending_filter.lookup(&slot);
}

/* Save the current thread's call for its exit, counted in the pending filter once. */
static __always_inline void st_save(struct st_pending *p)
{
	u64 id = bpf_get_current_pid_tgid();
	int fresh = st_pending.lookup(&id) == 0;
	if (st_pending.update(&id, p) == 0 && fresh) {
		u32 *n = st_pending_slot(id);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
}

/* Pending arguments of the current thread, or 0 (one array lookup when it saved none). */
static __always_inline struct st_pending *st_take(u64 *id)
{
	*id = bpf_get_current_pid_tgid();
	u32 *n = st_pending_slot(*id);
	if (!n || !*n)
		return 0;
	return st_pending.lookup(id);
}

/* The current thread's call is done: drop its pending entry. */
static __always_inline void st_done(u64 *id)
{
	if (st_pending.delete(id) == 0) {
		u32 *n = st_pending_slot(*id);
		if (n && *n)
			__sync_fetch_and_add(n, -1);
	}
}

/* ------------------------------------------------------------------ opens */

static __always_inline int st_open_enter(const char *upath, s32 dfd, u32 oflags, u32 mode)
{
	u32 rep = st_rep_of_current();
	if (!rep)
		return 0;
	struct st_pending p = {};
	int writable = (oflags & ST_O_ACCMODE) != 0 || (oflags & (ST_O_CREAT | ST_O_TRUNC)) != 0;
	int dir = !writable && (oflags & (ST_O_DIRECTORY | ST_O_PATH)) != 0;
	p.op = ST_OP_OPEN_RO;
	if (writable && st_path_wanted(rep, upath, dfd, &p.flags)) {
		p.op = ST_EV_OPEN;
	} else if (dir) {
		/* every directory, wanted or not: a walk down from "/" (openat of
		 * one component at a time, as rsync does) must resolve in user space */
		st_path_wanted(rep, upath, dfd, &p.flags);
		p.op = ST_EV_DIROPEN;
	}
	p.a0 = (u64)upath;
	p.a1 = oflags;
	p.a2 = mode;
	p.fd = dfd;
	p.rep_id = rep;
	st_save(&p);
	return 0;
}

static __always_inline int st_open_exit(long ret)
{
	u64 id;
	struct st_pending *p = st_take(&id);
	if (!p)
		return 0;
	if (ret < 0)
		goto out;
	struct st_fd_key fk = {.tgid = id >> 32, .fd = (s32)ret};
	/* the number may still name a file closed behind our back (exec, close_range) */
	if (st_maybe_followed(fk.tgid))
		st_fd_release(&fk);
	if (p->op == ST_EV_DIROPEN) {
		st_emit_open(ST_EV_DIROPEN, 0, p->rep_id, p->flags, fk.fd, p->fd, p->a1, p->a2,
			     (const char *)p->a0);
		goto out;
	}
	if (p->op != ST_EV_OPEN)
		goto out;
	u32 zero = 0;
	u64 *next = st_desc_next.lookup(&zero);
	struct st_desc *d = st_scratch_desc.lookup(&zero);
	if (!next || !d)
		goto out;
	*next += 1;
	u64 desc_id = ((u64)bpf_get_smp_processor_id() << ST_DESC_CPU_SHIFT) | *next;
	__builtin_memset(d->path, 0, sizeof(d->path));
	bpf_probe_read_user_str(d->path, sizeof(d->path), (const char *)p->a0);
	d->pos = 0;
	d->rep_id = p->rep_id;
	d->oflags = p->a1;
	d->relative = (p->flags & ST_F_RELATIVE) != 0;
	u32 one = 1;
	if (st_descs.update(&desc_id, d) || st_desc_refs.update(&desc_id, &one) ||
	    st_fds.update(&fk, &desc_id)) {
		/* cannot follow: the file must be re-read whole */
		st_count_loss(p->rep_id, desc_id, d->path, 0);
		st_descs.delete(&desc_id);
		st_desc_refs.delete(&desc_id);
		goto out;
	}
	st_tgid_add(fk.tgid);
	st_emit_open(ST_EV_OPEN, desc_id, p->rep_id, p->flags, fk.fd, p->fd, p->a1, p->a2,
		     (const char *)p->a0);
out:
	st_done(&id);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
	return st_open_enter(args->filename, (s32)args->dfd, args->flags, args->mode);
}
TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
	return st_open_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat2)
{
	struct {
		u64 flags;
		u64 mode;
		u64 resolve;
	} how = {}; /* struct open_how */
	if (!st_rep_of_current())
		return 0;
	bpf_probe_read_user(&how, sizeof(how), args->how);
	return st_open_enter(args->filename, (s32)args->dfd, how.flags, how.mode);
}
TRACEPOINT_PROBE(syscalls, sys_exit_openat2)
{
	return st_open_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_open)
{
	return st_open_enter(args->filename, ST_AT_FDCWD, args->flags, args->mode);
}
TRACEPOINT_PROBE(syscalls, sys_exit_open)
{
	return st_open_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_creat)
{
	return st_open_enter(args->pathname, ST_AT_FDCWD, 01 | ST_O_CREAT | ST_O_TRUNC, args->mode);
}
TRACEPOINT_PROBE(syscalls, sys_exit_creat)
{
	return st_open_exit(args->ret);
}

/* ----------------------------------------------------------------- writes */

/* Save a call on a followed fd (op = ST_EV_* / ST_OP_*), a0..a2 and flags its arguments. */
static __always_inline int st_fd_save(u32 op, s32 fd, u64 a0, u64 a1, u64 a2, u32 flags)
{
	struct st_fd_key fk = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd};
	if (!st_maybe_followed(fk.tgid))
		return 0;
	u64 *desc_id = st_fds.lookup(&fk);
	if (!desc_id)
		return 0;
	struct st_pending p = {};
	p.op = op;
	p.fd = fd;
	p.desc_id = *desc_id;
	p.a0 = a0;
	p.a1 = a1;
	p.a2 = a2;
	p.flags = flags;
	st_save(&p);
	return 0;
}

/* Save a write-family call on a followed fd. */
static __always_inline int st_write_enter(u32 op, s32 fd, u64 buf, u64 count, u64 pos, u32 flags)
{
	return st_fd_save(op, fd, buf, count, pos, flags);
}

/* One write record with room for cap data bytes (cap: a constant after
 * inlining, as bpf_ringbuf_reserve needs), carrying n <= cap bytes from src. */
static __always_inline void st_emit_class(struct st_desc *d, u64 desc_id, s32 fd, u16 flags,
					  u64 offset, u64 n, u64 src, u64 seq, const u32 cap)
{
	struct st_data *e = st_events.ringbuf_reserve(sizeof(struct st_data) + cap);
	if (!e) {
		st_count_loss(d->rep_id, desc_id, d->path, 0);
		return;
	}
	st_fill_hdr(&e->hdr, ST_EV_WRITE, seq, desc_id, d->rep_id, flags);
	e->offset = offset;
	e->len = n;
	e->fd = fd;
	e->reason = 0;
	if (n > cap)
		n = cap;
	if (bpf_probe_read_user(e->data, n, (void *)src))
		e->hdr.type = ST_EV_DIRTY, e->reason = ST_DIRTY_FAULT;
	st_events.ringbuf_submit(e, ST_SUBMIT_FLAGS);
}

/* One write record of n (<= ST_CHUNK_DATA) bytes from user address src, in
 * the smallest reservation class that holds it (ring space is the budget). */
static __always_inline void st_emit_chunk(struct st_desc *d, u64 desc_id, s32 fd, u16 flags,
					  u64 offset, u64 n, u64 src)
{
	u64 seq = st_next_seq();
	if (n <= ST_TINY_DATA)
		st_emit_class(d, desc_id, fd, flags, offset, n, src, seq, ST_TINY_DATA);
	else if (n <= ST_SMALL_DATA)
		st_emit_class(d, desc_id, fd, flags, offset, n, src, seq, ST_SMALL_DATA);
	else if (n <= ST_MID_DATA)
		st_emit_class(d, desc_id, fd, flags, offset, n, src, seq, ST_MID_DATA);
	else
		st_emit_class(d, desc_id, fd, flags, offset, n, src, seq, ST_CHUNK_DATA);
}

/* iovec as user space lays it out. */
struct st_iovec {
	u64 base; /* iov_base */
	u64 len;  /* iov_len */
};

/* Progress of one write call through its records, kept across tail calls
 * (tail calls stay on the CPU, so a per-CPU slot is private to the call). */
struct st_chunk {
	u64 desc_id; /* description written through */
	u64 total;   /* bytes the call wrote (its return value) */
	u64 done;    /* bytes already emitted */
	u64 off;     /* file offset of the first byte (appends: 0, relative to the end) */
	u64 seg;     /* user address of the current segment */
	u64 seg_len; /* bytes left in the current segment */
	u64 vbase;   /* user address of the iovec array, 0 for write/pwrite */
	u32 vlen;    /* iovec entries */
	u32 iov;     /* next iovec entry to load */
	s32 fd;	     /* descriptor used */
	u16 flags;   /* ST_F_APPEND */
	u16 records; /* records emitted so far */
};
/* Per-CPU progress of the write call being emitted. */
BPF_PERCPU_ARRAY(st_chunk_state, struct st_chunk, 1);
/* Slot ST_JUMP_CHUNK: st_write_chunk, which emits one record and calls itself. */
BPF_PROG_ARRAY(st_jump, 1);
#define ST_JUMP_CHUNK 0

/* Emit the next record of the write in st_chunk_state, then tail-call itself
 * for the next; what no record could carry becomes ST_EV_DIRTY. */
int st_write_chunk(void *ctx)
{
	u32 zero = 0;
	struct st_chunk *c = st_chunk_state.lookup(&zero);
	if (!c)
		return 0;
	u64 desc_id = c->desc_id;
	struct st_desc *d = st_descs.lookup(&desc_id);
	if (!d || c->done >= c->total)
		return 0;
	u32 reason = ST_DIRTY_IOVEC_LIMIT;
	if (c->seg_len == 0) {
		if (!c->vbase || c->iov >= c->vlen || c->iov >= ST_MAX_IOV)
			goto rest;
		struct st_iovec v = {};
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(c->vbase + c->iov * sizeof(v)))) {
			reason = ST_DIRTY_FAULT;
			goto rest;
		}
		c->iov++;
		c->seg = v.base;
		c->seg_len = v.len;
		if (v.len == 0) {
			st_jump.call(ctx, ST_JUMP_CHUNK);
			goto rest;
		}
	}
	if (c->records >= ST_MAX_RECORDS)
		goto rest;
	u64 n = c->total - c->done;
	if (n > c->seg_len)
		n = c->seg_len;
	if (n > ST_CHUNK_DATA)
		n = ST_CHUNK_DATA;
	st_emit_chunk(d, desc_id, c->fd, c->flags, c->off + c->done, n, c->seg);
	c->records++;
	c->seg += n;
	c->seg_len -= n;
	c->done += n;
	if (c->done < c->total)
		st_jump.call(ctx, ST_JUMP_CHUNK);
rest:
	if (c->done < c->total)
		st_emit_data(ST_EV_DIRTY, desc_id, d, d->rep_id, c->fd, c->off + c->done,
			     c->total - c->done, reason);
	return 0;
}

static __always_inline int st_write_exit(void *ctx, long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	if (!st_maybe_followed(id >> 32))
		return 0;
	struct st_pending *p = st_take(&id);
	if (!p)
		return 0;
	if (ret <= 0)
		goto out;
	u64 desc_id = p->desc_id;
	struct st_desc *d = st_descs.lookup(&desc_id);
	u32 zero = 0;
	struct st_chunk *c = st_chunk_state.lookup(&zero);
	if (!d || !c)
		goto out;
	u32 op = p->op;
	int vec = op == ST_OP_WRITEV || op == ST_OP_PWRITEV;
	int explicit_pos = op == ST_OP_PWRITE || (op == ST_OP_PWRITEV && (s64)p->a2 != -1);
	c->flags = 0;
	if ((d->oflags & ST_O_APPEND) || (p->flags & ST_RWF_APPEND)) {
		c->flags = ST_F_APPEND; /* Linux appends even for pwrite on O_APPEND */
		c->off = 0;
	} else if (explicit_pos) {
		c->off = p->a2;
	} else {
		c->off = d->pos;
		__sync_fetch_and_add(&d->pos, ret);
	}
	c->desc_id = desc_id;
	c->total = ret;
	c->done = 0;
	c->fd = p->fd;
	c->records = 0;
	c->iov = 0;
	c->vbase = vec ? p->a0 : 0;
	c->vlen = vec ? p->a1 : 0;
	c->seg = vec ? 0 : p->a0;
	c->seg_len = vec ? 0 : ret;
	st_done(&id);
	if (c->total > ST_CAPTURE_MAX) {
		st_emit_data(ST_EV_DIRTY, desc_id, d, d->rep_id, c->fd, c->off, c->total,
			     ST_DIRTY_LARGE_WRITE);
		return 0;
	}
	st_jump.call(ctx, ST_JUMP_CHUNK);
	/* no chunk program: the whole range must be re-read */
	st_emit_data(ST_EV_DIRTY, desc_id, d, d->rep_id, c->fd, c->off, c->total,
		     ST_DIRTY_IOVEC_LIMIT);
	return 0;
out:
	st_done(&id);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_write)
{
	return st_write_enter(ST_OP_WRITE, args->fd, (u64)args->buf, args->count, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_write)
{
	return st_write_exit(args, args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_pwrite64)
{
	return st_write_enter(ST_OP_PWRITE, args->fd, (u64)args->buf, args->count, args->pos, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_pwrite64)
{
	return st_write_exit(args, args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_writev)
{
	return st_write_enter(ST_OP_WRITEV, args->fd, (u64)args->vec, args->vlen, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_writev)
{
	return st_write_exit(args, args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_pwritev)
{
	return st_write_enter(ST_OP_PWRITEV, args->fd, (u64)args->vec, args->vlen,
			      args->pos_l /* 64-bit: pos_h is ignored by the kernel */, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_pwritev)
{
	return st_write_exit(args, args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_pwritev2)
{
	return st_write_enter(ST_OP_PWRITEV, args->fd, (u64)args->vec, args->vlen,
			      args->pos_l /* 64-bit: pos_h is ignored by the kernel */,
			      args->flags);
}
TRACEPOINT_PROBE(syscalls, sys_exit_pwritev2)
{
	return st_write_exit(args, args->ret);
}

/* bcc only generates tracepoint argument structs for probes of the main
 * text: the loader splices these entry files in place of their #include. */
#include "state_fdops.c"
#include "state_pathops.c"
