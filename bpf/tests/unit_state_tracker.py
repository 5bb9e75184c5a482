# SPDX-License-Identifier: Apache-2.0
"""Record -> StateEvent translation without a kernel: resolution, filtering, renames."""

from __future__ import annotations

from edgerep.v1 import loader_pb2
from edgerep_loader import state_program as sp
from edgerep_loader.state_tracker import AT_FDCWD, KernelFds, Tracker, inside


class FakeKernel(KernelFds):
    def __init__(self):
        self.dropped = []
        self.paths = {}

    def drop_fd(self, tgid, fd):
        self.dropped.append((tgid, fd))

    def desc_path(self, desc_id):
        return self.paths.get(desc_id)


def rec(type_, **kw):
    base = dict(
        type=type_,
        seq=kw.pop("seq", 0),
        cpu=0,
        ts_ns=1,
        tgid=kw.pop("tgid", 10),
        rep_id=kw.pop("rep_id", 1),
        desc_id=kw.pop("desc_id", 0),
        flags=kw.pop("flags", 0),
    )
    r = sp.Record(**base)
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def tracker(links=None, umasks=None):
    links = links or {}
    umasks = umasks or {}
    t = Tracker(FakeKernel(), proc_link=lambda pid, what: links.get((pid, what)), proc_umask=umasks.get)
    t.set_trace(1, ["/data"], "")
    return t


def ops(events):
    out = []
    for e in events:
        kind = e.WhichOneof("op")
        op = getattr(e, kind)
        out.append((kind, getattr(op, "path", None) or getattr(op, "to", None)))
    return out


def test_inside_respects_component_boundaries():
    assert inside(["/data"], "/data")
    assert inside(["/data"], "/data/x/y")
    assert not inside(["/data"], "/database")
    assert not inside(["/data"], "/")


def test_relative_open_resolves_against_proc_cwd_then_tracked_chdir():
    t = tracker({(10, "cwd"): "/data/sub"})
    ev = t.handle(
        rec(sp.EV_OPEN, desc_id=5, fd=3, path=b"../f", oflags=0o101, mode=0o644, flags=sp.F_RELATIVE)
    )
    assert ops(ev) == [("create", "/data/f")]
    t.handle(rec(sp.EV_CHDIR, path=b"/elsewhere", fd=-1))
    ev = t.handle(rec(sp.EV_OPEN, desc_id=6, fd=4, path=b"g", oflags=0o101, flags=sp.F_RELATIVE))
    assert ev == []  # /elsewhere/g is outside the prefixes
    assert t.handle(rec(sp.EV_WRITE, desc_id=6, offset=0, length=1, data=b"x")) == []
    ev = t.handle(rec(sp.EV_WRITE, desc_id=5, offset=0, length=1, data=b"x"))
    assert ev[0].write.path == "/data/f" and ev[0].seq == 2


def test_dirfd_from_a_directory_open_and_dotdot_escape():
    t = tracker()
    t.handle(rec(sp.EV_DIROPEN, fd=7, path=b"/data/d", dfd=AT_FDCWD))
    assert ops(t.handle(rec(sp.EV_MKDIR, path=b"x", dfd=7, mode=0o755))) == [("mkdir", "/data/d/x")]
    assert t.handle(rec(sp.EV_MKDIR, path=b"../../etc/x", dfd=7)) == []
    assert t.handle(rec(sp.EV_UNLINK, path=b"/data/../etc/passwd", dfd=AT_FDCWD)) == []


def test_unresolvable_relative_path_is_dropped_and_counted():
    t = tracker()
    assert t.handle(rec(sp.EV_UNLINK, path=b"x", dfd=AT_FDCWD, tgid=99)) == []
    assert t.unresolved == 1
    # reported once per replication, so the agent resyncs what the call may have changed
    assert t.take_unresolved() == {1: 1}
    assert t.take_unresolved() == {}


def test_rename_in_out_and_over():
    t = tracker()
    t.handle(rec(sp.EV_OPEN, desc_id=1, fd=3, path=b"/data/a", oflags=0o1))
    ev = t.handle(rec(sp.EV_RENAME, path=b"/data/a", path2=b"/data/b", dfd=AT_FDCWD, fd=AT_FDCWD))
    assert [(e.rename.__getattribute__("from"), e.rename.to) for e in ev] == [("/data/a", "/data/b")]
    # the open description follows the file to its new name
    assert t.handle(rec(sp.EV_WRITE, desc_id=1, data=b"z", length=1))[0].write.path == "/data/b"
    assert ops(t.handle(rec(sp.EV_RENAME, path=b"/data/b", path2=b"/tmp/b", dfd=AT_FDCWD, fd=AT_FDCWD))) == [
        ("unlink", "/data/b")
    ]
    assert t.handle(rec(sp.EV_WRITE, desc_id=1, data=b"z", length=1)) == []
    ev = t.handle(rec(sp.EV_RENAME, path=b"/tmp/c", path2=b"/data/c", dfd=AT_FDCWD, fd=AT_FDCWD))
    assert ev[0].dirty.path == "/data/c" and ev[0].dirty.reason == loader_pb2.DIRTY_REASON_RENAME_IN


def test_replaced_file_no_longer_receives_writes_of_old_descriptor():
    t = tracker()
    t.handle(rec(sp.EV_OPEN, desc_id=1, fd=3, path=b"/data/cfg", oflags=0o1))
    t.handle(rec(sp.EV_OPEN, desc_id=2, fd=4, path=b"/data/cfg.tmp", oflags=0o101))
    t.handle(rec(sp.EV_RENAME, path=b"/data/cfg.tmp", path2=b"/data/cfg", dfd=AT_FDCWD, fd=AT_FDCWD))
    assert t.handle(rec(sp.EV_WRITE, desc_id=1, data=b"old", length=3)) == []
    assert t.handle(rec(sp.EV_WRITE, desc_id=2, data=b"new", length=3))[0].write.path == "/data/cfg"


def test_exit_drops_followed_fds_and_reports_shared_mappings():
    t = tracker()
    t.handle(rec(sp.EV_OPEN, desc_id=1, fd=3, path=b"/data/m", oflags=0o2))
    t.handle(rec(sp.EV_DUP, desc_id=1, fd=9))
    t.handle(rec(sp.EV_MMAP, desc_id=1, offset=0x1000, length=0x2000))
    ev = t.handle(rec(sp.EV_MSYNC, offset=0x1800, length=16))
    assert [(e.dirty.path, e.dirty.reason) for e in ev] == [("/data/m", loader_pb2.DIRTY_REASON_MMAP)]
    ev = t.handle(rec(sp.EV_EXIT))
    assert [(e.dirty.path, e.dirty.reason) for e in ev] == [("/data/m", loader_pb2.DIRTY_REASON_MMAP)]
    assert sorted(t.kernel.dropped) == [(10, 3), (10, 9)]


def test_fork_inherits_cwd_and_fds():
    t = tracker({(10, "cwd"): "/data"})
    t.handle(rec(sp.EV_OPEN, desc_id=1, fd=3, path=b"/data/log", oflags=0o2001))
    t.handle(rec(sp.EV_FORK, child=11))
    ev = t.handle(rec(sp.EV_OPEN, tgid=11, desc_id=2, fd=4, path=b"x", oflags=0o101, flags=sp.F_RELATIVE))
    assert ops(ev) == [("create", "/data/x")]
    t.handle(rec(sp.EV_EXIT, tgid=11))
    assert (11, 3) in t.kernel.dropped


def test_created_modes_are_masked_by_the_umask_from_proc_forks_and_calls():
    t = tracker(umasks={10: 0o077})

    def created(tgid, mode, type_=sp.EV_OPEN, path=b"/data/f"):
        (e,) = t.handle(rec(type_, tgid=tgid, desc_id=tgid, fd=3, path=path, oflags=0o101, mode=mode))
        return (e.create if type_ == sp.EV_OPEN else e.mkdir).mode

    assert created(10, 0o666) == 0o600  # first seen: /proc
    t.handle(rec(sp.EV_FORK, child=11))
    t.handle(rec(sp.EV_UMASK, child=0o002))
    assert created(10, 0o666) == 0o664  # its umask(2) call
    assert created(11, 0o666) == 0o600  # the child inherited the mask of fork time
    assert created(11, 0o1777, sp.EV_MKDIR, b"/data/d") == 0o1700  # sticky kept
    assert created(12, 0o4777) == 0o4755  # gone before /proc was read: the usual 022
    t.handle(rec(sp.EV_EXIT, tgid=10))
    assert 10 not in t.umasks


def test_lost_open_falls_back_to_the_kernel_path():
    t = tracker()
    t.kernel.paths[77] = "/data/lost-open"
    ev = t.handle(rec(sp.EV_WRITE, desc_id=77, data=b"abc", length=3, offset=5))
    assert ev[0].write.path == "/data/lost-open" and ev[0].write.offset == 5


def test_loss_events_name_each_file_once():
    t = tracker()
    ev = t.loss_events(1, ["/data/b", "/data/a", "/data/b"])
    assert [(e.dirty.path, e.dirty.reason, e.seq) for e in ev] == [
        ("/data/a", loader_pb2.DIRTY_REASON_LOST, 1),
        ("/data/b", loader_pb2.DIRTY_REASON_LOST, 2),
    ]


def test_per_cpu_sequence_gaps_are_counted():
    t = tracker()
    for s in (1, 2, 5):
        t.handle(rec(sp.EV_SYNC, seq=s, desc_id=0))
    assert t.seq_gaps == 2


def test_sequence_is_per_replication_id():
    t = tracker()
    t.set_trace(2, ["/other"], "")
    a = t.handle(rec(sp.EV_MKDIR, path=b"/data/x", dfd=AT_FDCWD))
    b = t.handle(rec(sp.EV_MKDIR, path=b"/other/x", dfd=AT_FDCWD, rep_id=2))
    c = t.handle(rec(sp.EV_MKDIR, path=b"/data/y", dfd=AT_FDCWD))
    assert [(e.replication_id, e.seq) for e in a + b + c] == [(1, 1), (2, 1), (1, 2)]


def test_coalescing_merges_continuing_writes_only():
    t = tracker()
    t.set_trace(1, ["/data"], "", coalesce=True)
    t.descs.update({1: "/data/a", 2: "/data/b"})
    out = []
    for desc, off, data, flags in [
        (1, 0, b"ab", 0),
        (1, 2, b"cd", 0),
        (1, 10, b"x", 0),
        (2, 0, b"l1", sp.F_APPEND),
        (2, 0, b"l2", sp.F_APPEND),
    ]:
        ev = t.handle_write(1, 0, desc, 10, 1, 0, flags, off, data)
        out.extend([ev] if ev else [])
    out.extend(t.handle(rec(sp.EV_MKDIR, path=b"/data/d", dfd=AT_FDCWD)))
    out.extend(t.flush())
    got = [(e.WhichOneof("op"), getattr(e, e.WhichOneof("op")).path, e.seq) for e in out]
    assert got == [
        ("write", "/data/a", 1),
        ("write", "/data/a", 2),
        ("write", "/data/b", 3),
        ("mkdir", "/data/d", 4),
    ]
    assert [(e.write.offset, e.write.data, e.write.append) for e in out[:3]] == [
        (0, b"abcd", False),
        (10, b"x", False),
        (0, b"l1l2", True),
    ]
