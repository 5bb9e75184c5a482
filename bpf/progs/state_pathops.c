/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* State capture: path ops and process lifecycle (included by state_capture.c). */

/* Save a path op when a path (or the rename target) is wanted.
 * Pending layout: a0 path, a1 path2 or length, a2 mode | aflags << 32, a3 dfd2, fd dfd. */
static __always_inline int st_path_enter(u32 type, const char *path, s32 dfd, const char *path2,
					 s32 dfd2, u64 arg, u32 mode, u32 aflags)
{
	u32 rep = st_rep_of_current();
	if (!rep)
		return 0;
	struct st_pending p = {};
	int wanted = st_path_wanted(rep, path, dfd, &p.flags);
	if (!wanted && path2)
		wanted = st_path_wanted(rep, path2, dfd2, &p.flags);
	if (!wanted)
		return 0;
	p.op = type;
	p.rep_id = rep;
	p.a0 = (u64)path;
	p.a1 = path2 ? (u64)path2 : arg;
	p.a2 = mode | ((u64)aflags << 32);
	p.a3 = (u64)(s64)dfd2;
	p.fd = dfd;
	st_save(&p);
	return 0;
}

static __always_inline int st_path_exit(long ret)
{
	u64 id;
	struct st_pending *p = st_take(&id);
	if (!p)
		return 0;
	if (ret == 0)
		st_emit_path(p, p->op);
	st_done(&id);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_truncate)
{
	return st_path_enter(ST_EV_TRUNC, args->path, ST_AT_FDCWD, 0, 0, args->length, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_truncate)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_rename)
{
	return st_path_enter(ST_EV_RENAME, args->oldname, ST_AT_FDCWD, args->newname, ST_AT_FDCWD,
			     0, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_rename)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_renameat)
{
	return st_path_enter(ST_EV_RENAME, args->oldname, args->olddfd, args->newname, args->newdfd,
			     0, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_renameat)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_renameat2)
{
	return st_path_enter(ST_EV_RENAME, args->oldname, args->olddfd, args->newname, args->newdfd,
			     0, 0, args->flags);
}
TRACEPOINT_PROBE(syscalls, sys_exit_renameat2)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_unlink)
{
	return st_path_enter(ST_EV_UNLINK, args->pathname, ST_AT_FDCWD, 0, 0, 0, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_unlink)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_unlinkat)
{
	u32 type = (args->flag & ST_AT_REMOVEDIR) ? ST_EV_RMDIR : ST_EV_UNLINK;
	return st_path_enter(type, args->pathname, args->dfd, 0, 0, 0, 0, args->flag);
}
TRACEPOINT_PROBE(syscalls, sys_exit_unlinkat)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_rmdir)
{
	return st_path_enter(ST_EV_RMDIR, args->pathname, ST_AT_FDCWD, 0, 0, 0, 0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_rmdir)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_mkdir)
{
	return st_path_enter(ST_EV_MKDIR, args->pathname, ST_AT_FDCWD, 0, 0, 0, args->mode, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_mkdir)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_mkdirat)
{
	return st_path_enter(ST_EV_MKDIR, args->pathname, args->dfd, 0, 0, 0, args->mode, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_mkdirat)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_chmod)
{
	return st_path_enter(ST_EV_CHMOD, args->filename, ST_AT_FDCWD, 0, 0, 0, args->mode, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_chmod)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fchmodat)
{
	return st_path_enter(ST_EV_CHMOD, args->filename, args->dfd, 0, 0, 0, args->mode, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fchmodat)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fchmodat2)
{
	return st_path_enter(ST_EV_CHMOD, args->filename, args->dfd, 0, 0, 0, args->mode,
			     args->flags);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fchmodat2)
{
	return st_path_exit(args->ret);
}

/* An owner or times change on a path: the agent reads what the call left. A call
 * that names no path (utimensat with NULL, *at with AT_EMPTY_PATH and "") acts on
 * the fd itself, as fchown does. */
static __always_inline int st_attr_enter(const char *path, s32 dfd, u32 aflags)
{
	char first = 0;
	if (path)
		bpf_probe_read_user(&first, 1, path);
	if (!path || (!first && (aflags & ST_AT_EMPTY_PATH)))
		return st_fd_enter(ST_EV_FATTR, dfd, 0, 0);
	return st_path_enter(ST_EV_ATTR, path, dfd, 0, 0, 0, 0, aflags);
}

/* Exit of either form: the pending entry says which one it was. */
static __always_inline int st_attr_exit(long ret)
{
	u64 id;
	struct st_pending *p = st_take(&id);
	if (p && p->op == ST_EV_FATTR)
		return st_fd_exit(ret);
	return st_path_exit(ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_chown)
{
	return st_attr_enter(args->filename, ST_AT_FDCWD, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_chown)
{
	return st_attr_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_lchown)
{
	return st_attr_enter(args->filename, ST_AT_FDCWD, ST_AT_SYMLINK_NOFOLLOW);
}
TRACEPOINT_PROBE(syscalls, sys_exit_lchown)
{
	return st_attr_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fchownat)
{
	return st_attr_enter(args->filename, args->dfd, args->flag);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fchownat)
{
	return st_attr_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_utimensat)
{
	return st_attr_enter(args->filename, args->dfd, args->flags);
}
TRACEPOINT_PROBE(syscalls, sys_exit_utimensat)
{
	return st_attr_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_futimesat)
{
	return st_attr_enter(args->filename, args->dfd, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_futimesat)
{
	return st_attr_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_utimes)
{
	return st_attr_enter(args->filename, ST_AT_FDCWD, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_utimes)
{
	return st_attr_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_utime)
{
	return st_attr_enter(args->filename, ST_AT_FDCWD, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_utime)
{
	return st_attr_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_link)
{
	return st_path_enter(ST_EV_LINK, args->oldname, ST_AT_FDCWD, args->newname, ST_AT_FDCWD, 0,
			     0, 0);
}
TRACEPOINT_PROBE(syscalls, sys_exit_link)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_linkat)
{
	return st_path_enter(ST_EV_LINK, args->oldname, args->olddfd, args->newname, args->newdfd,
			     0, 0, args->flags);
}
TRACEPOINT_PROBE(syscalls, sys_exit_linkat)
{
	return st_path_exit(args->ret);
}

/* symlink: only the link's own path is filtered; the target is kept verbatim. */
static __always_inline int st_symlink_enter(const char *target, const char *path, s32 dfd)
{
	u32 rep = st_rep_of_current();
	if (!rep)
		return 0;
	struct st_pending p = {};
	if (!st_path_wanted(rep, path, dfd, &p.flags))
		return 0;
	p.op = ST_EV_SYMLINK;
	p.rep_id = rep;
	p.a0 = (u64)target;
	p.a1 = (u64)path;
	p.a3 = (u64)(s64)dfd;
	p.fd = ST_AT_FDCWD;
	st_save(&p);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_symlink)
{
	return st_symlink_enter(args->oldname, args->newname, ST_AT_FDCWD);
}
TRACEPOINT_PROBE(syscalls, sys_exit_symlink)
{
	return st_path_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_symlinkat)
{
	return st_symlink_enter(args->oldname, args->newname, args->newdfd);
}
TRACEPOINT_PROBE(syscalls, sys_exit_symlinkat)
{
	return st_path_exit(args->ret);
}

/* --- working directory and process lifecycle: user space resolves relative paths --- */

/* chdir(path) or fchdir(fd): saved until the exit tells whether it worked. */
static __always_inline int st_chdir_enter(const char *path, s32 fd)
{
	u32 rep = st_rep_of_current();
	if (!rep)
		return 0;
	struct st_pending p = {};
	p.op = ST_EV_CHDIR;
	p.rep_id = rep;
	p.a0 = (u64)path;
	p.fd = fd;
	st_save(&p);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_chdir)
{
	return st_chdir_enter(args->filename, -1);
}

TRACEPOINT_PROBE(syscalls, sys_enter_fchdir)
{
	return st_chdir_enter(0, args->fd);
}

static __always_inline int st_chdir_exit(long ret)
{
	u64 id;
	struct st_pending *p = st_take(&id);
	if (!p)
		return 0;
	if (ret == 0 && p->op == ST_EV_CHDIR)
		st_emit_open(ST_EV_CHDIR, 0, p->rep_id, 0, p->fd, ST_AT_FDCWD, 0, 0,
			     (const char *)p->a0);
	st_done(&id);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_chdir)
{
	return st_chdir_exit(args->ret);
}
TRACEPOINT_PROBE(syscalls, sys_exit_fchdir)
{
	return st_chdir_exit(args->ret);
}

/* The mode a process asks of open(O_CREAT) and mkdir is masked by its umask,
 * which no stable interface shows at those calls: user space learns it from
 * /proc once per process, then follows forks and these calls. umask(2) cannot
 * fail, so the record is made at entry. */
TRACEPOINT_PROBE(syscalls, sys_enter_umask)
{
	u32 rep = st_rep_of_current();
	if (rep)
		st_emit_proc(ST_EV_UMASK, rep, 0, args->mask & 0777, 0);
	return 0;
}

/* A forked child shares its parent's open descriptions: follow the child's
 * copies of the followed fds below ST_FORK_FDS. Runs in the parent, before the
 * child can run. (Also fires for new threads: user space drops those copies.) */
TRACEPOINT_PROBE(sched, sched_process_fork)
{
	u32 rep = st_rep_of_current();
	if (!rep)
		return 0;
	u32 parent = bpf_get_current_pid_tgid() >> 32;
	u32 child = args->child_pid;
	u32 copied = 0;
	if (!st_maybe_followed(parent))
		goto emit;
	for (s32 fd = 0; fd < ST_FORK_FDS; fd++) {
		struct st_fd_key pk = {.tgid = parent, .fd = fd};
		u64 *desc = st_fds.lookup(&pk);
		if (!desc)
			continue;
		u64 desc_id = *desc;
		u32 *refs = st_desc_refs.lookup(&desc_id);
		if (!refs)
			continue;
		struct st_fd_key ck = {.tgid = child, .fd = fd};
		if (st_fds.update(&ck, &desc_id) == 0) {
			__sync_fetch_and_add(refs, 1);
			copied = 1;
		}
	}
	if (copied)
		st_tgid_add(child);
emit:
	st_emit_proc(ST_EV_FORK, rep, 0, child, 0);
	return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit)
{
	u64 id = bpf_get_current_pid_tgid();
	if ((u32)id != (u32)(id >> 32))
		return 0; /* a thread, not the process */
	st_tgid_del(id >> 32);
	u32 rep = st_rep_of_current();
	if (rep)
		st_emit_proc(ST_EV_EXIT, rep, 0, 0, 0);
	return 0;
}
