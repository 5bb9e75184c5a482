# SPDX-License-Identifier: Apache-2.0
"""State half of the Loader service: traced cgroups and prefixes, event stream.

One state-capture program (state_capture.c) serves every replication id; it is
attached while the node has a trace, never otherwise: built and attached by the
first SetTrace, detached (still loaded) by the last RemoveTrace, attached again
by the next SetTrace. A node that does not trace pays nothing per syscall, and
StreamStateEvents only subscribes. Between a detach and the next attach nobody
sees closes, opens or forks, so the kernel's table of followed fds and the
tracker's view of processes are reset first (_detach): a reused fd number must
not carry a write to the file it named before. SetTrace adopts the files
the traced processes already hold open for writing (state_adopt). A reader thread drains its
ring buffer, turns records into StateEvents (state_tracker) in ring order, so
events are ordered per replication id, and hands them to each subscriber's
bounded queue (state_queue). Kernel losses are read from the loss maps and sent
as ``lost_records`` plus a FileDirty(reason "lost") per affected file.

Not pinned: the tracepoint attachments live as long as the loader; a restarted
loader re-creates the program when the agent re-sends its traces (capture
pauses meanwhile and the agent resyncs, as the architecture allows). To keep
that pause short, a marker in the pin dir (TRACED_MARKER) says that traces
exist; it outlives the loader as the pins do, and a loader that finds it at
start builds the program ahead (warm_up: compile and verifier, not attached),
so the agent's SetTrace only waits for what is left of the build.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
import time
from typing import Dict, List, Optional, Tuple

import grpc

from edgerep.v1 import loader_pb2
from edgerep_loader.capabilities import cgroup2_mount
from edgerep_loader.state_adopt import Adopter
from edgerep_loader.state_queue import EventQueue
from edgerep_loader.state_tracker import KernelFds, Tracker

log = logging.getLogger("edgerep.loader.state")

#: Replication ids the kernel key can carry (16 bits, 0 = untraced).
MAX_REP_ID = 65535
#: Longest prefix accepted (a trie key holds ST_PATH_LEN bytes, plus "/" or NUL).
MAX_PREFIX_LEN = 250
#: Prefixes per replication id.
MAX_PREFIXES = 32
#: Ring buffer of 64 MiB: ~500k small-write records, seconds of reader stall absorbed.
DEFAULT_RING_PAGES = 16384
DEFAULT_BATCH_EVENTS = 512
DEFAULT_BATCH_AGE_MS = 5
MAX_BATCH_EVENTS = 65536
MAX_BATCH_AGE_MS = 1000
#: How long the reader waits for a full subscriber before dropping it.
SUBSCRIBER_STALL_S = 2.0
#: How often the reader drains the ring when it found nothing (the kernel
#: submits without wake-ups, see ST_SUBMIT_FLAGS).
DRAIN_INTERVAL_S = 0.004
#: How often losses are read from the kernel maps.
LOSS_POLL_S = 0.05
#: How often descriptions no fd holds are looked for; one is freed when found
#: twice in a row (an open installs its description just before its fd entry).
ORPHAN_POLL_S = 1.0
#: Directory in the pin dir while any replication id is traced (bpffs holds
#: directories and pins, no plain files).
TRACED_MARKER = "state-traced"
#: A program built ahead that no SetTrace took within this time is dropped,
#: and the marker with it: the node no longer traces (or its agent is long
#: gone), and the ring's memory (64 MiB) is given back.
WARM_TTL_S = 120.0


class _Invalid(Exception):
    """A request argument is invalid; the message goes to the caller."""


def find_cgroup(cgroup_id: int, mount: str) -> Optional[str]:
    """Directory of the cgroup v2 whose inode is ``cgroup_id``, or None."""
    if not mount:
        return None
    for dirpath, _dirs, _files in os.walk(mount):
        try:
            if os.stat(dirpath).st_ino == cgroup_id:
                return dirpath
        except OSError:
            continue
    return None


def check_prefix(prefix: str) -> str:
    """The normalized prefix, or _Invalid with the reason."""
    if not prefix:
        raise _Invalid("prefix is empty")
    if not prefix.startswith("/"):
        raise _Invalid(f"prefix {prefix!r} is relative: prefixes must be absolute paths")
    if "\0" in prefix:
        raise _Invalid(f"prefix {prefix!r} contains a NUL byte")
    norm = posixpath.normpath(prefix)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    if norm == "/":
        raise _Invalid(f"prefix {prefix!r} is the root: it would capture the whole filesystem")
    if norm != prefix.rstrip("/") or ".." in prefix.split("/"):
        raise _Invalid(f"prefix {prefix!r} is not normalized (use {norm!r})")
    if len(norm.encode()) > MAX_PREFIX_LEN:
        raise _Invalid(f"prefix {prefix[:40]!r}... is longer than {MAX_PREFIX_LEN} bytes")
    return norm


class _BuiltAhead:
    """The program warm_up builds before any SetTrace asks for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.prog = None
        self.timer: Optional[threading.Timer] = None


class _ProgramFds(KernelFds):
    """The tracker's view of the kernel maps."""

    def __init__(self, prog) -> None:
        self.prog = prog

    def drop_fd(self, tgid: int, fd: int) -> None:
        self.prog.drop_fd(tgid, fd)

    def desc_path(self, desc_id: int) -> Optional[str]:
        return self.prog.desc_path(desc_id)


class StateService:
    """Implements SetTrace, RemoveTrace, ListTraces and StreamStateEvents."""

    def __init__(
        self,
        pin_dir: str,
        ring_pages: int = DEFAULT_RING_PAGES,
        cgroup_mount: Optional[str] = None,
        warm_ttl_s: float = WARM_TTL_S,
    ):
        self.pin_dir = pin_dir
        self.marker = os.path.join(pin_dir, TRACED_MARKER)
        self.warm_ttl_s = warm_ttl_s
        self._warm: Optional[_BuiltAhead] = None
        self.ring_pages = ring_pages
        self.cgroup_mount = cgroup_mount if cgroup_mount is not None else cgroup2_mount()
        self._lock = threading.RLock()  # configuration and program life cycle
        self._traces: Dict[int, loader_pb2.SetTraceRequest] = {}
        self._prog = None
        self._tracker: Optional[Tracker] = None
        self._reader: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._subs: List[EventQueue] = []
        self._subs_lock = threading.Lock()
        self._lost_seen: Dict[int, int] = {}
        self._undelivered: Dict[int, int] = {}  # events no subscriber took, per rep id
        self._adopter = Adopter()
        self._orphans: set = set()
        self._wake = threading.Event()  # set while the program is attached: the reader drains
        self.stats = {
            "records": 0,
            "events": 0,
            "lost": 0,
            "dropped_subscribers": 0,
            "attaches": 0,
            "detaches": 0,
        }

    def counters(self) -> Dict[str, int]:
        """Reader statistics, including paths the tracker could not resolve."""
        out = dict(self.stats)
        if self._tracker is not None:
            out["unresolved"] = self._tracker.unresolved
            out["seq_gaps"] = self._tracker.seq_gaps
        out["adopted_fds"] = self._adopter.adopted
        return out

    # --- program life cycle ---

    def _build(self, attach: bool):
        from edgerep_loader.state_program import StateProgram

        return StateProgram(ring_pages=self.ring_pages, attach=attach)

    def _ensure_program(self) -> None:
        """Take the program (the one built ahead, else a new one), not attached, and start the reader."""
        with self._lock:
            if self._prog is not None:
                return
            prog = None
            ahead, self._warm = self._warm, None
            if ahead is not None:
                ahead.done.wait()
                if ahead.timer is not None:
                    ahead.timer.cancel()
                prog = ahead.prog
            if prog is None:
                prog = self._build(attach=False)
            self._prog = prog
            self._tracker = Tracker(_ProgramFds(self._prog))
            self._pending: List[loader_pb2.StateEvent] = []
            self._stop.clear()
            self._reader = threading.Thread(target=self._read_loop, name="state-reader", daemon=True)
            self._reader.start()

    def _attach(self) -> None:
        """The program built and attached, the reader running (SetTrace, under the lock)."""
        self._ensure_program()
        if not self._prog.attached:
            self._prog.attach()
            self.stats["attaches"] += 1
            self._wake.set()

    def _detach(self) -> None:
        """Detach the program when the last trace went (under the lock).

        The records still in the ring belong to replication ids just removed:
        they are drained and dropped now, before the follow state they refer to
        is reset; what the kernel followed and the tracker knew of processes is
        forgotten (SetTrace adopts the open files again).
        """
        prog = self._prog
        if prog is None or not prog.attached:
            return
        prog.detach()
        self._wake.clear()
        drop = lambda *_: None  # noqa: E731
        while prog.consume(drop, drop):
            pass
        self._tracker.flush()
        self._tracker.forget_processes()
        prog.reset_follow_state()
        self._orphans = set()
        self.stats["detaches"] += 1

    # --- building ahead ---

    def traced_before(self) -> bool:
        """Did a loader on this pin dir have traces when it ended?"""
        return os.path.isdir(self.marker)

    def warm_up(self) -> bool:
        """Build the program, not attached, if a loader on this pin dir left traces; return whether it did.

        Runs in a background thread at start (it takes seconds); a SetTrace
        meanwhile waits for it rather than building a second program. A
        program no SetTrace took within ``warm_ttl_s`` is dropped.
        """
        with self._lock:
            if self._prog is not None or self._warm is not None or not self.traced_before():
                return False
            ahead = self._warm = _BuiltAhead()
        log.info("traces were left in %s: building the state program ahead", self.pin_dir)
        try:
            ahead.prog = self._build(attach=False)
        except Exception:  # SetTrace builds it again and reports what fails
            log.exception("building the state program ahead failed")
        finally:
            ahead.done.set()
        if ahead.prog is None:
            return False
        ahead.timer = threading.Timer(self.warm_ttl_s, self._expire, args=(ahead,))
        ahead.timer.daemon = True
        ahead.timer.start()
        return True

    def _expire(self, ahead: _BuiltAhead) -> None:
        with self._lock:
            if self._warm is not ahead:
                return  # taken by SetTrace, or closed
            self._warm = None
            if not self._traces:
                self._mark(False)
        log.info("no SetTrace within %.0fs: dropping the state program built ahead", self.warm_ttl_s)
        ahead.prog.cleanup()

    def _mark(self, traced: bool) -> None:
        """Create or remove the marker; failing costs the next loader its head start, nothing else."""
        try:
            if traced:
                os.makedirs(self.marker, exist_ok=True)
            elif os.path.isdir(self.marker):
                os.rmdir(self.marker)
        except OSError as e:
            log.warning("state marker %s: %s", self.marker, e)

    def close(self) -> None:
        """Stop the reader, detach the program, end every stream (the marker stays)."""
        with self._lock:
            ahead, self._warm = self._warm, None
        if ahead is not None:
            ahead.done.wait()
            if ahead.timer is not None:
                ahead.timer.cancel()
            if ahead.prog is not None:
                ahead.prog.cleanup()
        self._stop.set()
        self._wake.set()
        if self._reader:
            self._reader.join(timeout=5)
        with self._subs_lock:
            for q in self._subs:
                q.close()
        with self._lock:
            if self._prog is not None:
                self._prog.cleanup()
                self._prog = None

    # --- reader ---

    def _on_record(self, rec) -> None:
        self.stats["records"] += 1
        self._pending.extend(self._tracker.handle(rec))

    def _on_write(self, *fields) -> None:
        self.stats["records"] += 1
        ev = self._tracker.handle_write(*fields)
        if ev is not None:
            self._pending.append(ev)

    def _read_loop(self) -> None:
        last_loss = 0.0
        last_orphans = time.monotonic()
        while not self._stop.is_set():
            if not self._wake.is_set():
                self._wake.wait(1.0)  # detached: nothing can arrive
                continue
            try:
                with self._lock:
                    prog = self._prog
                    if prog is None:
                        return
                    prog.consume(self._on_record, self._on_write)
                    self._report_unresolved()
                    self._pending.extend(self._tracker.flush())
                    events, self._pending = self._pending, []
                    now = time.monotonic()
                    if now - last_loss >= LOSS_POLL_S:
                        last_loss = now
                        events.extend(self._collect_losses())
                    if now - last_orphans >= ORPHAN_POLL_S:
                        last_orphans = now
                        self._free_orphans()
                self._deliver(events)
                if not events:
                    self._stop.wait(DRAIN_INTERVAL_S)
            except Exception:  # never let one bad record stop the capture
                log.exception("state reader failed on a batch; continuing")

    def _free_orphans(self) -> None:
        """Free descriptions that no fd has held for a whole poll interval."""
        orphans = self._prog.orphan_descs()
        for desc_id in orphans & self._orphans:
            self._prog.free_desc(desc_id)
            self._tracker.released(desc_id)
        self._orphans = orphans - self._orphans

    def _report_unresolved(self) -> None:
        """Records whose path could not be resolved are lost to the agent: it resyncs those replications."""
        unresolved = self._tracker.take_unresolved()
        if not unresolved:
            return
        with self._subs_lock:
            for rep, n in unresolved.items():
                log.warning("replication %d: %d records with a path that could not be resolved", rep, n)
                for q in self._subs:
                    q.add_lost(rep, n)

    def _collect_losses(self) -> List[loader_pb2.StateEvent]:
        """New kernel losses: counters to subscribers, FileDirty events for the files."""
        lost_now = self._prog.lost_by_rep()
        deltas = {}
        for rep, total in lost_now.items():
            d = total - self._lost_seen.get(rep, 0)
            if d > 0:
                deltas[rep] = d
                self._lost_seen[rep] = total
        files = self._prog.take_lost_files() if deltas or lost_now else []
        if not deltas and not files:
            return []
        self.stats["lost"] += sum(deltas.values())
        with self._subs_lock:
            for rep, d in deltas.items():
                log.warning("replication %d: %d records lost in the kernel", rep, d)
                for q in self._subs:
                    q.add_lost(rep, d)
        by_rep: Dict[int, List[str]] = {}
        for rep, desc_id, tgid, raw, _count in files:
            path = self._tracker.lost_file_path(rep, desc_id, tgid, raw)
            if path:
                by_rep.setdefault(rep, []).append(path)
        out = []
        for rep, paths in by_rep.items():
            out.extend(self._tracker.loss_events(rep, paths, time.monotonic_ns()))
        return out

    def _deliver(self, events: List[loader_pb2.StateEvent]) -> None:
        if not events:
            return
        self.stats["events"] += len(events)
        with self._subs_lock:
            subs = list(self._subs)
        if not subs:
            for e in events:
                self._undelivered[e.replication_id] = self._undelivered.get(e.replication_id, 0) + 1
            return
        for q in subs:
            if not q.put(events, timeout=SUBSCRIBER_STALL_S):
                log.warning("state subscriber stalled for %.1fs: dropping it", SUBSCRIBER_STALL_S)
                self.stats["dropped_subscribers"] += 1
                self._remove_sub(q)

    def _remove_sub(self, q: EventQueue) -> None:
        with self._subs_lock:
            if q in self._subs:
                self._subs.remove(q)

    # --- RPCs ---

    def set_trace(self, request: loader_pb2.SetTraceRequest, context) -> loader_pb2.SetTraceResponse:
        """Trace ``cgroup_ids`` under ``prefixes`` for ``replication_id`` (replaces its previous set)."""
        try:
            cgroups, prefixes, root = self._validate(request)
        except _Invalid as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        rep = request.replication_id
        with self._lock:
            self._attach()
            old = self._traces.get(rep)
            prog, tracker = self._prog, self._tracker
            tracker.set_trace(rep, prefixes, root, request.coalesce_writes)
            for p in prefixes:
                prog.add_prefix(rep, p)
            for cg, path in cgroups:
                for pid in _cgroup_pids(path):
                    tracker.prime_cwd(pid, rep)
                prog.set_cgroup(cg, rep)
                # after set_cgroup: a file opened meanwhile is followed by the kernel, not adopted twice
                for pid in _cgroup_pids(path):
                    self._adopter.adopt(prog, tracker, rep, pid)
            if old is not None:
                for cg in set(old.cgroup_ids) - {c for c, _ in cgroups}:
                    prog.del_cgroup(cg)
                for p in set(old.prefixes) - set(prefixes):
                    prog.del_prefix(rep, p)
            self._traces[rep] = loader_pb2.SetTraceRequest(
                replication_id=rep,
                cgroup_ids=[c for c, _ in cgroups],
                prefixes=prefixes,
                root=request.root,
                coalesce_writes=request.coalesce_writes,
            )
            self._mark(True)
        log.info("replication %d: tracing cgroups %s under %s", rep, [c for c, _ in cgroups], prefixes)
        return loader_pb2.SetTraceResponse()

    def _validate(self, r: loader_pb2.SetTraceRequest) -> Tuple[List[Tuple[int, str]], List[str], str]:
        if not 1 <= r.replication_id <= MAX_REP_ID:
            raise _Invalid(f"replication_id {r.replication_id} is outside 1..{MAX_REP_ID}")
        if not r.cgroup_ids:
            raise _Invalid("cgroup_ids is empty: name at least one cgroup v2 id")
        if not r.prefixes:
            raise _Invalid("prefixes is empty: name at least one absolute path prefix")
        if len(r.prefixes) > MAX_PREFIXES:
            raise _Invalid(f"{len(r.prefixes)} prefixes: at most {MAX_PREFIXES}")
        prefixes = []
        for p in r.prefixes:
            n = check_prefix(p)
            if n not in prefixes:
                prefixes.append(n)
        if not self.cgroup_mount:
            raise _Invalid("this node has no cgroup v2 hierarchy mounted")
        cgroups = []
        for cg in dict.fromkeys(r.cgroup_ids):
            path = find_cgroup(cg, self.cgroup_mount)
            if path is None:
                raise _Invalid(f"cgroup id {cg} does not exist under {self.cgroup_mount}")
            with self._lock:
                for rep, t in self._traces.items():
                    if rep != r.replication_id and cg in t.cgroup_ids:
                        raise _Invalid(f"cgroup id {cg} is already traced for replication {rep}")
            cgroups.append((cg, path))
        if r.root and (not r.root.startswith("/") or not os.path.isdir(r.root)):
            raise _Invalid(f"root {r.root!r} is not an existing absolute directory")
        return cgroups, prefixes, r.root

    def remove_trace(self, request: loader_pb2.RemoveTraceRequest, context) -> loader_pb2.RemoveTraceResponse:
        """Stop tracing a replication id (idempotent)."""
        rep = request.replication_id
        with self._lock:
            t = self._traces.pop(rep, None)
            if t is not None and self._prog is not None:
                for cg in t.cgroup_ids:
                    self._prog.del_cgroup(cg)
                for p in t.prefixes:
                    self._prog.del_prefix(rep, p)
                self._tracker.remove_trace(rep)
            if not self._traces:
                self._detach()
                self._mark(False)
        if t is not None:
            log.info("replication %d: tracing stopped", rep)
        return loader_pb2.RemoveTraceResponse()

    def teardown(self) -> list:
        """Stop every trace and unload the program (uninstall); returns what it removed."""
        with self._lock:
            reps = sorted(self._traces)
        for rep in reps:
            self.remove_trace(loader_pb2.RemoveTraceRequest(replication_id=rep), None)
        self.close()
        self._mark(False)
        return [f"trace {rep}" for rep in reps]

    def list_traces(self, request, context) -> loader_pb2.ListTracesResponse:
        with self._lock:
            return loader_pb2.ListTracesResponse(traces=[self._traces[k] for k in sorted(self._traces)])

    def stream_events(self, request: loader_pb2.StreamStateEventsRequest, context):
        """Yield StateEventBatch messages until the caller goes away."""
        max_events = request.max_batch_events or DEFAULT_BATCH_EVENTS
        age_ms = (
            request.max_batch_age.ToMilliseconds()
            if request.HasField("max_batch_age")
            else DEFAULT_BATCH_AGE_MS
        )
        if max_events > MAX_BATCH_EVENTS:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"max_batch_events {max_events} exceeds {MAX_BATCH_EVENTS}"
            )
        if not 0 < age_ms <= MAX_BATCH_AGE_MS:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"max_batch_age {age_ms} ms is outside 1..{MAX_BATCH_AGE_MS} ms",
            )
        # no program yet is fine: the reader, started by the first SetTrace, delivers to every queue
        q = EventQueue(set(request.replication_ids), max_events=max(4 * max_events, 65536))
        with self._subs_lock:
            self._subs.append(q)
            undelivered, self._undelivered = self._undelivered, {}
        for rep, n in undelivered.items():
            q.add_lost(rep, n)  # captured while nobody listened: the agent must resync
        try:
            while context.is_active() and not q.closed:
                if q.overflowed:
                    context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        "state event stream fell too far behind; reconnect and resync",
                    )
                events, lost = q.get_batch(max_events, age_ms / 1000.0)
                if events or lost:
                    yield loader_pb2.StateEventBatch(events=events, lost_records=lost)
        finally:
            q.close()
            self._remove_sub(q)


def _cgroup_pids(path: str) -> List[int]:
    try:
        with open(os.path.join(path, "cgroup.procs"), encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []
