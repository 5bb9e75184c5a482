# SPDX-License-Identifier: Apache-2.0
"""Stream half of the Loader service: replicators, streams, consumers, counters.

Desired state arrives whole (a ReplicatorStream with its full consumer set) and is
written to pinned maps; applying the same state twice changes nothing. The
serialized spec is kept in a pinned map too, so a restarted loader lists and
diffs what an earlier one programmed, and the tc/XDP attachments (which hold
the programs) keep packets flowing while no loader runs.
"""

from __future__ import annotations

import ctypes as ct
import dataclasses
import logging
import threading

import grpc
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from edgerep.v1 import common_pb2, loader_pb2
from edgerep_loader import stream_prog as sp
from edgerep_loader import tc
from edgerep_loader.stream_kernel import KernelConsumer, StreamKernel
from edgerep_loader.stream_validate import UDP, InvalidRequest, check_stream
from edgerep_loader.stream_xdp_prog import XDP_STREAMS

log = logging.getLogger("edgerep.loader.stream")

#: Whether the XDP datapath programs are compiled alongside tc.
XDP_BUILT = True

#: Default bucket depth of a budget: rate / 4, a quarter second. Differential packets may use
#: only its upper half, so the lower half (125 ms of budget) is what a key frame can draw on
#: beyond the rate; a shallower bucket also wastes tokens between a sender's per-frame bursts
#: (at rate / 20 a consumer budgeted at 80% received under half of the stream).
DEFAULT_BURST_DIVISOR = 4

#: The programs see untagged Ethernet frames (tagged ones are passed): a frame is its IP packet plus this.
ETH_HLEN = 14


def _mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


class StreamService:
    """Implements EnsureReplicator … ReadStreamCounters over one pin dir."""

    def __init__(self, pin_dir: str):
        self.pin_dir = pin_dir
        self._lock = threading.Lock()
        self._ipr = IPRoute()
        self.kernel = StreamKernel(pin_dir, xdp=XDP_BUILT)
        self._slots: dict[int, int] = {}  # stream_id -> slot
        self._specs: dict[int, loader_pb2.ReplicatorStream] = {}  # stream_id -> spec
        #: egress ifindex -> why native XDP cannot deliver into it ("" when it can)
        self._peers: dict[int, str] = {}
        #: replicators forgotten because their interface was gone
        self.vanished_replicators = 0
        self._adopt()

    # --- adoption ---
    def _adopt(self) -> None:
        """Rebuild the in-memory view from the pinned maps of an earlier loader."""
        for slot, blob in self.kernel.read_blobs().items():
            spec = loader_pb2.ReplicatorStream()
            spec.ParseFromString(blob)
            self._slots[spec.stream_id] = slot
            self._specs[spec.stream_id] = spec
        self._forget_vanished()
        reps = self.kernel.table(b"replicators")
        for key, info in list(reps.items()):
            ifindex = key.value
            if info.datapath == common_pb2.DATAPATH_TC and not tc.attached(self._ipr, ifindex, self.pin_dir):
                log.warning("replicator on ifindex %d is gone; forgetting it", ifindex)
                del reps[key]
        # pass programs an earlier loader put on consumers' veth peers are ours to keep or remove
        self._sync_peers(candidates=self._egresses(native_only=False))
        log.info("adopted %d streams and %d replicators from %s", len(self._specs), len(reps), self.pin_dir)

    def _forget_vanished(self) -> None:
        """Forget replicators whose interface is gone (its programs went with it); counted."""
        reps = self.kernel.table(b"replicators")
        for key, info in list(reps.items()):
            if not self._ifname(key.value):
                log.warning(
                    "interface of the replicator on ifindex %d vanished; forgetting it (its streams stay "
                    "programmed until removed)",
                    key.value,
                )
                del reps[key]
                if info.datapath == common_pb2.DATAPATH_TC:
                    tc.detach(self._ipr, key.value, self.pin_dir)  # unpins a defunct tcx link
                self.vanished_replicators += 1

    # --- veth peers of native XDP consumers ---
    def _egresses(self, native_only: bool = True) -> set[int]:
        """Egress ifindexes of the consumers of streams (only those whose ingress runs native XDP)."""
        out = set()
        for spec in self._specs.values():
            rep = self._replicator(self._ifindex(spec.interface))
            if native_only and (rep is None or rep.xdp_mode != loader_pb2.XDP_MODE_NATIVE):
                continue
            out.update(i for i in (self._ifindex(c.egress_interface) for c in spec.consumers) if i)
        return out

    def _sync_peers(self, candidates: set[int] = frozenset()) -> None:
        """Pass programs on the veth peers native XDP consumers need; removed where none is needed."""
        if self.kernel.xdp is None:
            return
        want = self._egresses()
        for ifindex in (set(self._peers) | set(candidates)) - want:
            self.kernel.xdp.release_peer(self._ipr, ifindex)
            self._peers.pop(ifindex, None)
        for ifindex in want:
            if self._peers.get(ifindex) != "":
                self._peers[ifindex] = self.kernel.xdp.prepare_peer(self._ipr, ifindex)
                if self._peers[ifindex]:
                    log.warning("%s", self._peers[ifindex])

    def _ifindex(self, name: str) -> int:
        return tc.ifindex_of(self._ipr, name) if name else 0

    def _ifname(self, ifindex: int) -> str:
        """Name of ``ifindex``; "" when there is no such interface (any more)."""
        try:
            links = self._ipr.get_links(ifindex)
        except NetlinkError:
            return ""
        return links[0].get_attr("IFLA_IFNAME") if links else ""

    def _replicator(self, ifindex: int):
        reps = self.kernel.table(b"replicators")
        try:
            return reps[ct.c_uint32(ifindex)]
        except KeyError:
            return None

    # --- replicators ---
    def ensure_replicator(self, request, context):
        """Attach (or adopt) the replicator on an interface."""
        with self._lock:
            ifindex = self._ifindex(request.interface)
            if not ifindex:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown interface {request.interface!r}")
            if request.datapath not in (common_pb2.DATAPATH_TC, common_pb2.DATAPATH_XDP):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "datapath must be TC or XDP")
            resp = self._ensure(ifindex, request.datapath)
            self._sync_peers()
            return resp

    def _ensure(self, ifindex: int, datapath: int) -> loader_pb2.EnsureReplicatorResponse:
        """Attach what is asked, adopting an existing attachment of the same datapath.

        A datapath change attaches the new program before the old one is removed (XDP
        runs before tc, so while both are attached each packet is copied once): no gap.
        """
        reps = self.kernel.table(b"replicators")
        have = self._replicator(ifindex)
        if have is not None and not self._attached(ifindex, have):
            have = None  # attachment vanished: start over
        resp = loader_pb2.EnsureReplicatorResponse(ifindex=ifindex)
        if have is not None and have.datapath == datapath:
            resp.datapath, resp.xdp_mode, resp.adopted = have.datapath, have.xdp_mode, True
            return resp
        mode = loader_pb2.XDP_MODE_NONE
        effective = common_pb2.DATAPATH_TC
        reason = ""
        if datapath == common_pb2.DATAPATH_XDP:
            if self.kernel.xdp is None:
                reason = "XDP programs not built: tc in use"
            else:
                mode, reason = self.kernel.xdp.attach(self._ipr, ifindex)
                if mode != loader_pb2.XDP_MODE_NONE:
                    effective = common_pb2.DATAPATH_XDP
        if have is not None and have.datapath == effective:
            # XDP was asked, is not possible, and tc already serves the interface
            resp.datapath, resp.xdp_mode, resp.adopted = have.datapath, have.xdp_mode, True
            resp.fallback_reason = reason
            log.warning("ifindex %d: %s", ifindex, reason)
            return resp
        if effective == common_pb2.DATAPATH_TC:
            tc.attach(self._ipr, ifindex, self.kernel.tc_fn.fd, self.pin_dir)
        if have is not None:
            self._detach(ifindex, have)
        info = reps.Leaf()
        info.datapath = effective
        info.xdp_mode = mode
        reps[ct.c_uint32(ifindex)] = info
        resp.datapath = effective
        resp.xdp_mode = mode
        resp.fallback_reason = reason
        if reason:
            log.warning("ifindex %d: %s", ifindex, reason)
        return resp

    def _attached(self, ifindex: int, info) -> bool:
        if info.datapath == common_pb2.DATAPATH_TC:
            return bool(tc.attached(self._ipr, ifindex, self.pin_dir))
        return self.kernel.xdp is not None and self.kernel.xdp.attached(self._ipr, ifindex)

    def _detach(self, ifindex: int, info) -> None:
        if info.datapath == common_pb2.DATAPATH_TC:
            tc.detach(self._ipr, ifindex, self.pin_dir)
        elif self.kernel.xdp is not None:
            self.kernel.xdp.detach(self._ipr, ifindex)

    def attachments(self) -> list:
        """(interface, datapath name, attached now) of every replicator the pinned maps hold."""
        with self._lock:
            self._forget_vanished()
            out = []
            for key, info in list(self.kernel.table(b"replicators").items()):
                ifname = self._ifname(key.value) or f"ifindex{key.value}"
                dp = "xdp" if info.datapath == common_pb2.DATAPATH_XDP else "tc"
                out.append((ifname, dp, self._attached(key.value, info)))
            return out

    def remove_replicator(self, request, context):
        """Detach the replicator from an interface (idempotent)."""
        with self._lock:
            ifindex = self._ifindex(request.interface)
            if not ifindex:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown interface {request.interface!r}")
            have = self._replicator(ifindex)
            if have is not None:
                self._drop_replicator(ifindex, have)
                self._sync_peers()
            return loader_pb2.RemoveReplicatorResponse()

    def _drop_replicator(self, ifindex: int, info) -> None:
        """Detach the replicator of ``ifindex`` (if still attached) and forget it. Under the lock."""
        if self._attached(ifindex, info):
            self._detach(ifindex, info)
        del self.kernel.table(b"replicators")[ct.c_uint32(ifindex)]

    def _drop_stream(self, stream_id: int):
        """Clear a stream's slot and forget it; its spec, or None when there was no such stream. Under the lock."""
        spec, slot = self._specs.pop(stream_id, None), self._slots.pop(stream_id, None)
        if spec is not None and slot is not None:
            # the ifindex the stream was programmed with: its interface may be gone
            self.kernel.clear_stream(slot, self.kernel.stream_ifindex(slot), spec.port)
        return spec

    def teardown(self) -> list:
        """Clear every stream and detach every replicator (uninstall); returns what it removed."""
        removed = []
        with self._lock:
            peers = self._egresses(native_only=False) | set(self._peers)
            for stream_id in sorted(self._specs):
                spec = self._drop_stream(stream_id)
                removed.append(f"stream {stream_id} ({spec.interface}:{spec.port})")
            for key, info in list(self.kernel.table(b"replicators").items()):
                ifname = self._ifname(key.value) or f"ifindex {key.value}"
                self._drop_replicator(key.value, info)
                dp = "xdp" if info.datapath == common_pb2.DATAPATH_XDP else "tc ingress"
                removed.append(f"{dp} {ifname}")
            for ifindex in sorted(peers):
                if self.kernel.xdp is not None and self.kernel.xdp.release_peer(self._ipr, ifindex):
                    removed.append(f"xdp pass program on the veth peer of {self._ifname(ifindex)}")
            self._peers.clear()
        return removed

    # --- streams ---
    def set_stream(self, request, context):
        """Create or update a stream with its full consumer set."""
        spec = request.stream
        with self._lock:
            try:
                check_stream(spec, self._ifindex)
                ifindex = self._ifindex(spec.interface)
                if self._replicator(ifindex) is None:
                    raise InvalidRequest(
                        f"stream {spec.stream_id}: interface {spec.interface!r} has no replicator "
                        "(EnsureReplicator first)"
                    )
                for other_id, other in self._specs.items():
                    if (
                        other_id != spec.stream_id
                        and other.interface == spec.interface
                        and other.port == spec.port
                    ):
                        raise InvalidRequest(
                            f"stream {spec.stream_id}: port {spec.port} on {spec.interface!r} "
                            f"already belongs to stream {other_id}"
                        )
                consumers = [self._resolve(c) for c in spec.consumers]
                rep = self._replicator(ifindex)
                # a frame longer than one device of an XDP broadcast takes stops a generic broadcast there
                # (the devices after it get nothing) and is skipped uncounted by a native one: such a
                # consumer stays out of the broadcast; tc serves it, counting what does not fit as drops
                ingress_mtu = self._mtu(ifindex)
                mtu_warnings = [
                    self._mtu_warning(ingress_mtu, kc, c.name) for c, kc in zip(spec.consumers, consumers)
                ]
                if rep.datapath == common_pb2.DATAPATH_XDP:
                    consumers = [
                        dataclasses.replace(kc, in_devmap=False) if small else kc
                        for kc, small in zip(consumers, mtu_warnings)
                    ]
                slot = self._slots.get(spec.stream_id)
                if slot is None:
                    used = set(self._slots.values())
                    free = [s for s in range(sp.MAX_STREAMS) if s not in used]
                    if not free:
                        context.abort(
                            grpc.StatusCode.RESOURCE_EXHAUSTED,
                            f"all {sp.MAX_STREAMS} stream slots are in use",
                        )
                    slot = free[0]
                if rep.datapath == common_pb2.DATAPATH_XDP and slot >= XDP_STREAMS:
                    context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"the XDP datapath serves stream slots below {XDP_STREAMS}",
                    )
                canonical = loader_pb2.ReplicatorStream()
                canonical.CopyFrom(spec)
                canonical.ip_protocol = UDP  # 0 says UDP too (the only protocol the programs parse)
                blob = canonical.SerializeToString()
                if len(blob) > sp.SPEC_BLOB_MAX:
                    raise InvalidRequest(f"stream {spec.stream_id}: spec too large to keep")
            except InvalidRequest as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
            old = self._specs.get(spec.stream_id)
            if old is not None and (old.interface, old.port) != (spec.interface, spec.port):
                self.kernel.clear_stream(slot, self.kernel.stream_ifindex(slot), old.port)
                old = None
            # each consumer's counters and bucket follow its name, not its position in the set
            had = [c.name for c in old.consumers] if old is not None else []
            carried = [had.index(c.name) if c.name in had else None for c in spec.consumers]
            self.kernel.write_stream(
                slot, spec.stream_id, ifindex, spec.port, spec.inspection, consumers, carried=carried
            )
            self.kernel.write_blob(slot, blob)
            self._slots[spec.stream_id] = slot
            self._specs[spec.stream_id] = canonical
            self._sync_peers(candidates=self._egresses(native_only=False))
            log.info(
                "stream %d on %s:%d: %d consumers (slot %d)",
                spec.stream_id,
                spec.interface,
                spec.port,
                len(consumers),
                slot,
            )
            results = []
            for c, kc, warning in zip(spec.consumers, consumers, mtu_warnings):
                why = self._peers.get(kc.ifindex, "") if rep.xdp_mode == loader_pb2.XDP_MODE_NATIVE else ""
                if not kc.in_devmap:
                    why = f"{warning}; the XDP datapath cannot serve it (the tc datapath can, counting the drops)"
                    warning = ""
                if warning:
                    log.warning("stream %d: %s", spec.stream_id, warning)
                results.append(
                    loader_pb2.ConsumerResult(
                        name=c.name,
                        ok=not why,
                        error=why,
                        warning=warning,
                        warning_reason="EgressMtuTooSmall" if warning else "",
                    )
                )
            return loader_pb2.SetStreamResponse(consumers=results)

    def _resolve(self, c: loader_pb2.ReplicatorConsumer) -> KernelConsumer:
        ifindex = self._ifindex(c.egress_interface)
        mtu = self._mtu(ifindex)
        src_mac = _mac(c.src_mac) if c.src_mac else self._link_mac(ifindex)
        kind = c.policy.kind or common_pb2.POLICY_KIND_NONE
        burst = c.policy.burst_bytes or max(c.policy.rate_bytes_per_sec // DEFAULT_BURST_DIVISOR, 1)
        return KernelConsumer(
            ifindex=ifindex,
            dst_mac=_mac(c.dst_mac) if c.dst_mac else b"\0" * 6,
            src_mac=src_mac,
            dst_ip=c.dst_ip,
            src_ip=c.src_ip,
            dst_port=c.dst_port,
            policy=kind,
            rate_bps=c.policy.rate_bytes_per_sec,
            burst=burst if c.policy.rate_bytes_per_sec else 0,
            uniform_ppm=c.policy.uniform_drop_ppm,
            use_fib=not c.dst_mac,
            max_len=mtu + ETH_HLEN if mtu else 0,
        )

    def _mtu(self, ifindex: int) -> int:
        links = self._ipr.get_links(ifindex)
        return (links[0].get_attr("IFLA_MTU") or 0) if links else 0

    def _mtu_warning(self, need: int, kc: KernelConsumer, name: str) -> str:
        """Why some of a stream cannot reach a consumer whose egress carries less than the ingress (MTU ``need``);
        "" if none."""
        have = kc.max_len - ETH_HLEN if kc.max_len else 0
        if not have or have >= need:
            return ""
        return (
            f"consumer {name}: its egress {self._ifname(kc.ifindex)} has MTU {have}, below the ingress's {need}: "
            f"copies of datagrams longer than {have} bytes (IP) are dropped and counted as drops"
        )

    def _link_mac(self, ifindex: int) -> bytes:
        links = self._ipr.get_links(ifindex)
        addr = links[0].get_attr("IFLA_ADDRESS") if links else None
        return _mac(addr) if addr else b"\0" * 6

    def remove_stream(self, request, context):
        """Remove a stream and its consumers (idempotent)."""
        with self._lock:
            if not 1 <= request.stream_id <= 65535:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"stream_id must be 1..65535, got {request.stream_id}"
                )
            spec = self._drop_stream(request.stream_id)
            if spec is not None:
                self._sync_peers(candidates={self._ifindex(c.egress_interface) for c in spec.consumers} - {0})
                log.info("stream %d removed", request.stream_id)
            return loader_pb2.RemoveStreamResponse()

    def list_streams(self, request, context):
        """Everything programmed: streams (in id order) and replicators."""
        with self._lock:
            self._forget_vanished()
            resp = loader_pb2.ListStreamsResponse(streams=[self._specs[i] for i in sorted(self._specs)])
            for key, info in sorted(self.kernel.table(b"replicators").items(), key=lambda kv: kv[0].value):
                resp.replicators.append(
                    loader_pb2.EnsureReplicatorResponse(
                        ifindex=key.value, datapath=info.datapath, xdp_mode=info.xdp_mode, adopted=True
                    )
                )
                resp.replicator_interfaces.append(self._ifname(key.value))
            return resp

    def read_counters(self, request, context):
        """Per-stream and per-consumer counters, summed over CPUs."""
        with self._lock:
            ids = list(request.stream_ids) or sorted(self._specs)
            unknown = [i for i in ids if i not in self._specs]
            if unknown:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown stream ids {unknown}")
            resp = loader_pb2.ReadStreamCountersResponse()
            for sid in ids:
                slot = self._slots[sid]
                s = self.kernel.stream_counters(slot)
                out = loader_pb2.StreamCounters(
                    stream_id=sid,
                    packets_seen=s["packets_seen"],
                    packets_parsed=s["packets_parsed"],
                    packets_unknown=s["packets_unknown"],
                    packets_malformed=s["packets_malformed"],
                )
                for i, c in enumerate(self._specs[sid].consumers):
                    cc = self.kernel.consumer_counters(slot, i)
                    out.consumers.append(
                        loader_pb2.ConsumerCounterSet(
                            name=c.name,
                            delivered_packets=cc["delivered_packets"],
                            delivered_bytes=cc["delivered_bytes"],
                            dropped_packets=cc["dropped_packets"],
                            dropped_bytes=cc["dropped_bytes"],
                        )
                    )
                resp.streams.append(out)
            return resp
