# SPDX-License-Identifier: Apache-2.0
"""tc attach of the stream replicator: a tcx link where the kernel has tcx, else cls_bpf.

tcx (kernel >= 6.6): a BPF_TCX_INGRESS link placed at the head of the interface's tcx
chain (BPF_F_BEFORE), so a CNI's own tcx program that ends the chain with TC_ACT_OK
cannot keep the stream from edgerep. The replicator returns TC_ACT_UNSPEC (TCX_NEXT) for
every packet it does not consume, so whatever follows it — the CNI's tcx programs, then
any cls_bpf filters — still sees all other traffic. The link is pinned in the pin dir and
holds the program, so the replicator keeps running after the loader exits; a restarted
loader finds the pin and adopts it.

Where BPF_LINK_CREATE refuses the attach type (a kernel without tcx), clsact + cls_bpf in
direct-action mode (pyroute2) at a fixed priority; its filter is found by name.
"""

from __future__ import annotations

import errno
import logging
import os

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from edgerep_loader import stream_sys as ss

log = logging.getLogger("edgerep.loader.tc")

#: Parent handle of the clsact ingress hook.
INGRESS_PARENT = 0xFFFFFFF2
#: Priority and handle of our filter (fixed, so it is found and replaced, never duplicated).
FILTER_PRIO = 0xE5
FILTER_HANDLE = 1
#: Name prefix of our filter programs.
FILTER_NAME = "edgerep_stream"
#: Pin of the tcx link of an interface, in the pin dir.
TCX_PIN = "stream_tcx_ingress_{ifindex}"
#: Environment variable that forces cls_bpf although the kernel has tcx (tests of the fallback).
FORCE_CLS_BPF_ENV = "EDGEREP_TC_FORCE_CLS_BPF"
#: errno values of a kernel that does not know BPF_TCX_INGRESS (ENOTSUPP is 524).
NO_TCX_ERRNOS = (errno.EINVAL, errno.EOPNOTSUPP, 524)

TCX, CLS_BPF = "tcx", "cls_bpf"


def ifindex_of(ipr: IPRoute, name: str) -> int:
    """ifindex of ``name``; 0 when there is no such interface."""
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else 0


def _pin(pin_dir: str, ifindex: int) -> str:
    return os.path.join(pin_dir, TCX_PIN.format(ifindex=ifindex))


def _tcx_link(pin_dir: str, ifindex: int) -> tuple[int, ss.LinkInfo] | None:
    """(fd, info) of our pinned tcx link on ``ifindex``; None when there is none."""
    try:
        fd = ss.obj_get(_pin(pin_dir, ifindex))
    except OSError:
        return None
    try:
        return fd, ss.link_info(fd)
    except OSError:
        os.close(fd)
        return None


def find_filter(ipr: IPRoute, ifindex: int) -> bool:
    """True when our cls_bpf replicator filter is attached on ``ifindex``'s ingress."""
    try:
        filters = ipr.get_filters(index=ifindex, parent=INGRESS_PARENT)
    except NetlinkError as e:
        if e.code in (errno.EINVAL, errno.ENOENT, errno.ENODEV):
            return False
        raise
    for f in filters:
        if f.get_attr("TCA_KIND") != "bpf":
            continue
        opts = f.get_attr("TCA_OPTIONS")
        name = opts.get_attr("TCA_BPF_NAME") if opts else None
        if name and name.startswith(FILTER_NAME):
            return True
    return False


def attached(ipr: IPRoute, ifindex: int, pin_dir: str) -> str:
    """How our replicator is attached on ``ifindex``: TCX, CLS_BPF or "" (not at all).

    A pinned link whose device is gone (the kernel zeroes its ifindex) does not count.
    """
    link = _tcx_link(pin_dir, ifindex)
    if link is not None:
        fd, info = link
        os.close(fd)
        if info.type == ss.BPF_LINK_TYPE_TCX and info.ifindex == ifindex:
            return TCX
    return CLS_BPF if find_filter(ipr, ifindex) else ""


def _attach_tcx(ifindex: int, prog_fd: int, pin_dir: str) -> bool:
    """Attach through a tcx link at the head of the chain; False when the kernel has no tcx."""
    if os.environ.get(FORCE_CLS_BPF_ENV):
        return False
    try:
        fd = ss.tcx_attach(prog_fd, ifindex, ss.BPF_F_BEFORE)
    except ss.BpfError as e:
        if e.errno in NO_TCX_ERRNOS:
            log.info("no tcx on this kernel (%s): cls_bpf on ifindex %d", e, ifindex)
            return False
        raise
    try:
        _drop_tcx(pin_dir, ifindex)  # a link of an earlier attach (ours): the new one runs first
        ss.obj_pin(fd, _pin(pin_dir, ifindex))
    except OSError:
        ss.link_detach(fd)
        raise
    finally:
        os.close(fd)
    return True


def attach(ipr: IPRoute, ifindex: int, prog_fd: int, pin_dir: str) -> str:
    """Attach (or replace) the replicator on ``ifindex``'s ingress; TCX or CLS_BPF."""
    if _attach_tcx(ifindex, prog_fd, pin_dir):
        # a cls_bpf filter of an earlier loader never sees the stream (tcx runs first and
        # consumes it) but would hold an old program: remove it
        _del_filter(ipr, ifindex)
        log.info("tc replicator attached on ifindex %d (tcx, first in the chain)", ifindex)
        return TCX
    try:
        ipr.tc("add", "clsact", ifindex)
    except NetlinkError as e:
        if e.code != errno.EEXIST:
            raise
    ipr.tc(
        "replace-filter",
        "bpf",
        ifindex,
        FILTER_HANDLE,
        fd=prog_fd,
        name=FILTER_NAME,
        parent=INGRESS_PARENT,
        prio=FILTER_PRIO,
        classid=1,
        direct_action=True,
    )
    log.info("tc replicator attached on ifindex %d (cls_bpf, prio %d)", ifindex, FILTER_PRIO)
    return CLS_BPF


def _drop_tcx(pin_dir: str, ifindex: int) -> None:
    """Detach and unpin our tcx link of ``ifindex`` (nothing when there is none)."""
    link = _tcx_link(pin_dir, ifindex)
    if link is None:
        return
    fd, _ = link
    try:
        ss.link_detach(fd)
    except OSError as e:
        log.debug("tcx link of ifindex %d: detach: %s (already defunct)", ifindex, e)
    finally:
        os.close(fd)
    try:
        os.unlink(_pin(pin_dir, ifindex))
    except FileNotFoundError:
        pass


def _del_filter(ipr: IPRoute, ifindex: int) -> None:
    try:
        ipr.tc("del-filter", "bpf", ifindex, FILTER_HANDLE, parent=INGRESS_PARENT, prio=FILTER_PRIO)
    except NetlinkError as e:
        if e.code not in (errno.ENOENT, errno.EINVAL, errno.ENODEV):
            raise


def detach(ipr: IPRoute, ifindex: int, pin_dir: str) -> None:
    """Remove our tcx link and our filter from ``ifindex``'s ingress (other programs stay)."""
    _drop_tcx(pin_dir, ifindex)
    _del_filter(ipr, ifindex)
    log.info("tc replicator detached from ifindex %d", ifindex)
