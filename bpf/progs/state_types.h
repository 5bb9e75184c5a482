/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* State capture: structs and codes shared between the BPF program and the
 * loader. The loader never mirrors these by hand: it reads their layout from
 * bcc (one dummy map per struct, see state_capture.c "layout maps").
 *
 * Event type and reason codes are stable: never renumber or reuse one.
 */
#ifndef EDGEREP_STATE_TYPES_H
#define EDGEREP_STATE_TYPES_H

/* Bytes of a path kept in events, descriptors and the prefix trie. An LPM
 * trie key holds at most 256 data bytes: 2 of them carry the replication id. */
#define ST_PATH_LEN 254

/* --- event types (st_hdr.type) --- */
#define ST_EV_OPEN	 1  /* st_open: a file opened for writing (or O_CREAT/O_TRUNC) */
#define ST_EV_DIROPEN	 2  /* st_open: a directory fd, for *at resolution */
#define ST_EV_WRITE	 3  /* st_data + data bytes */
#define ST_EV_DIRTY	 4  /* st_data: range the kernel could not copy */
#define ST_EV_FTRUNC	 5  /* st_data: ftruncate, offset = new length */
#define ST_EV_SYNC	 6  /* st_data: fsync/fdatasync barrier */
#define ST_EV_CLOSE	 7  /* st_data: last fd of a description closed */
#define ST_EV_FCHMOD	 8  /* st_data: fchmod, len = mode */
#define ST_EV_MMAP	 9  /* st_data: shared writable mapping, offset = addr */
#define ST_EV_MSYNC	 10 /* st_data: msync(addr = offset, len) */
#define ST_EV_TRUNC	 11 /* st_path: truncate(path, arg) */
#define ST_EV_RENAME	 12 /* st_path: path -> path2 */
#define ST_EV_UNLINK	 13 /* st_path: unlink / unlinkat without AT_REMOVEDIR */
#define ST_EV_MKDIR	 14 /* st_path: mode */
#define ST_EV_RMDIR	 15 /* st_path: rmdir / unlinkat with AT_REMOVEDIR */
#define ST_EV_CHMOD	 16 /* st_path: chmod / fchmodat, mode */
#define ST_EV_CHDIR	 17 /* st_open: chdir(path) or fchdir(fd) */
#define ST_EV_FORK	 18 /* st_proc: child inherits cwd and fds */
#define ST_EV_EXIT	 19 /* st_proc: process gone, its fds with it */
#define ST_EV_DUP	 20 /* st_proc: fd = new fd now sharing desc_id (0: a dup of fd child) */
#define ST_EV_CLOSERANGE 21 /* st_proc: fd..child closed (close_range) */
#define ST_EV_LINK	 22 /* st_path: link / linkat path -> path2 */
#define ST_EV_SYMLINK	 23 /* st_path: symlink: path2 names a link holding path */
#define ST_EV_UMASK	 24 /* st_proc: child = the process's new umask */
#define ST_EV_ATTR	 25 /* st_path: owner or times changed (chown, utimensat, ...) */
#define ST_EV_FATTR	 26 /* st_data: owner or times changed through a followed fd */

/* --- st_hdr.flags --- */
#define ST_F_RELATIVE  0x1 /* path relative or *at with a dir fd: user space resolves */
#define ST_F_APPEND    0x2 /* write with O_APPEND / RWF_APPEND: offset is the end */
#define ST_F_TRUNCATED 0x4 /* path longer than ST_PATH_LEN - 1 */

/* --- st_data.reason for ST_EV_DIRTY --- */
#define ST_DIRTY_LARGE_WRITE 1 /* write beyond the capture cap */
#define ST_DIRTY_IOVEC_LIMIT 2 /* more iovec pieces than records per call */
#define ST_DIRTY_SPLICE	     3 /* splice / sendfile / copy_file_range into the file */
#define ST_DIRTY_FAULT	     4 /* the user buffer could not be read at exit */

/* Common head of every ring-buffer record. */
struct st_hdr {
	u64 ts_ns;   /* bpf_ktime_get_ns() at syscall exit */
	u64 seq;     /* per-CPU sequence of record attempts (gaps = losses) */
	u64 desc_id; /* open file description the op went through, 0 for path ops */
	u32 tgid;    /* process that made the call */
	u32 rep_id;  /* replication id of the process's cgroup */
	u32 cpu;     /* CPU whose sequence `seq` belongs to */
	u16 type;    /* ST_EV_* */
	u16 flags;   /* ST_F_* */
};

/* ST_EV_OPEN, ST_EV_DIROPEN, ST_EV_CHDIR */
struct st_open {
	struct st_hdr hdr;	/* common head */
	s32 fd;			/* resulting fd (fchdir: the fd, chdir: -1) */
	s32 dfd;		/* directory fd of openat (AT_FDCWD = -100) */
	u32 oflags;		/* open flags (O_CREAT, O_TRUNC, O_APPEND, ...) */
	u32 mode;		/* creation mode as passed */
	char path[ST_PATH_LEN]; /* path as passed by the process */
};

/* Descriptor ops: ST_EV_WRITE (data follows), DIRTY, FTRUNC, SYNC, CLOSE, FCHMOD, FATTR, MMAP,
 * MSYNC */
struct st_data {
	struct st_hdr hdr; /* common head */
	u64 offset;	   /* file offset of the bytes / new length / address */
	u64 len;	   /* bytes of data following / range length / mode */
	u32 reason;	   /* ST_DIRTY_* for ST_EV_DIRTY */
	s32 fd;		   /* descriptor used by the process */
	u8 data[0];	   /* ST_EV_WRITE: len bytes, copied at syscall exit */
};

/* Path ops: ST_EV_TRUNC, RENAME, UNLINK, MKDIR, RMDIR, CHMOD, LINK, SYMLINK, ATTR */
struct st_path {
	struct st_hdr hdr;	 /* common head */
	s32 dfd;		 /* directory fd of path (AT_FDCWD = -100) */
	s32 dfd2;		 /* directory fd of path2 */
	u32 mode;		 /* mkdir / chmod mode */
	u32 aflags;		 /* renameat2 / unlinkat / *at AT_SYMLINK_NOFOLLOW flags */
	u64 arg;		 /* truncate length */
	char path[ST_PATH_LEN];	 /* path as passed */
	char path2[ST_PATH_LEN]; /* rename target as passed */
};

/* Process ops: ST_EV_FORK, EXIT, DUP, CLOSERANGE, UMASK */
struct st_proc {
	struct st_hdr hdr; /* common head */
	u32 child;	   /* FORK: child pid; CLOSERANGE: last fd; UMASK: the mask; DUP: old fd */
	s32 fd;		   /* DUP: the new fd; CLOSERANGE: first fd */
};

/* Key of the prefix trie: longest-prefix match on (replication id, path). */
struct st_prefix_key {
	u32 prefixlen;		/* bits that count: 16 (rep id) + 8 * bytes of prefix */
	u16 rep_id;		/* replication id, matched in full */
	char path[ST_PATH_LEN]; /* "/data/" for a prefix, "/data\0" for the dir itself */
};

/* An open file description followed because it was opened under a prefix. */
struct st_desc {
	u64 pos;		/* file position for write/writev (moved by writes, lseek) */
	u32 rep_id;		/* replication id it belongs to */
	u32 oflags;		/* open flags (O_APPEND marks appends) */
	u32 relative;		/* 1 = opened by a relative path, resolved by user space */
	u32 _pad;		/* keeps path 8-byte aligned */
	char path[ST_PATH_LEN]; /* path as opened (for loss reports) */
};

/* (process, fd) -> description; key of the fd map. */
struct st_fd_key {
	u32 tgid; /* process */
	s32 fd;	  /* descriptor number */
};

/* Arguments saved at sys_enter for sys_exit (keyed by thread id). */
struct st_pending {
	u64 a0;	     /* first pointer / value argument */
	u64 a1;	     /* second */
	u64 a2;	     /* third */
	u64 a3;	     /* fourth */
	u64 desc_id; /* description the call goes through (fd ops) */
	u32 op;	     /* ST_EV_* the exit will emit, or ST_OP_* below */
	s32 fd;	     /* fd argument */
	u32 rep_id;  /* replication id */
	u32 flags;   /* ST_F_* / open flags */
};

/* Key of the per-file loss map: what user space must resync. */
struct st_lost_key {
	u64 desc_id;		/* description, 0 for path ops */
	u32 rep_id;		/* replication id */
	u32 tgid;		/* process (to resolve a relative path) */
	char path[ST_PATH_LEN]; /* path as known to the kernel */
};

#endif
