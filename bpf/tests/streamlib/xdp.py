# SPDX-License-Identifier: Apache-2.0
"""XDP and tc programs seen from the tests: what is attached where, and stand-ins for others' programs."""

from __future__ import annotations

import os
import socket

from edgerep_loader import stream_sys as ss


def in_ns(ns: str, fn):
    """Run ``fn`` in the named network namespace (a thread that entered it)."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return ss.run_in_netns(fd, fn)
    finally:
        os.close(fd)


def xdp_progs(ns: str, ifname: str) -> dict[str, ss.ProgInfo]:
    """ "native" / "generic" -> the XDP program attached so on ``ifname`` in ``ns``."""

    def read():
        progs = ss.link_xdp(socket.if_nametoindex(ifname)).progs
        return {ss_mode(m): ss.prog_info_by_id(pid) for m, pid in progs.items()}

    return in_ns(ns, read)


def ss_mode(flag: int) -> str:
    return {ss.XDP_FLAGS_DRV_MODE: "native", ss.XDP_FLAGS_SKB_MODE: "generic"}[flag]


def attach_xdp(ns: str, ifname: str, prog_fd: int, mode: str) -> None:
    """Attach a program as a pod or a CNI would (never replacing one already there)."""
    flag = ss.XDP_FLAGS_DRV_MODE if mode == "native" else ss.XDP_FLAGS_SKB_MODE
    in_ns(
        ns, lambda: ss.xdp_set(socket.if_nametoindex(ifname), prog_fd, flag | ss.XDP_FLAGS_UPDATE_IF_NOEXIST)
    )
