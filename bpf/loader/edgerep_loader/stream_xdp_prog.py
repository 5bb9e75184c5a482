# SPDX-License-Identifier: Apache-2.0
"""XDP datapath of the stream replicator: programs, devmaps, attach with a mode chosen per interface.

Mode choice: a veth ingress (fed by the stack) gets generic XDP; any other interface tries
native first, then generic. When neither attaches the caller falls back to tc and reports why.

Native XDP redirects frames with ndo_xdp_xmit, and a veth hands such a frame only to a peer
whose NAPI runs — otherwise the kernel drops it (veth_xdp_xmit, no counter the replicator
sees), which is why native mode once delivered nothing to pod consumers. While an ingress
runs native XDP, the peer of every veth consumer (the pod's eth0) gets ``stream_xdp_pass``
unless it already has a native XDP program; it is removed when no native stream needs it.

Other programs' XDP is never replaced: an interface that already has a foreign XDP program
gets tc instead, with a reason naming that program; attaches use XDP_FLAGS_UPDATE_IF_NOEXIST
and removals XDP_FLAGS_REPLACE with our program as the expected one, so a program attached
by someone else in between is neither overwritten nor removed.
"""

from __future__ import annotations

import ctypes as ct
import logging
import os

from bcc import BPF
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from edgerep.v1 import loader_pb2
from edgerep_loader import stream_prog as sp
from edgerep_loader import stream_sys as ss

log = logging.getLogger("edgerep.loader.xdp")

XDP_FLAGS_SKB_MODE = ss.XDP_FLAGS_SKB_MODE
XDP_FLAGS_DRV_MODE = ss.XDP_FLAGS_DRV_MODE
BPF_XDP_DEVMAP = 33
#: Stream slots the XDP datapath serves (stream_xdp.c XDP_STREAMS).
XDP_STREAMS = 8
#: Environment variable that forces an XDP mode ("native" / "generic"); for benchmarks and tests.
FORCE_MODE_ENV = "EDGEREP_XDP_FORCE_MODE"
#: Our programs as the kernel names them (bcc names a program after its function).
PASS_FUNC = b"stream_xdp_pass"
ENTRY_NAME, PASS_NAME = sp.XDP_FUNC.decode(), PASS_FUNC.decode()
MODE_NAMES = {XDP_FLAGS_DRV_MODE: "native", XDP_FLAGS_SKB_MODE: "generic"}


def _link(ipr: IPRoute, ifindex: int) -> tuple[str, str | None]:
    """(name, kind) of ``ifindex``; ("", None) when it is gone."""
    try:
        link = ipr.get_links(ifindex)[0]
    except (NetlinkError, IndexError):
        return "", None
    info = link.get_attr("IFLA_LINKINFO")
    return link.get_attr("IFLA_IFNAME"), info.get_attr("IFLA_INFO_KIND") if info else None


def _named(progs: dict) -> dict:
    """mode -> ProgInfo of the programs of a LinkXdp (programs gone meanwhile left out)."""
    out = {}
    for mode, pid in progs.items():
        info = ss.prog_info_by_id(pid)
        if info is not None:
            out[mode] = info
    return out


def _remove(ifindex: int, mode: int, prog_id: int, nsid: int | None = None) -> None:
    """Remove program ``prog_id`` from ``ifindex`` in ``mode`` only if it is still the one there."""
    fd = ss.prog_fd_by_id(prog_id)
    try:
        ss.xdp_set(ifindex, -1, mode | ss.XDP_FLAGS_REPLACE, expected_fd=fd, nsid=nsid)
    finally:
        os.close(fd)


class XdpPrograms:
    """Loaded XDP programs sharing the pinned maps of one StreamKernel's BPF object."""

    def __init__(self, bpf: BPF):
        self.bpf = bpf
        self.entry = bpf.load_func(sp.XDP_FUNC, BPF.XDP)
        jmp = bpf[b"xdp_jmp"]
        for slot, name in (
            (sp.JMP_TS, b"stream_xdp_ts"),
            (sp.JMP_SCAN, b"stream_xdp_scan"),
            (sp.JMP_FANOUT, b"stream_xdp_fanout"),
        ):
            jmp[ct.c_int(slot)] = ct.c_int(bpf.load_func(name, BPF.XDP).fd)
        self.egress = bpf.load_func(sp.XDP_EGRESS_FUNC, BPF.XDP, attach_type=BPF_XDP_DEVMAP)
        self.pass_prog = bpf.load_func(PASS_FUNC, BPF.XDP)

    # --- attach ---
    def foreign(self, ifindex: int) -> str:
        """A description of the XDP programs on ``ifindex`` that are not edgerep's ("" if none)."""
        progs = _named(ss.link_xdp(ifindex).progs)
        return ", ".join(
            f"{p.name or '(unnamed)'} (id {p.id}, {MODE_NAMES.get(mode, mode)})"
            for mode, p in sorted(progs.items())
            if p.name not in (ENTRY_NAME, PASS_NAME)
        )

    def attach(self, ipr: IPRoute, ifindex: int) -> tuple[int, str]:
        """Attach on ``ifindex``; (XdpMode, fallback reason or "")."""
        name, kind = _link(ipr, ifindex)
        other = self.foreign(ifindex)
        if other:
            return (
                loader_pb2.XDP_MODE_NONE,
                f"{name} already has the XDP program {other}; edgerep never replaces another "
                "program's XDP: tc in use",
            )
        self.detach(ipr, ifindex)  # an entry program of an earlier loader no replicator entry names
        order = (
            [("generic", XDP_FLAGS_SKB_MODE)]
            if kind == "veth"
            else [("native", XDP_FLAGS_DRV_MODE), ("generic", XDP_FLAGS_SKB_MODE)]
        )
        forced = os.environ.get(FORCE_MODE_ENV, "")
        if forced in ("native", "generic"):
            order = [(forced, XDP_FLAGS_DRV_MODE if forced == "native" else XDP_FLAGS_SKB_MODE)]
            kind = None
        errors = []
        for mode, flags in order:
            try:
                ss.xdp_set(ifindex, self.entry.fd, flags | ss.XDP_FLAGS_UPDATE_IF_NOEXIST)
            except ss.BpfError as e:  # the kernel's own reason (extack)
                errors.append(f"{mode}: {e.strerror}")
                continue
            log.info("XDP replicator attached on %s in %s mode", name, mode)
            reason = "" if mode == order[0][0] else "; ".join(errors)
            return (loader_pb2.XDP_MODE_NATIVE if mode == "native" else loader_pb2.XDP_MODE_GENERIC, reason)
        return loader_pb2.XDP_MODE_NONE, "XDP attach failed (" + "; ".join(errors) + "): tc in use"

    def attached(self, ipr: IPRoute, ifindex: int) -> bool:
        """True when our XDP entry program is attached on ``ifindex``."""
        try:
            progs = _named(ss.link_xdp(ifindex).progs)
        except ss.BpfError:
            return False  # the interface is gone
        return any(p.name == ENTRY_NAME for p in progs.values())

    def detach(self, ipr: IPRoute, ifindex: int) -> None:
        """Remove our XDP entry program from ``ifindex`` in whichever mode it is attached."""
        try:
            progs = _named(ss.link_xdp(ifindex).progs)
        except ss.BpfError:
            return  # the interface is gone, and its programs with it
        for mode, p in progs.items():
            if p.name != ENTRY_NAME:
                continue
            try:
                _remove(ifindex, mode, p.id)
                log.info("XDP replicator (id %d) detached from ifindex %d", p.id, ifindex)
            except OSError as e:
                log.warning("XDP program %d on ifindex %d could not be removed: %s", p.id, ifindex, e)

    # --- veth peers of consumers (native mode) ---
    def prepare_peer(self, ipr: IPRoute, ifindex: int) -> str:
        """Make native XDP frames deliverable into egress ``ifindex``; "" or why it cannot be."""
        name, kind = _link(ipr, ifindex)
        if kind != "veth":
            return ""  # a NIC's driver takes redirected frames itself (ndo_xdp_xmit)
        try:
            me = ss.link_xdp(ifindex)
            peer = _named(ss.link_xdp(me.peer_ifindex, me.peer_nsid).progs)
            if XDP_FLAGS_DRV_MODE in peer:
                return ""  # any native program on the peer (ours or the pod's) runs its NAPI
            if XDP_FLAGS_SKB_MODE in peer:
                p = peer[XDP_FLAGS_SKB_MODE]
                return (
                    f"the veth peer of {name} has the generic XDP program {p.name} (id {p.id}): "
                    "native XDP frames cannot reach it"
                )
            ss.xdp_set(
                me.peer_ifindex,
                self.pass_prog.fd,
                XDP_FLAGS_DRV_MODE | ss.XDP_FLAGS_UPDATE_IF_NOEXIST,
                nsid=me.peer_nsid,
            )
        except OSError as e:
            return (
                f"native XDP cannot deliver into {name or ifindex}: its veth peer took no XDP program ({e})"
            )
        log.info("XDP pass program attached to the veth peer of %s", name)
        return ""

    def release_peer(self, ipr: IPRoute, ifindex: int) -> bool:
        """Remove our pass program from the veth peer of ``ifindex`` (other programs stay); True if removed."""
        name, kind = _link(ipr, ifindex)
        if kind != "veth":
            return False
        try:
            me = ss.link_xdp(ifindex)
            p = _named(ss.link_xdp(me.peer_ifindex, me.peer_nsid).progs).get(XDP_FLAGS_DRV_MODE)
            if p is not None and p.name == PASS_NAME:
                _remove(me.peer_ifindex, XDP_FLAGS_DRV_MODE, p.id, me.peer_nsid)
                log.info("XDP pass program removed from the veth peer of %s", name)
                return True
        except OSError as e:
            log.warning("XDP pass program on the veth peer of %s: %s", name, e)
        return False

    # --- consumers ---
    def write_consumers(self, slot: int, consumers) -> None:
        """Program the slot's devmap and egress index from the consumer list."""
        if slot >= XDP_STREAMS:
            return
        outs = self.bpf[f"xdp_outs{slot}".encode()]
        idx = self.bpf[b"xdp_consumer_idx"]
        for key in list(idx.keys()):
            if key.slot == slot:
                del idx[key]
        for k in range(sp.MAX_CONSUMERS):
            try:
                del outs[ct.c_uint32(k)]
            except (KeyError, OSError):
                pass
        for k, c in enumerate(consumers):
            if not c.in_devmap:
                continue
            val = outs.Leaf()
            val.ifindex = c.ifindex
            val.prog_fd = self.egress.fd
            try:
                outs[ct.c_uint32(k)] = val
            except Exception as e:  # noqa: BLE001
                log.warning("devmap entry %d of slot %d (ifindex %d) failed: %s", k, slot, c.ifindex, e)
                continue
            key = idx.Key()
            key.slot, key.ifindex = slot, c.ifindex
            idx[key] = ct.c_uint32(k)
