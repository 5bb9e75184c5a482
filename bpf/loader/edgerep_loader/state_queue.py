# SPDX-License-Identifier: Apache-2.0
"""Bounded event queue between the ring-buffer reader and one StreamStateEvents call.

The reader blocks (up to a deadline) when a subscriber is ``max_events`` behind:
back-pressure then reaches the kernel ring buffer, whose overflow is counted
and repaired by resync; memory never grows without bound.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Deque, Dict, List, Optional, Set, Tuple

from edgerep.v1 import loader_pb2


class EventQueue:
    """Events (already ordered per replication id) and loss counts for one subscriber."""

    def __init__(self, rep_ids: Optional[Set[int]], max_events: int = 65536) -> None:
        self.rep_ids = rep_ids or None  # None = every replication id
        self.max_events = max_events
        self._events: Deque[loader_pb2.StateEvent] = deque()
        self._lost: Dict[int, int] = {}
        self._cond = threading.Condition()
        self._first_at: Optional[float] = None  # monotonic time of the oldest queued item
        self.closed = False
        self.overflowed = False

    def wants(self, rep_id: int) -> bool:
        return self.rep_ids is None or rep_id in self.rep_ids

    def put(self, events: List[loader_pb2.StateEvent], timeout: float) -> bool:
        """Queue events, waiting while the queue is full; False when it stayed full."""
        events = [e for e in events if self.wants(e.replication_id)]
        if not events:
            return True
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._events) >= self.max_events and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.overflowed = True
                    self._cond.notify_all()
                    return False
                self._cond.wait(left)
            if self.closed:
                return True
            if self._first_at is None:
                self._first_at = time.monotonic()
            self._events.extend(events)
            self._cond.notify_all()
        return True

    def add_lost(self, rep_id: int, count: int) -> None:
        if count <= 0 or not self.wants(rep_id):
            return
        with self._cond:
            self._lost[rep_id] = self._lost.get(rep_id, 0) + count
            if self._first_at is None:
                self._first_at = time.monotonic()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def get_batch(
        self, max_events: int, max_age: float, poll: float = 0.2
    ) -> Tuple[List[loader_pb2.StateEvent], Dict[int, int]]:
        """Wait for a batch: ``max_events`` events, or the oldest one ``max_age`` old.

        Returns empty lists after ``poll`` seconds without anything, so the
        caller can check that its RPC is still alive.
        """
        give_up = time.monotonic() + poll
        with self._cond:
            while True:
                if self.closed or self.overflowed:
                    break
                now = time.monotonic()
                if self._first_at is not None:
                    if len(self._events) >= max_events or now - self._first_at >= max_age:
                        break
                    self._cond.wait(min(self._first_at + max_age, give_up) - now + 1e-4)
                else:
                    if now >= give_up:
                        break
                    self._cond.wait(give_up - now)
            n = min(max_events, len(self._events))
            batch = [self._events.popleft() for _ in range(n)]
            lost, self._lost = self._lost, {}
            self._first_at = time.monotonic() if self._events else None
            self._cond.notify_all()
        return batch, lost
