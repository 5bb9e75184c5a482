/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* State capture: descriptor ops other than writes (included by state_capture.c). */

/* Save a call on a followed fd (op = ST_EV_* / ST_OP_*), a0..a1 extra arguments. */
static __always_inline int st_fd_enter(u32 op, s32 fd, u64 a0, u64 a1)
{
	return st_fd_save(op, fd, a0, a1, 0, 0);
}

/* Exit of a simple fd op: on success emit type with offset/len taken from a0/a1. */
static __always_inline int st_fd_exit(long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	if (!st_maybe_followed(id >> 32))
		return 0;
	struct st_pending *p = st_take(&id);
	if (!p)
		return 0;
	u64 desc_id = p->desc_id;
	struct st_desc *d = st_descs.lookup(&desc_id);
	if (ret < 0 || !d)
		goto out;
	switch (p->op) {
	case ST_OP_LSEEK:
		d->pos = ret; /* lseek returns the new absolute position */
		break;
	case ST_OP_SETFL:
		d->oflags = (d->oflags & ~ST_O_APPEND) | ((u32)p->a0 & ST_O_APPEND);
		break;
	case ST_EV_FTRUNC:
	case ST_EV_FCHMOD:
	case ST_EV_FATTR:
		st_emit_data(p->op, desc_id, d, d->rep_id, p->fd, p->a0, p->a0, 0);
		break;
	case ST_EV_SYNC:
		st_emit_data(ST_EV_SYNC, desc_id, d, d->rep_id, p->fd, 0, 0, 0);
		break;
	case ST_EV_MMAP:
		if ((u64)ret < (u64)-ST_MAX_ERRNO) /* an address, not -errno */
			st_emit_data(ST_EV_MMAP, desc_id, d, d->rep_id, p->fd, ret, p->a0, 0);
		break;
	case ST_OP_SPLICE: {
		if (ret == 0)
			break;
		u64 off = d->pos;
		if (p->a0) { /* explicit offset pointer: the kernel moved it past the data */
			u64 end = 0;
			bpf_probe_read_user(&end, sizeof(end), (void *)p->a0);
			off = end - ret;
		} else if (!(d->oflags & ST_O_APPEND)) {
			__sync_fetch_and_add(&d->pos, ret);
		}
		st_emit_data(ST_EV_DIRTY, desc_id, d, d->rep_id, p->fd, off, ret, ST_DIRTY_SPLICE);
		break;
	}
	case ST_OP_DUP: {
		/* dup2/dup3 onto an fd we followed closed it first */
		struct st_fd_key nk = {.tgid = id >> 32, .fd = (s32)ret};
		if (nk.fd == p->fd)
			break;
		st_fd_release(&nk);
		u32 *refs = st_desc_refs.lookup(&desc_id);
		if (refs && st_fds.update(&nk, &desc_id) == 0) {
			__sync_fetch_and_add(refs, 1);
			st_emit_proc(ST_EV_DUP, d->rep_id, desc_id, 0, nk.fd);
		}
		break;
	}
	}
out:
	st_done(&id);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_lseek)
{
	return st_fd_enter(ST_OP_LSEEK, args->fd, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_lseek)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_ftruncate)
{
	return st_fd_enter(ST_EV_FTRUNC, args->fd, args->length, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_ftruncate)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fsync)
{
	return st_fd_enter(ST_EV_SYNC, args->fd, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fsync)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fdatasync)
{
	return st_fd_enter(ST_EV_SYNC, args->fd, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fdatasync)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fchmod)
{
	return st_fd_enter(ST_EV_FCHMOD, args->fd, args->mode, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fchmod)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fchown)
{
	return st_fd_enter(ST_EV_FATTR, args->fd, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fchown)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_mmap)
{
	if (!(args->prot & ST_PROT_WRITE) || (args->flags & ST_MAP_SHARED_VALIDATE) == 0 ||
	    (args->flags & ST_MAP_SHARED_VALIDATE) == 2 /* MAP_PRIVATE */)
		return 0;
	return st_fd_enter(ST_EV_MMAP, (s32)args->fd, args->len, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_mmap)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_splice)
{
	return st_fd_enter(ST_OP_SPLICE, (s32)args->fd_out, (u64)args->off_out, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_splice)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendfile64)
{
	return st_fd_enter(ST_OP_SPLICE, (s32)args->out_fd, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_sendfile64)
{
	return st_fd_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_copy_file_range)
{
	return st_fd_enter(ST_OP_SPLICE, (s32)args->fd_out, (u64)args->off_out, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_copy_file_range)
{
	return st_fd_exit(args->ret);
}

/* A dup: of a followed fd, the new fd shares its description; of any other fd
 * of a traced process, user space learns it (old fd in child), for the fd may
 * name a directory that *at calls go through (chown -R, find: F_DUPFD_CLOEXEC). */
static __always_inline int st_dup_enter(s32 oldfd)
{
	struct st_fd_key ok = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = oldfd};
	if (st_maybe_followed(ok.tgid) && st_fds.lookup(&ok))
		return st_fd_enter(ST_OP_DUP, oldfd, 0, 0);
	u32 rep = st_rep_of_current();
	if (!rep)
		return 0;
	struct st_pending p = {};
	p.op = ST_OP_DIRDUP;
	p.fd = oldfd;
	p.rep_id = rep;
	st_save(&p);
	return 0;
}

static __always_inline int st_dup_exit(long ret)
{
	u64 id;
	struct st_pending *p = st_take(&id);
	if (!p)
		return 0;
	if (p->op != ST_OP_DIRDUP)
		return st_fd_exit(ret);
	if (ret >= 0 && ret != p->fd)
		st_emit_proc(ST_EV_DUP, p->rep_id, 0, (u32)p->fd, (s32)ret);
	st_done(&id);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_dup)
{
	return st_dup_enter(args->fildes);
}
TRACEPOINT_PROBE(syscalls, sys_exit_dup)
{
	return st_dup_exit(args->ret);
}

/* dup2/dup3: the new fd is released even when the old one is not followed. */
static __always_inline int st_dup2_enter(s32 oldfd, s32 newfd)
{
	struct st_fd_key nk = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = newfd};
	if (oldfd != newfd && st_maybe_followed(nk.tgid) && st_fds.lookup(&nk)) {
		struct st_fd_key ok = {.tgid = nk.tgid, .fd = oldfd};
		if (!st_fds.lookup(&ok))
			st_fd_release(&nk); /* replaced by an fd we do not follow */
	}
	return st_dup_enter(oldfd);
}

TRACEPOINT_PROBE(syscalls, sys_enter_dup2)
{
	return st_dup2_enter(args->oldfd, args->newfd);
}
TRACEPOINT_PROBE(syscalls, sys_exit_dup2)
{
	return st_dup_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_dup3)
{
	return st_dup2_enter(args->oldfd, args->newfd);
}
TRACEPOINT_PROBE(syscalls, sys_exit_dup3)
{
	return st_dup_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fcntl)
{
	u32 cmd = args->cmd;
	if (cmd == ST_F_DUPFD || cmd == ST_F_DUPFD_CLOEXEC)
		return st_dup_enter(args->fd);
	if (cmd == ST_F_SETFL)
		return st_fd_enter(ST_OP_SETFL, args->fd, args->arg, 0);
	return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_fcntl)
{
	return st_dup_exit(args->ret);
}

/* close releases the fd whatever the result (even EINTR leaves it closed). */
TRACEPOINT_PROBE(syscalls, sys_enter_close)
{
	struct st_fd_key fk = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = args->fd};
	if (st_maybe_followed(fk.tgid))
		st_fd_release(&fk);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_close_range)
{
	u32 rep = st_rep_of_current();
	if (rep)
		st_emit_proc(ST_EV_CLOSERANGE, rep, 0, args->max_fd, args->fd);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_msync)
{
	u32 rep = st_rep_of_current();
	if (!rep)
		return 0;
	struct st_pending p = {};
	p.op = ST_EV_MSYNC;
	p.rep_id = rep;
	p.a0 = args->start;
	p.a1 = args->len;
	st_save(&p);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_msync)
{
	u64 id;
	struct st_pending *p = st_take(&id);
	if (!p)
		return 0;
	if (args->ret == 0 && p->op == ST_EV_MSYNC)
		st_emit_data(ST_EV_MSYNC, 0, 0, p->rep_id, -1, p->a0, p->a1, 0);
	st_done(&id);
	return 0;
}
