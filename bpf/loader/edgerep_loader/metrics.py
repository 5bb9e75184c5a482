# SPDX-License-Identifier: Apache-2.0
"""The loader's Prometheus endpoint: ``GET /metrics`` in the text exposition format.

Series (docs/OPERATING.md lists them with the agent's and the operator's):

* what the kernel says of every BPF program and map the loader holds, read from
  ``/proc/self/fdinfo``: program runs and run time (counted only while
  ``kernel.bpf_stats_enabled`` is 1, which ``edgerep_loader_bpf_stats_enabled``
  says), map capacity, and for hash maps the entries in use;
* the state capture's ring buffer: records read, records the kernel lost;
* the stream replicator's attachment per interface.

A scrape reads the kernel then and there; it never waits on a gRPC call.
"""

from __future__ import annotations

import ctypes as ct
import logging
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Iterable, List, Optional, Tuple

log = logging.getLogger("edgerep.loader.metrics")

BPF_STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"

# map types (uapi/linux/bpf.h enum bpf_map_type) whose occupancy means something
HASH_MAP_TYPES = {1: "hash", 5: "percpu_hash", 9: "lru_hash", 10: "lru_percpu_hash"}
# program types the loader uses (enum bpf_prog_type), for the type label
PROG_TYPES = {3: "sched_cls", 5: "tracepoint", 6: "xdp", 17: "raw_tracepoint"}
# struct bpf_prog_info / bpf_map_info: name[BPF_OBJ_NAME_LEN] offsets (UAPI, stable)
PROG_INFO_NAME_OFF = 64
MAP_INFO_NAME_OFF = 24
OBJ_NAME_LEN = 16
INFO_BUF_LEN = 256


@dataclass
class Sample:
    """One series: its name (with suffixes), type, help, labels and value."""

    name: str
    kind: str  # counter | gauge
    help: str
    value: float
    labels: Dict[str, str] = field(default_factory=dict)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(samples: Iterable[Sample]) -> str:
    """The text exposition format: one HELP and TYPE line per name, then its series."""
    by_name: Dict[str, List[Sample]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s)
    out = []
    for name, group in by_name.items():
        out.append(f"# HELP {name} {group[0].help}")
        out.append(f"# TYPE {name} {group[0].kind}")
        for s in group:
            lab = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(s.labels.items()))
            out.append(f"{name}{{{lab}}} {float(s.value)!r}" if lab else f"{name} {float(s.value)!r}")
    return "\n".join(out) + "\n"


def parse_fdinfo(text: str) -> Dict[str, str]:
    """``key:\\tvalue`` lines of a /proc/<pid>/fdinfo/<fd> file."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


@dataclass
class BpfObject:
    """A program or map the loader holds an fd of."""

    kind: str  # prog | map
    fd: int
    info: Dict[str, str]
    name: str = ""


def bpf_objects(proc_self: str = "/proc/self") -> List[BpfObject]:
    """Every BPF program and map behind an fd of this process, once per kernel id."""
    out, seen = [], set()
    try:
        fds = os.listdir(os.path.join(proc_self, "fd"))
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(os.path.join(proc_self, "fd", fd))
        except OSError:
            continue
        kind = {"anon_inode:bpf-prog": "prog", "anon_inode:bpf-map": "map"}.get(target)
        if kind is None:
            continue
        try:
            with open(os.path.join(proc_self, "fdinfo", fd)) as f:
                info = parse_fdinfo(f.read())
        except OSError:
            continue
        oid = (kind, info.get("prog_id") or info.get("map_id"))
        if oid in seen:
            continue
        seen.add(oid)
        out.append(BpfObject(kind, int(fd), info))
    return out


def _libbcc():
    try:
        from bcc import libbcc

        return libbcc.lib
    except Exception:  # no bcc (unit tests on a machine without it)
        return None


def object_name(lib, obj: BpfObject) -> str:
    """The name the program or map was loaded with (bpf_obj_get_info), or "" when it cannot be read."""
    if not lib:
        return ""
    buf = ct.create_string_buffer(INFO_BUF_LEN)
    n = ct.c_uint32(INFO_BUF_LEN)
    try:
        if lib.bpf_obj_get_info(obj.fd, buf, ct.byref(n)) != 0:
            return ""
    except (AttributeError, OSError, ct.ArgumentError):
        return ""
    off = PROG_INFO_NAME_OFF if obj.kind == "prog" else MAP_INFO_NAME_OFF
    return buf.raw[off : off + OBJ_NAME_LEN].split(b"\0", 1)[0].decode("ascii", "replace")


def hash_entries(lib, obj: BpfObject, limit: int) -> Optional[int]:
    """Keys in a hash map, counted with BPF_MAP_GET_NEXT_KEY (at most ``limit``); None when unreadable."""
    if not lib:
        return None
    ks = int(obj.info.get("key_size", "0"))
    if ks <= 0:
        return None
    cur, nxt = ct.create_string_buffer(ks), ct.create_string_buffer(ks)
    count, prev = 0, None
    try:
        while count <= limit:
            if lib.bpf_get_next_key(obj.fd, prev, nxt) != 0:
                return count
            count += 1
            ct.memmove(cur, nxt, ks)
            prev = cur
    except (AttributeError, OSError, ct.ArgumentError):
        return None
    return count


def bpf_stats_enabled(path: str = BPF_STATS_SYSCTL) -> bool:
    try:
        with open(path) as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def kernel_samples(
    proc_self: str = "/proc/self", lib=None, stats_path: str = BPF_STATS_SYSCTL
) -> List[Sample]:
    """Programs and maps as the kernel reports them."""
    lib = lib if lib is not None else _libbcc()
    out = [
        Sample(
            "edgerep_loader_bpf_stats_enabled",
            "gauge",
            "1 when kernel.bpf_stats_enabled is on (program run counts and times are counted only then)",
            1 if bpf_stats_enabled(stats_path) else 0,
        )
    ]
    for o in bpf_objects(proc_self):
        # the kernel id keeps two objects of one name apart (names are cut at 15 characters)
        oid = o.info.get("prog_id") or o.info.get("map_id") or ""
        name = object_name(lib, o) or f"id{oid}"
        if o.kind == "prog":
            lab = {
                "program": name,
                "id": oid,
                "type": PROG_TYPES.get(int(o.info.get("prog_type", "0")), o.info.get("prog_type", "")),
            }
            out.append(
                Sample(
                    "edgerep_loader_program_runs_total",
                    "counter",
                    "Runs of a BPF program the loader holds",
                    int(o.info.get("run_cnt", "0")),
                    lab,
                )
            )
            out.append(
                Sample(
                    "edgerep_loader_program_run_seconds_total",
                    "counter",
                    "Time spent in a BPF program the loader holds",
                    int(o.info.get("run_time_ns", "0")) / 1e9,
                    lab,
                )
            )
        else:
            cap = int(o.info.get("max_entries", "0"))
            lab = {"map": name, "id": oid}
            out.append(
                Sample(
                    "edgerep_loader_map_capacity_entries",
                    "gauge",
                    "Entries a BPF map can hold (max_entries)",
                    cap,
                    lab,
                )
            )
            mtype = int(o.info.get("map_type", "0"))
            if mtype in HASH_MAP_TYPES:
                n = hash_entries(lib, o, cap)
                if n is not None:
                    out.append(
                        Sample(
                            "edgerep_loader_map_entries", "gauge", "Entries in use in a BPF hash map", n, lab
                        )
                    )
    return out


Collector = Callable[[], List[Sample]]


class MetricsServer:
    """``GET /metrics`` on ``host:port`` (port 0: the kernel picks); each collector runs per scrape."""

    def __init__(self, host: str, port: int, collectors: List[Collector]):
        self.collectors = collectors
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404)
                    return
                body = server.scrape().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt, *args):  # scrapes are not worth a log line each
                log.debug("metrics: " + fmt, *args)

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, name="metrics", daemon=True)

    def start(self) -> "MetricsServer":
        self._thread.start()
        return self

    def scrape(self) -> str:
        samples: List[Sample] = []
        for c in self.collectors:
            try:
                samples.extend(c())
            except Exception as e:  # one family failing leaves the others answering
                log.warning("metrics collector %s failed: %s", getattr(c, "__name__", c), e)
        return render(samples)

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def parse_addr(text: str) -> Tuple[str, int]:
    """``host:port`` (``:9465`` means all addresses); raises ValueError on anything else."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"metrics address must be host:port, not {text!r}")
    return host.strip("[]"), int(port)


def state_samples(state_service) -> List[Sample]:
    """The state capture's reader: ring-buffer records read, records the kernel lost, paths left unresolved."""
    c = state_service.counters()
    return [
        Sample(
            "edgerep_loader_ring_records_total",
            "counter",
            "Capture records read from the ring buffer",
            c.get("records", 0),
        ),
        Sample(
            "edgerep_loader_ring_lost_records_total",
            "counter",
            "Capture records the kernel could not put in the ring buffer (each leads to a resync)",
            c.get("lost", 0),
        ),
        Sample(
            "edgerep_loader_state_events_total",
            "counter",
            "State events handed to the agent",
            c.get("events", 0),
        ),
        Sample(
            "edgerep_loader_state_unresolved_records_total",
            "counter",
            "Capture records whose path could not be resolved (reported to the agent as lost)",
            c.get("unresolved", 0),
        ),
    ]


def stream_samples(stream_service) -> List[Sample]:
    """The stream replicator's attachment per interface, and the replicators forgotten with their interface."""
    out = [
        Sample(
            "edgerep_loader_replicator_attached",
            "gauge",
            "1 while the replicator program is attached to the interface with the datapath it was set up with",
            1 if attached else 0,
            {"interface": ifname, "datapath": dp},
        )
        for ifname, dp, attached in stream_service.attachments()  # forgets vanished ones first
    ]
    out.append(
        Sample(
            "edgerep_loader_vanished_replicators_total",
            "counter",
            "Replicators forgotten because their interface disappeared while attached",
            stream_service.vanished_replicators,
        )
    )
    return out
