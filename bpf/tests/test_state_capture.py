# SPDX-License-Identifier: Apache-2.0
"""State capture, scripted: a known program in its own cgroup, exact expected ops."""

from __future__ import annotations

import os

from statelib import harness
from statelib.fixtures import cgroup, state_service, traced, workdir  # noqa: F401 (fixtures)
from statelib.replay import replay, tree_digest
from statelib.workload import BIG, HUGE

#: What the "basic" scenario of statelib/workload.py must produce, in order,
#: paths relative to the traced prefix.
EXPECTED_BASIC = (
    [
        ("create", "/a.txt", 0o644, True),
        ("write", "/a.txt", 0, b"hello world\n", False),
        ("write", "/a.txt", 12, b"second line\n", False),
        ("write", "/a.txt", 6, b"WORLD", False),  # after lseek(6)
        ("write", "/a.txt", 100, b"PW", False),  # pwrite: explicit offset
        ("write", "/a.txt", 11, b"abc", False),  # writev, position not moved by pwrite
        ("write", "/a.txt", 14, b"defgh", False),  # (the empty iovec gives nothing)
        ("truncate", "/a.txt", 50),
        ("sync", "/a.txt"),
        ("write", "/a.txt", 19, b"dup", False),  # dup'ed fd shares the position
        ("write", "/a.txt", 22, b"X", False),
        ("write", "/a.txt", 23, b"Y", False),  # through dup2's fd after the original closed
        ("create", "/log", 0o600, False),
        ("write", "/log", 0, b"line1\n", True),
        ("write", "/log", 0, b"line2\n", True),
        ("create", "/cfg", 0o644, True),
        ("write", "/cfg", 0, b"v1", False),
        ("create", "/cfg.tmp", 0o644, False),
        ("write", "/cfg.tmp", 0, b"version 2", False),
        ("sync", "/cfg.tmp"),
        ("rename", "/cfg.tmp", "/cfg"),
        ("mkdir", "/sub", 0o750),
        ("create", "/sub/rel.txt", 0o644, False),  # relative to a chdir'ed cwd
        ("write", "/sub/rel.txt", 0, b"rel", False),
        ("create", "/rel2.txt", 0o644, False),  # "sub/../rel2.txt"
        ("write", "/rel2.txt", 0, b"rel2", False),
        ("create", "/sub/at.txt", 0o644, False),  # openat with a directory fd
        ("write", "/sub/at.txt", 0, b"at", False),
        ("mkdir", "/sub/inner", 0o700),
        ("unlink", "/sub/at.txt"),
        ("rmdir", "/sub/inner"),
        ("truncate", "/a.txt", 10),
        ("chmod", "/a.txt", 0o600),
        ("chmod", "/a.txt", 0o640),  # fchmod
        ("unlink", "/log"),
        ("mkdir", "/empty", 0o750),  # 0777 asked, umask 027 by then
        ("rmdir", "/empty"),
        ("create", "/big", 0o640, False),
    ]
    + [
        # 100 KiB in 16 KiB chunks, byte for byte
        ("write", "/big", off, BIG[off : off + 16384], False)
        for off in range(0, len(BIG), 16384)
    ]
    + [
        # beyond the 256 KiB cap: only the range, for user space to read
        ("dirty", "/big", len(BIG), len(HUGE), "large_write"),
    ]
)


def test_scripted_workload_gives_exact_ops(traced):
    t, origin, outside = traced
    # a process outside the cgroup writing under the prefix must give nothing
    harness.run_outside("outsider", origin, outside)
    harness.run_workload(t.cg, "basic", origin, outside)
    events = t.collector.wait_fence(origin + "/.fence")
    got = [harness.brief(e, origin) for e in events]
    assert got == EXPECTED_BASIC
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.replication_id for e in events} == {t.rep}
    assert t.collector.lost() == {}


def test_scripted_workload_replays_byte_identical(traced, workdir):
    t, origin, outside = traced
    harness.run_workload(t.cg, "basic", origin, outside)
    events = t.collector.wait_fence(origin + "/.fence")
    replica = os.path.join(workdir, "replica")
    os.mkdir(replica)
    replay(events, origin, replica)
    os.rmdir(os.path.join(origin, ".fence"))
    assert tree_digest(replica) == tree_digest(origin)


EXPECTED_SPECIAL = [
    ("create", "/s", 0o644, False),
    ("truncate", "/s", 8192),
    ("dirty", "/s", 0, 0, "mmap"),  # msync of a shared writable mapping
    ("create", "/c", 0o644, False),
    ("dirty", "/c", 0, 5000, "splice"),  # copy_file_range
    ("write", "/c", 0, b"tail", True),  # pwritev2(RWF_APPEND), two iovecs in one record each
    ("create", "/sf", 0o644, False),
    ("dirty", "/sf", 0, 3000, "splice"),  # sendfile
    ("symlink", "c", "/sl"),
    ("link", "/c", "/hl"),
    ("dirty", "/hl-in", 0, 0, "link_in"),
]


def test_what_the_kernel_cannot_copy_is_reported_as_ranges(traced, workdir):
    t, origin, outside = traced
    harness.run_workload(t.cg, "special", origin, outside)
    events = t.collector.wait_fence(origin + "/.fence")
    got = [harness.brief(e, origin) for e in events]
    # the two iovecs of pwritev2 arrive as two records; compare them joined
    merged = []
    for g in got:
        if merged and g[0] == "write" and merged[-1][0] == "write" and g[1] == merged[-1][1] and g[4]:
            merged[-1] = ("write", g[1], 0, merged[-1][3] + g[3], True)
        else:
            merged.append(g)
    assert merged == EXPECTED_SPECIAL
    replica = os.path.join(workdir, "replica")
    os.mkdir(replica)
    replay(events, origin, replica)
    os.rmdir(os.path.join(origin, ".fence"))
    assert tree_digest(replica) == tree_digest(origin)


EXPECTED_ATTRS = [
    ("create", "/f", 0o644, False),
    ("attrs", "/f", False),  # chown
    ("symlink", "f", "/l"),
    ("attrs", "/l", True),  # lchown
    ("attrs", "/f", True),  # fchown
    ("attrs", "/f", True),  # futimens
    ("attrs", "/f", True),  # fchownat AT_EMPTY_PATH
    ("attrs", "/f", False),  # utimensat
    ("attrs", "/l", True),  # utimensat AT_SYMLINK_NOFOLLOW
    ("mkdir", "/sub", 0o755),
    ("create", "/sub/g", 0o644, True),
    ("attrs", "/sub/g", False),  # fchownat relative to a directory fd
    ("attrs", "/sub/g", False),  # futimesat
    ("attrs", "/f", False),  # utimes
    ("attrs", "/f", False),  # utime
]


def test_owner_and_time_changes_are_captured_by_every_call(traced):
    t, origin, outside = traced
    harness.run_workload(t.cg, "attrs", origin, outside)
    events = t.collector.wait_fence(origin + "/.fence")
    assert [harness.brief(e, origin) for e in events] == EXPECTED_ATTRS
    assert t.collector.lost() == {}


def test_walks_through_duplicated_and_component_directory_fds_resolve(traced):
    """chown -R goes through F_DUPFD_CLOEXEC copies of directory fds; rsync opens one path
    component at a time from "/": every *at call still names its path, none is lost."""
    t, origin, outside = traced
    src = os.path.join(outside, "src")
    os.makedirs(os.path.join(src, "d", "e"))
    for rel in ("f", "d/g", "d/e/h"):
        with open(os.path.join(src, rel), "w") as fh:
            fh.write(rel)
    t.cg.run(["cp", "-a", src, origin + "/c"])
    t.cg.run(["chown", "-R", "7:8", origin + "/c"])
    t.cg.run(["rsync", "-a", src + "/", origin + "/r/"])
    t.cg.run(["mkdir", origin + "/.fence"])
    events = t.collector.wait_fence(origin + "/.fence")
    names = {"", "/f", "/d", "/d/g", "/d/e", "/d/e/h"}
    chowned = {b[1] for b in map(lambda e: harness.brief(e, origin), events) if b[0] == "attrs"}
    assert {"/c" + n for n in names} <= chowned
    named = {
        x for e in events for x in harness.brief(e, origin)[1:] if isinstance(x, str) and x.startswith("/")
    }
    assert {"/r" + n for n in names if n} <= named
    assert t.collector.lost() == {}


def test_record_layouts_are_pinned(traced):
    """The loader reads records through bcc's view of the structs; a change to one must be
    a decision (and the agent's and the benchmarks' numbers move with it), never an accident."""
    import ctypes as ct

    t, _, _ = traced
    p = t.svc._prog
    sizes = {n: ct.sizeof(getattr(p, "_" + n)) for n in ("hdr", "open", "data", "path", "proc")}
    assert sizes == {"hdr": 40, "open": 312, "data": 64, "path": 576, "proc": 48}
    assert p._data_off == 64  # write bytes follow st_data


def test_untraced_cgroup_and_other_prefixes_give_nothing(state_service, traced, workdir):
    t, origin, outside = traced
    other = harness.TestCgroup()
    try:
        # same program, other cgroup (not traced): nothing
        harness.run_workload(other, "appender", origin, outside)
        # traced cgroup, but only outside the prefix: nothing
        harness.run_workload(t.cg, "appender", outside, origin)
    finally:
        other.remove()
    # a fence from the traced cgroup proves the ring was drained past both
    harness.run_workload(t.cg, "outsider", origin, outside)
    events = t.collector.wait_for(lambda e: e.WhichOneof("op") == "write")
    got = [harness.brief(e, origin) for e in events]
    assert got == [
        ("create", "/outsider.txt", 0o644, False),
        ("write", "/outsider.txt", 0, b"not traced", False),
    ]
