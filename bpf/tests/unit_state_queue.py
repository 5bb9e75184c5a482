# SPDX-License-Identifier: Apache-2.0
"""The bounded event queue: batches by size and age, never grows without bound."""

from __future__ import annotations

import threading
import time

from edgerep.v1 import loader_pb2
from edgerep_loader.state_queue import EventQueue
from edgerep_loader.state_service import _Invalid, check_prefix

import pytest


def evs(n, rep=1):
    return [loader_pb2.StateEvent(replication_id=rep, seq=i + 1) for i in range(n)]


def test_batch_by_size_then_by_age():
    q = EventQueue(None, max_events=1000)
    q.put(evs(25), timeout=1)
    batch, lost = q.get_batch(max_events=10, max_age=10)
    assert [e.seq for e in batch] == list(range(1, 11)) and lost == {}
    t0 = time.monotonic()
    q.get_batch(max_events=10, max_age=10)
    batch, _ = q.get_batch(max_events=10, max_age=0.05)  # 5 left: waits for age
    assert len(batch) == 5 and time.monotonic() - t0 < 1


def test_filter_by_replication_id_and_loss_counts():
    q = EventQueue({2})
    q.put(evs(3, rep=1) + evs(2, rep=2), timeout=1)
    q.add_lost(1, 5)
    q.add_lost(2, 7)
    batch, lost = q.get_batch(max_events=100, max_age=0)
    assert [e.replication_id for e in batch] == [2, 2] and lost == {2: 7}


def test_full_queue_blocks_then_reports_overflow():
    q = EventQueue(None, max_events=10)
    assert q.put(evs(10), timeout=0.1)
    t0 = time.monotonic()
    assert not q.put(evs(1), timeout=0.1)
    assert q.overflowed and time.monotonic() - t0 >= 0.1


def test_full_queue_resumes_when_drained():
    q = EventQueue(None, max_events=10)
    q.put(evs(10), timeout=0.1)
    threading.Timer(0.05, lambda: q.get_batch(10, 0)).start()
    assert q.put(evs(5), timeout=2)


@pytest.mark.parametrize(
    "prefix,ok",
    [
        ("/data", "/data"),
        ("/data/", "/data"),
        ("/a/b", "/a/b"),
    ],
)
def test_check_prefix_accepts(prefix, ok):
    assert check_prefix(prefix) == ok


@pytest.mark.parametrize(
    "prefix,why",
    [
        ("", "empty"),
        ("data", "relative"),
        ("/", "root"),
        ("//", "root"),
        ("/a/../b", "normalized"),
        ("/a//b", "normalized"),
        ("/a/./b", "normalized"),
        ("/" + "x" * 300, "longer"),
    ],
)
def test_check_prefix_refuses(prefix, why):
    with pytest.raises(_Invalid, match=why):
        check_prefix(prefix)
