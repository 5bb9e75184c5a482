# SPDX-License-Identifier: Apache-2.0
"""tc attach of the stream replicator: clsact + cls_bpf in direct-action mode (pyroute2).

The filter holds the program, so the replicator keeps running after the loader
exits; a restarted loader finds its filter by name and adopts it.
"""

from __future__ import annotations

import errno
import logging

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

log = logging.getLogger("edgerep.loader.tc")

#: Parent handle of the clsact ingress hook.
INGRESS_PARENT = 0xFFFFFFF2
#: Priority and handle of our filter (fixed, so it is found and replaced, never duplicated).
FILTER_PRIO = 0xE5
FILTER_HANDLE = 1
#: Name prefix of our filter programs.
FILTER_NAME = "edgerep_stream"


def ifindex_of(ipr: IPRoute, name: str) -> int:
    """ifindex of ``name``; 0 when there is no such interface."""
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else 0


def find_filter(ipr: IPRoute, ifindex: int) -> bool:
    """True when our replicator filter is attached on ``ifindex``'s ingress."""
    try:
        filters = ipr.get_filters(index=ifindex, parent=INGRESS_PARENT)
    except NetlinkError as e:
        if e.code in (errno.EINVAL, errno.ENOENT):
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


def attach(ipr: IPRoute, ifindex: int, prog_fd: int) -> None:
    """Attach (or replace) the replicator on ``ifindex``'s ingress."""
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
    log.info("tc replicator attached on ifindex %d", ifindex)


def detach(ipr: IPRoute, ifindex: int) -> None:
    """Remove our filter from ``ifindex``'s ingress (other filters stay)."""
    try:
        ipr.tc("del-filter", "bpf", ifindex, FILTER_HANDLE, parent=INGRESS_PARENT, prio=FILTER_PRIO)
    except NetlinkError as e:
        if e.code not in (errno.ENOENT, errno.EINVAL):
            raise
    log.info("tc replicator detached from ifindex %d", ifindex)
