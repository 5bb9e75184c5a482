# SPDX-License-Identifier: Apache-2.0
"""State capture of real programs nobody here wrote, replayed into an empty
directory: the replica must be byte-identical to the origin."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tarfile

import pytest

from statelib import harness
from statelib.fixtures import cgroup, state_service, traced, workdir  # noqa: F401 (fixtures)
from statelib.replay import replay, tree_digest


def _capture_and_replay(t, origin, workdir, steps):
    """Run shell steps in the traced cgroup, fence, replay; return the replica dir."""
    for cmd in steps:
        t.cg.run(["/bin/sh", "-c", cmd], cwd=origin, timeout=120)
    fence = os.path.join(origin, ".fence-end")
    t.cg.run(["/bin/mkdir", fence])
    events = t.collector.wait_fence(fence, timeout=60)
    os.rmdir(fence)
    replica = os.path.join(workdir, "replica")
    os.mkdir(replica)
    replay(events, origin, replica)
    assert t.collector.lost() == {}
    assert t.svc.counters()["unresolved"] == 0
    return replica, events


def _kinds(events):
    return {e.WhichOneof("op") for e in events}


def test_sqlite_with_rollback_journal(traced, workdir):
    t, origin, _ = traced
    sql = """
    PRAGMA journal_mode=DELETE;
    CREATE TABLE kv(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000)
      INSERT INTO kv(k, v) SELECT 'key' || i, randomblob(200) FROM n;
    UPDATE kv SET v = randomblob(300) WHERE id % 7 = 0;
    DELETE FROM kv WHERE id % 11 = 0;
    CREATE INDEX kv_v ON kv(v);
    """
    steps = [
        f'sqlite3 db.sqlite "{sql}"',
        "sqlite3 db.sqlite \"BEGIN; UPDATE kv SET k = k || '-x' WHERE id < 500; COMMIT;\"",
        "sqlite3 db.sqlite 'VACUUM'",
    ]
    replica, events = _capture_and_replay(t, origin, workdir, steps)
    assert tree_digest(replica) == tree_digest(origin)
    # the journal was really used (created, written, deleted)
    assert any(e.WhichOneof("op") == "unlink" and e.unlink.path.endswith("db.sqlite-journal") for e in events)
    db = sqlite3.connect(os.path.join(replica, "db.sqlite"))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM kv").fetchone()[0] == 3000 - 3000 // 11
    finally:
        db.close()


def test_git_init_add_commit(traced, workdir):
    t, origin, _ = traced
    env = (
        "GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t "
        "GIT_COMMITTER_EMAIL=t@example.org HOME=/nonexistent"
    )
    steps = [
        "git init -q repo",
        "cd repo && mkdir -p src docs && seq 1 2000 > src/numbers.txt && echo hello > README "
        "&& head -c 100000 /usr/bin/git > docs/blob.bin",
        f"cd repo && {env} git add -A && {env} git commit -q -m first",
        f"cd repo && echo more >> README && {env} git commit -q -am second && {env} git gc -q",
    ]
    replica, events = _capture_and_replay(t, origin, workdir, steps)
    assert tree_digest(replica) == tree_digest(origin)
    out = subprocess.run(
        ["git", "-C", os.path.join(replica, "repo"), "fsck", "--strict"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    log = subprocess.run(
        ["git", "-C", os.path.join(replica, "repo"), "log", "--format=%s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert log == ["second", "first"]


def _source_tree(workdir):
    src = os.path.join(workdir, "src-tree")
    os.makedirs(os.path.join(src, "a", "b", "c"))
    for i in range(40):
        with open(os.path.join(src, "a" if i % 2 else "a/b", f"f{i}"), "wb") as f:
            f.write(os.urandom(i * 997))
    with open(os.path.join(src, "a/b/c/large"), "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024 + 17))
    os.symlink("b/c/large", os.path.join(src, "a/link"))
    os.chmod(os.path.join(src, "a/f1"), 0o600)
    return src


def test_cp_recursive(traced, workdir):
    t, origin, _ = traced
    src = _source_tree(workdir)
    replica, events = _capture_and_replay(t, origin, workdir, [f"cp -r {src} copy", f"cp -a {src} copy-a"])
    assert tree_digest(replica) == tree_digest(origin)
    assert tree_digest(os.path.join(replica, "copy")) == tree_digest(src)


def test_tar_extract(traced, workdir):
    t, origin, _ = traced
    src = _source_tree(workdir)
    tarball = os.path.join(workdir, "tree.tar")
    with tarfile.open(tarball, "w") as tf:
        tf.add(src, arcname="tree")
    replica, events = _capture_and_replay(
        t,
        origin,
        workdir,
        ["mkdir x", f"tar -xf {tarball} -C x", f"cd x && tar -xf {tarball} --transform s/tree/again/"],
    )
    assert tree_digest(replica) == tree_digest(origin)
    assert tree_digest(os.path.join(replica, "x", "tree")) == tree_digest(src)


def test_log_appenders(traced, workdir):
    t, origin, outside = traced
    steps = [
        f"{harness.PYTHON} -B {harness.WORKLOAD} appender {origin} {outside}",
        'for i in $(seq 1 200); do echo "shell line $i" >> shell.log; done',
        '(exec >> inherited.log; for i in $(seq 1 50); do echo "child $i"; done)',
        # descriptors inherited across fork and exec stay followed
        "exec 3>> forked.log; echo parent >&3; (echo subshell >&3); sh -c 'echo exec >&3'; echo end >&3",
    ]
    replica, events = _capture_and_replay(t, origin, workdir, steps)
    assert tree_digest(replica) == tree_digest(origin)
    assert all(e.write.append for e in events if e.WhichOneof("op") == "write")
    with open(os.path.join(replica, "forked.log")) as f:
        assert f.read() == "parent\nsubshell\nexec\nend\n"


def test_coalesced_writes_replay_byte_identical(state_service, cgroup, workdir):
    from edgerep.v1 import loader_pb2

    origin = os.path.join(workdir, "origin")
    os.mkdir(origin)
    rep = 5150
    ctx = harness.FakeContext()
    state_service.set_trace(
        loader_pb2.SetTraceRequest(
            replication_id=rep, cgroup_ids=[cgroup.id], prefixes=[origin], coalesce_writes=True
        ),
        ctx,
    )
    col = harness.Collector(state_service, rep_ids=[rep])
    try:
        cgroup.run(
            [
                "/bin/sh",
                "-c",
                f"{harness.PYTHON} -B {harness.WORKLOAD} appender {origin} /tmp "
                f"&& sqlite3 {origin}/db 'CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(9000));'",
            ]
        )
        cgroup.run(["/bin/mkdir", os.path.join(origin, ".fence-end")])
        events = col.wait_fence(os.path.join(origin, ".fence-end"))
    finally:
        col.stop()
        state_service.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), ctx)
    os.rmdir(os.path.join(origin, ".fence-end"))
    writes = [e for e in events if e.WhichOneof("op") == "write"]
    assert len(writes) < 1000  # 1000 appends, merged
    replica = os.path.join(workdir, "replica")
    os.mkdir(replica)
    replay(events, origin, replica)
    assert tree_digest(replica) == tree_digest(origin)
