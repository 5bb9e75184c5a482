# SPDX-License-Identifier: Apache-2.0
"""What this node's kernel offers, read from stable interfaces only."""

from __future__ import annotations

import os

from edgerep.v1 import loader_pb2


def cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> str:
    """Return the mount point of the cgroup v2 hierarchy, or "" when there is none.

    Hybrid hosts mount it at /sys/fs/cgroup/unified, unified hosts at
    /sys/fs/cgroup: never hard-code either.
    """
    try:
        with open(mountinfo, encoding="utf-8") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if right.split(" ", 1)[0] == "cgroup2":
                    return left.split(" ")[4]
    except OSError:
        pass
    return ""


def _is_mount(path: str, fstype: str, mountinfo: str = "/proc/self/mountinfo") -> bool:
    try:
        with open(mountinfo, encoding="utf-8") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if left.split(" ")[4] == path and right.split(" ", 1)[0] == fstype:
                    return True
    except OSError:
        pass
    return False


def kernel_capabilities() -> loader_pb2.KernelCapabilities:
    """Kernel facts reported to the agent (and through it, the operator)."""
    cg2 = cgroup2_mount()
    return loader_pb2.KernelCapabilities(
        kernel_release=os.uname().release,
        btf=os.path.exists("/sys/kernel/btf/vmlinux"),
        cgroup_v2=bool(cg2),
        cgroup_v2_mount=cg2,
        bpffs=_is_mount("/sys/fs/bpf", "bpf"),
        tracefs=_is_mount("/sys/kernel/tracing", "tracefs"),
    )


def kernel_headers_problem(
    release: str = "", modules: str = "/lib/modules", kheaders: str = "/sys/kernel/kheaders.tar.xz"
) -> str:
    """Why bcc cannot compile here for lack of kernel headers, or "" when it can find them.

    bcc compiles the programs against ``<modules>/<release>/build`` (and ``source``, for split header
    packages), or against the kernel's own archive when the kheaders module is loaded. A dangling link
    (the headers' package removed, or /usr/src not mounted into the loader's container) counts as missing.
    """
    release = release or os.uname().release
    if os.environ.get("BCC_KERNEL_SOURCE"):
        return ""
    build = os.path.join(modules, release, "build")
    if os.path.isdir(os.path.join(build, "include")) or os.path.exists(kheaders):
        return ""
    where = f"{build} is a dangling link" if os.path.islink(build) else f"{build} is missing"
    return (
        f"no kernel headers for {release}: {where} and the kernel has no {kheaders} (CONFIG_IKHEADERS); "
        f"install the headers of {release} on the node (Debian: linux-headers-{release}), "
        "or load the kheaders module"
    )
