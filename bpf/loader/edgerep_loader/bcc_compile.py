# SPDX-License-Identifier: Apache-2.0
"""One bcc compile at a time in the loader process.

bcc 0.26's clang front end keeps one process-wide kernel-symbol resolver
(``kresolver`` in b_frontend_action.cc) that every compile creates on demand
and frees at the end of its front-end pass: two compiles in two threads can
free it under each other. The loader compiles in more than one thread (the
stream programs at start, the state program built ahead in the background or
by a first SetTrace in a gRPC worker), so every compile holds COMPILE_LOCK.

Loading the compiled programs (the verifier) needs no lock: a task queued with
``after_next`` starts compiling while the previous compile's caller loads.
"""

from __future__ import annotations

import threading
from typing import Callable, List, Tuple


class CompileLock:
    """A lock held for the whole of ``BPF(text=...)`` that hands the compiler on to queued tasks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._guard = threading.Lock()
        self._queued: List[Tuple[str, Callable[[], object]]] = []

    def __enter__(self) -> "CompileLock":
        self._lock.acquire()
        return self

    def __exit__(self, *exc) -> None:
        with self._guard:
            queued, self._queued = self._queued, []
        self._lock.release()
        for name, task in queued:
            threading.Thread(target=task, name=name, daemon=True).start()

    def after_next(self, name: str, task: Callable[[], object]) -> None:
        """Run ``task`` in a thread of its own as soon as the next compile to end has ended."""
        with self._guard:
            self._queued.append((name, task))


COMPILE_LOCK = CompileLock()
