# SPDX-License-Identifier: Apache-2.0
"""Kernel side of the stream replicator: programs, tail-call tables and pinned maps.

One ``StreamKernel`` per pin dir. Maps are pinned by the programs themselves
(bcc reuses a pinned map whose path exists), so a new instance adopts the maps
of an earlier loader; map layouts are the structs of ``stream_types.h`` as bcc
compiled them (``table.Leaf``), never hand-written ctypes.
"""

from __future__ import annotations

import ctypes as ct
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Optional

from bcc import BPF

from edgerep_loader import stream_prog as sp

log = logging.getLogger("edgerep.loader.stream")


@dataclass(frozen=True)
class KernelConsumer:
    """A consumer as the fan-out program needs it (already resolved)."""

    ifindex: int
    dst_mac: bytes
    src_mac: bytes
    dst_ip: str
    src_ip: str  # "" = keep the sensor's
    dst_port: int
    policy: int  # PolicyKind number
    rate_bps: int = 0
    burst: int = 0
    uniform_ppm: int = 0
    use_fib: bool = False
    max_len: int = 0  # longest L2 frame the egress carries; 0 = any
    in_devmap: bool = True  # False: left out of the XDP broadcast (see StreamService.set_stream)


def _ip_be(ip: str) -> int:
    """IPv4 text -> the u32 whose in-memory bytes are network order."""
    if not ip:
        return 0
    return int.from_bytes(socket.inet_aton(str(ipaddress.IPv4Address(ip))), "little")


class StreamKernel:
    """Compiled stream programs with their pinned maps."""

    def __init__(self, pin_dir: str, trace_classes: bool = False, xdp: bool = True):
        self.pin_dir = pin_dir
        self.bpf = sp.compile_stream(pin_dir, trace_classes=trace_classes, xdp=xdp)
        self.tc_fn = self.bpf.load_func(sp.TC_FUNC, BPF.SCHED_CLS)
        jmp = self.bpf[b"tc_jmp"]
        for slot, name in (
            (sp.JMP_TS, sp.TC_TS_FUNC),
            (sp.JMP_SCAN, sp.TC_SCAN_FUNC),
            (sp.JMP_FANOUT, sp.TC_FANOUT_FUNC),
        ):
            jmp[ct.c_int(slot)] = ct.c_int(self.bpf.load_func(name, BPF.SCHED_CLS).fd)
        self.xdp = None
        if xdp:
            from edgerep_loader.stream_xdp_prog import XdpPrograms

            self.xdp = XdpPrograms(self.bpf)

    # --- configuration ---
    def table(self, name: str):
        """A map of the stream programs by name."""
        return self.bpf[name]

    def write_stream(
        self,
        slot: int,
        stream_id: int,
        ifindex: int,
        port: int,
        inspection: int,
        consumers: list[KernelConsumer],
        carried: Optional[list[Optional[int]]] = None,
    ) -> None:
        """Program a stream slot: consumers first, then the config, then the port pair.

        ``carried[i]`` is the index consumer ``i`` had in the slot before (None: it is new), so that its
        counters and token bucket go with it when the set changes around it; a new consumer starts from
        zero, never from what a consumer that held its index before had counted. Without ``carried``
        every consumer keeps its index (the same set applied again).
        """
        base = slot * sp.MAX_CONSUMERS
        cons = self.bpf[b"consumers"]
        buckets = self.bpf[b"buckets"]
        stats = self.bpf[b"consumer_stats"]
        if carried is None:
            carried = list(range(len(consumers)))
        # read everything that moves before anything is overwritten
        before = {
            j: (cons[ct.c_uint32(base + j)], buckets[ct.c_uint32(base + j)]) for j in carried if j is not None
        }
        counts = {j: stats[ct.c_uint32(base + j)] for i, j in enumerate(carried) if j is not None and j != i}
        for i, c in enumerate(consumers):
            leaf = cons.Leaf()
            leaf.ifindex = c.ifindex
            leaf.dst_ip = _ip_be(c.dst_ip)
            leaf.src_ip = _ip_be(c.src_ip)
            leaf.dst_port = socket.htons(c.dst_port)
            leaf.policy = c.policy
            leaf.use_fib = 1 if c.use_fib else 0
            ct.memmove(leaf.dst_mac, c.dst_mac, 6)
            ct.memmove(leaf.src_mac, c.src_mac, 6)
            leaf.uniform_ppm = c.uniform_ppm
            leaf.max_len = c.max_len
            leaf.rate_bps = c.rate_bps
            leaf.burst = c.burst
            j = carried[i]
            prev_cfg, prev_bucket = before.get(j, (None, None))
            if (
                prev_cfg is None
                or (prev_cfg.rate_bps, prev_cfg.burst) != (c.rate_bps, c.burst)
                or not prev_cfg.ifindex
            ):
                b = buckets.Leaf()
                b.tokens = c.burst
                b.last_ns = 0
                buckets[ct.c_uint32(base + i)] = b
            elif j != i:
                buckets[ct.c_uint32(base + i)] = prev_bucket
            if j is None:
                stats[ct.c_uint32(base + i)] = stats.Leaf()
            elif j != i:
                stats[ct.c_uint32(base + i)] = counts[j]
            cons[ct.c_uint32(base + i)] = leaf
        cfgs = self.bpf[b"stream_cfgs"]
        old = cfgs[ct.c_uint32(slot)]
        for i in range(len(consumers), max(old.n_consumers, 0)):
            cons[ct.c_uint32(base + i)] = cons.Leaf()
            stats[ct.c_uint32(base + i)] = stats.Leaf()
        cfg = cfgs.Leaf()
        cfg.stream_id = stream_id
        cfg.ifindex = ifindex
        cfg.port = port
        cfg.inspection = inspection
        cfg.n_consumers = len(consumers)
        cfgs[ct.c_uint32(slot)] = cfg
        if self.xdp is not None:
            self.xdp.write_consumers(slot, consumers)
        ports = self.bpf[b"ports"]
        key = ports.Key()
        key.ifindex, key.port, key.proto = ifindex, port, socket.IPPROTO_UDP
        ports[key] = ct.c_uint32(slot)

    def clear_stream(self, slot: int, ifindex: int, port: int) -> None:
        """Remove a stream slot: port pair first, so no packet sees a half-removed stream."""
        ports = self.bpf[b"ports"]
        key = ports.Key()
        key.ifindex, key.port, key.proto = ifindex, port, socket.IPPROTO_UDP
        try:
            del ports[key]
        except KeyError:
            pass
        cfgs = self.bpf[b"stream_cfgs"]
        n = cfgs[ct.c_uint32(slot)].n_consumers
        cfgs[ct.c_uint32(slot)] = cfgs.Leaf()
        cons = self.bpf[b"consumers"]
        stats = self.bpf[b"consumer_stats"]
        for i in range(min(n, sp.MAX_CONSUMERS)):
            cons[ct.c_uint32(slot * sp.MAX_CONSUMERS + i)] = cons.Leaf()
            stats[ct.c_uint32(slot * sp.MAX_CONSUMERS + i)] = stats.Leaf()
        self.bpf[b"stream_states"][ct.c_uint32(slot)] = self.bpf[b"stream_states"].Leaf()
        if self.xdp is not None:
            self.xdp.write_consumers(slot, [])
        ss = self.bpf[b"stream_stats"]
        ss[ct.c_uint32(slot)] = ss.Leaf()
        self.write_blob(slot, b"")

    def stream_ifindex(self, slot: int) -> int:
        """The ingress ifindex slot ``slot`` was programmed with (0 when it is free)."""
        return self.bpf[b"stream_cfgs"][ct.c_uint32(slot)].ifindex

    def write_blob(self, slot: int, data: bytes) -> None:
        """Keep a serialized ReplicatorStream in the slot's blob (for a restarted loader)."""
        if len(data) > sp.SPEC_BLOB_MAX:
            raise ValueError(f"stream spec too large ({len(data)} bytes > {sp.SPEC_BLOB_MAX})")
        blobs = self.bpf[b"spec_blobs"]
        leaf = blobs.Leaf()
        leaf.len = len(data)
        ct.memmove(leaf.data, data, len(data))
        blobs[ct.c_uint32(slot)] = leaf

    def read_blobs(self) -> dict[int, bytes]:
        """Slot -> serialized ReplicatorStream of every programmed slot."""
        out = {}
        cfgs = self.bpf[b"stream_cfgs"]
        blobs = self.bpf[b"spec_blobs"]
        for slot in range(sp.MAX_STREAMS):
            if cfgs[ct.c_uint32(slot)].stream_id == 0:
                continue
            leaf = blobs[ct.c_uint32(slot)]
            out[slot] = ct.string_at(ct.addressof(leaf.data), leaf.len)
        return out

    # --- counters ---
    def stream_counters(self, slot: int) -> dict:
        """Per-stream counters summed over CPUs."""
        vals = self.bpf[b"stream_stats"][ct.c_uint32(slot)]
        out = {
            "packets_seen": 0,
            "packets_parsed": 0,
            "packets_unknown": 0,
            "packets_malformed": 0,
            "ts_packets": 0,
            "ts_by_class": [0] * sp.NUM_CLASSES,
        }
        for v in vals:
            for k in ("packets_seen", "packets_parsed", "packets_unknown", "packets_malformed", "ts_packets"):
                out[k] += getattr(v, k)
            for c in range(sp.NUM_CLASSES):
                out["ts_by_class"][c] += v.ts_by_class[c]
        return out

    def consumer_counters(self, slot: int, index: int) -> dict:
        """Counters of one consumer summed over CPUs (lists indexed by FrameClass)."""
        vals = self.bpf[b"consumer_stats"][ct.c_uint32(slot * sp.MAX_CONSUMERS + index)]
        out = {
            k: [0] * sp.NUM_CLASSES
            for k in ("delivered_packets", "delivered_bytes", "dropped_packets", "dropped_bytes")
        }
        out["drops_by_reason"] = [0] * sp.NUM_DROP_REASONS
        for v in vals:
            for k in ("delivered_packets", "delivered_bytes", "dropped_packets", "dropped_bytes"):
                for c in range(sp.NUM_CLASSES):
                    out[k][c] += getattr(v, k)[c]
            for r in range(sp.NUM_DROP_REASONS):
                out["drops_by_reason"][r] += v.drops_by_reason[r]
        return out

    def glob_counters(self) -> dict[str, int]:
        """Traffic passed untouched, by reason."""
        t = self.bpf[b"glob_stats"]
        return {name: sum(t[ct.c_uint32(i)]) for i, name in enumerate(sp.GLOB_NAMES)}

    def last_classes(self) -> list[int]:
        """Test builds: classes of the TS packets of the last datagram."""
        tr = self.bpf[b"class_traces"][ct.c_uint32(0)]
        return [tr.cls[i] for i in range(tr.n)]
