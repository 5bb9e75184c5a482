# SPDX-License-Identifier: Apache-2.0
"""Raw bpf(2) and rtnetlink calls the stream replicator needs that bcc and pyroute2 lack.

- tcx links (BPF_LINK_CREATE with BPF_TCX_INGRESS, kernel >= 6.6), pinned so a restarted
  loader finds them; their link info tells whether the device is still there.
- Program identity by id (name, type), to tell edgerep's XDP programs from anyone else's.
- XDP attach through RTM_SETLINK with the flags bcc does not pass (UPDATE_IF_NOEXIST,
  REPLACE with an expected fd) and IFLA_TARGET_NETNSID, which reaches a veth's peer in
  another network namespace (a pod's eth0) without entering it.

The attribute layouts are those of include/uapi/linux/bpf.h and if_link.h; the
numbers are stable UAPI.
"""

from __future__ import annotations

import ctypes as ct
import errno
import os
import socket
import struct
import threading
from dataclasses import dataclass

_libc = ct.CDLL(None, use_errno=True)
_libc.syscall.restype = ct.c_long
SYS_BPF = 321  # x86_64

# enum bpf_cmd
BPF_OBJ_PIN = 6
BPF_OBJ_GET = 7
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_LINK_CREATE = 28
BPF_LINK_DETACH = 34
# enum bpf_attach_type
BPF_TCX_INGRESS = 46
# mprog flags (BPF_F_BEFORE without a relative program: the head of the chain)
BPF_F_BEFORE = 1 << 3
BPF_F_AFTER = 1 << 4
# enum bpf_link_type
BPF_LINK_TYPE_TCX = 11
#: sizeof(union bpf_attr) on the kernels this runs on (the kernel accepts any size it knows).
ATTR_SIZE = 144
BPF_OBJ_NAME_LEN = 16

# rtnetlink
RTM_GETLINK, RTM_SETLINK, RTM_GETNSID = 18, 19, 90
NETNSA_NSID, NETNSA_FD = 1, 3
CLONE_NEWNET = 0x40000000
IFLA_LINK, IFLA_LINK_NETNSID, IFLA_XDP, IFLA_TARGET_NETNSID = 5, 37, 43, 46
IFLA_XDP_FD, IFLA_XDP_FLAGS = 1, 3
IFLA_XDP_DRV_PROG_ID, IFLA_XDP_SKB_PROG_ID, IFLA_XDP_EXPECTED_FD = 5, 6, 8
XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2
XDP_FLAGS_REPLACE = 1 << 4
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
NLA_F_NESTED = 1 << 15
SOL_NETLINK, NETLINK_EXT_ACK = 270, 11
NLM_F_ACK_TLVS, NLMSGERR_ATTR_MSG = 0x200, 1


class BpfError(OSError):
    """A bpf(2) or rtnetlink call failed; ``errno`` and the kernel's message when it gave one."""


def _bpf(cmd: int, attr: ct.Array) -> int:
    ret = _libc.syscall(SYS_BPF, cmd, attr, ATTR_SIZE)
    if ret < 0:
        err = ct.get_errno()
        raise BpfError(err, os.strerror(err))
    return ret


def _attr(*fields: tuple[int, str, int]) -> ct.Array:
    """A zeroed bpf_attr with (offset, struct format, value) fields written into it."""
    buf = ct.create_string_buffer(ATTR_SIZE)
    for off, fmt, value in fields:
        struct.pack_into(fmt, buf, off, value)
    return buf


# --- objects ---
def obj_pin(fd: int, path: str) -> None:
    """Pin a bpf object (here: a link) at ``path`` on bpffs."""
    p = ct.create_string_buffer(path.encode())
    _bpf(BPF_OBJ_PIN, _attr((0, "Q", ct.addressof(p)), (8, "I", fd)))


def obj_get(path: str) -> int:
    """fd of the object pinned at ``path``."""
    p = ct.create_string_buffer(path.encode())
    return _bpf(BPF_OBJ_GET, _attr((0, "Q", ct.addressof(p))))


def _info(fd: int, size: int) -> bytes:
    out = ct.create_string_buffer(size)
    _bpf(BPF_OBJ_GET_INFO_BY_FD, _attr((0, "I", fd), (4, "I", size), (8, "Q", ct.addressof(out))))
    return out.raw


@dataclass(frozen=True)
class ProgInfo:
    """What the kernel says about a loaded program."""

    id: int
    type: int
    name: str


def prog_info(fd: int) -> ProgInfo:
    """Id, type and name of the program behind ``fd``."""
    raw = _info(fd, 128)
    ptype, pid = struct.unpack_from("II", raw, 0)
    name = raw[64 : 64 + BPF_OBJ_NAME_LEN].split(b"\0", 1)[0].decode(errors="replace")
    return ProgInfo(pid, ptype, name)


def prog_fd_by_id(prog_id: int) -> int:
    """An fd of program ``prog_id`` (the caller closes it)."""
    return _bpf(BPF_PROG_GET_FD_BY_ID, _attr((0, "I", prog_id)))


def prog_info_by_id(prog_id: int) -> ProgInfo | None:
    """ProgInfo of ``prog_id``; None when the program is gone."""
    try:
        fd = prog_fd_by_id(prog_id)
    except BpfError as e:
        if e.errno == errno.ENOENT:
            return None
        raise
    try:
        return prog_info(fd)
    finally:
        os.close(fd)


# --- tcx links ---
def tcx_attach(prog_fd: int, ifindex: int, flags: int = BPF_F_BEFORE) -> int:
    """A tcx ingress link of ``prog_fd`` on ``ifindex``; fd of the link.

    ``flags`` BPF_F_BEFORE with no relative program puts it at the head of the chain.
    Raises BpfError (EINVAL on kernels without tcx).
    """
    return _bpf(
        BPF_LINK_CREATE,
        _attr((0, "I", prog_fd), (4, "I", ifindex), (8, "I", BPF_TCX_INGRESS), (12, "I", flags)),
    )


@dataclass(frozen=True)
class LinkInfo:
    """What the kernel says about a link (tcx fields only meaningful for tcx links)."""

    type: int
    id: int
    prog_id: int
    ifindex: int  # 0 when the device of a tcx link is gone (the link is defunct)


def link_info(fd: int) -> LinkInfo:
    """Type, id, program and (tcx) ifindex of the link behind ``fd``."""
    raw = _info(fd, 64)
    ltype, lid, prog_id = struct.unpack_from("III", raw, 0)
    (ifindex,) = struct.unpack_from("I", raw, 16)
    return LinkInfo(ltype, lid, prog_id, ifindex)


def tcx_prog_ids(ifindex: int, max_progs: int = 64) -> list[int]:
    """Ids of the programs on ``ifindex``'s tcx ingress chain, in order (BPF_PROG_QUERY).

    What `tc filter show` cannot list; the caller's network namespace names ``ifindex``.
    """
    ids = (ct.c_uint32 * max_progs)()
    attr = _attr(
        (0, "I", ifindex), (4, "I", BPF_TCX_INGRESS), (16, "Q", ct.addressof(ids)), (24, "I", max_progs)
    )
    _bpf(BPF_PROG_QUERY, attr)
    (count,) = struct.unpack_from("I", attr, 24)
    return list(ids[:count])


def link_detach(fd: int) -> None:
    """Detach a link from its hook (it stays an object until its last reference goes)."""
    _bpf(BPF_LINK_DETACH, _attr((0, "I", fd)))


# --- rtnetlink: XDP on a link, possibly in another network namespace ---
def _nla(kind: int, payload: bytes) -> bytes:
    n = struct.pack("HH", 4 + len(payload), kind) + payload
    return n + b"\0" * (-len(n) % 4)


def _parse_nlas(data: bytes) -> dict[int, bytes]:
    out, off = {}, 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("HH", data, off)
        if length < 4:
            break
        out[kind & ~NLA_F_NESTED] = data[off + 4 : off + length]
        off += (length + 3) & ~3
    return out


def _ifinfo(ifindex: int) -> bytes:
    return struct.pack("BxHiII", socket.AF_UNSPEC, 0, ifindex, 0, 0)


def _rtnl(msg_type: int, body: bytes, flags: int) -> bytes:
    """One request on a fresh NETLINK_ROUTE socket; the reply's payload (or raises BpfError)."""
    hdr = struct.pack("IHHII", 16 + len(body), msg_type, NLM_F_REQUEST | flags, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as s:
        s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        s.bind((0, 0))
        s.send(hdr + body)
        while True:
            data = s.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, kind, mflags, _seq, _pid = struct.unpack_from("IHHII", data, off)
                payload = data[off + 16 : off + length]
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("i", payload, 0)
                    if code == 0:
                        return b""
                    text = os.strerror(-code)
                    if mflags & NLM_F_ACK_TLVS:
                        # the original request follows the code unless capped: skip its header
                        (orig_len,) = struct.unpack_from("I", payload, 4)
                        skip = 4 + (16 if mflags & 0x100 else orig_len)
                        msg = _parse_nlas(payload[skip:]).get(NLMSGERR_ATTR_MSG)
                        if msg:
                            text = msg.split(b"\0", 1)[0].decode(errors="replace")
                    raise BpfError(-code, text)
                if kind == msg_type - 2:  # RTM_NEWLINK answers GETLINK, RTM_NEWNSID GETNSID
                    return payload
                off += (length + 3) & ~3


def _netns_attr(nsid: int | None) -> bytes:
    return _nla(IFLA_TARGET_NETNSID, struct.pack("i", nsid)) if nsid is not None else b""


@dataclass(frozen=True)
class LinkXdp:
    """A link's XDP programs and its peer (a veth's), as rtnetlink reports them."""

    progs: dict  # XDP_FLAGS_DRV_MODE / XDP_FLAGS_SKB_MODE -> id of the program attached so
    peer_ifindex: int  # IFLA_LINK (a veth's peer; 0 when absent)
    peer_nsid: int | None  # IFLA_LINK_NETNSID (None: the peer is in the same namespace)


def link_xdp(ifindex: int, nsid: int | None = None) -> LinkXdp:
    """XDP state of ``ifindex`` (in the namespace ``nsid`` names, relative to ours)."""
    payload = _rtnl(RTM_GETLINK, _ifinfo(ifindex) + _netns_attr(nsid), 0)
    attrs = _parse_nlas(payload[16:])
    xdp = _parse_nlas(attrs.get(IFLA_XDP, b""))
    progs = {}
    for mode, k in ((XDP_FLAGS_DRV_MODE, IFLA_XDP_DRV_PROG_ID), (XDP_FLAGS_SKB_MODE, IFLA_XDP_SKB_PROG_ID)):
        if k in xdp and struct.unpack("I", xdp[k][:4])[0]:
            progs[mode] = struct.unpack("I", xdp[k][:4])[0]
    peer = struct.unpack("I", attrs[IFLA_LINK][:4])[0] if IFLA_LINK in attrs else 0
    peer_nsid = struct.unpack("i", attrs[IFLA_LINK_NETNSID][:4])[0] if IFLA_LINK_NETNSID in attrs else None
    return LinkXdp(progs, peer, peer_nsid)


def xdp_set(
    ifindex: int, fd: int, flags: int, expected_fd: int | None = None, nsid: int | None = None
) -> None:
    """Attach (``fd``) or remove (``fd`` = -1) the XDP program of ``ifindex`` with ``flags``.

    ``expected_fd`` (with XDP_FLAGS_REPLACE) makes the kernel act only if that program is
    the one attached. ``nsid`` names the namespace the link is in (relative to ours): the
    call is made from a thread that entered it, since IFLA_TARGET_NETNSID on RTM_SETLINK
    *moves* a device rather than addressing one. Raises BpfError with the kernel's message.
    """
    xdp = _nla(IFLA_XDP_FD, struct.pack("i", fd)) + _nla(IFLA_XDP_FLAGS, struct.pack("I", flags))
    if expected_fd is not None:
        xdp += _nla(IFLA_XDP_EXPECTED_FD, struct.pack("i", expected_fd))
    body = _ifinfo(ifindex) + _nla(IFLA_XDP | NLA_F_NESTED, xdp)
    if nsid is None:
        _rtnl(RTM_SETLINK, body, NLM_F_ACK)
    else:
        in_netns(nsid, lambda: _rtnl(RTM_SETLINK, body, NLM_F_ACK))


# --- network namespaces by nsid ---
def nsid_of(fd: int) -> int:
    """Our nsid of the namespace behind ``fd`` (-1 when none is assigned)."""
    payload = _rtnl(
        RTM_GETNSID, struct.pack("Bxxx", socket.AF_UNSPEC) + _nla(NETNSA_FD, struct.pack("I", fd)), 0
    )
    attrs = _parse_nlas(payload[4:])
    return struct.unpack("i", attrs[NETNSA_NSID][:4])[0] if NETNSA_NSID in attrs else -1


def _netns_files():
    """Every network namespace this process can name: bind mounts, then processes."""
    for d in ("/run/netns", "/var/run/netns"):
        try:
            yield from (os.path.join(d, n) for n in sorted(os.listdir(d)))
        except OSError:
            pass
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            yield f"/proc/{pid}/ns/net"


def open_netns(nsid: int) -> int:
    """An fd of the namespace our nsid ``nsid`` names; raises BpfError(ENOENT) when none is found.

    The kernel offers no lookup by nsid: the namespaces mounted under /run/netns and those
    of running processes (the loader runs with the host's PID namespace) are asked theirs.
    """
    seen = set()
    for path in _netns_files():
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if nsid_of(fd) == nsid:
                return fd
        except OSError:
            pass
        os.close(fd)
    raise BpfError(errno.ENOENT, f"no network namespace with nsid {nsid} found")


def in_netns(nsid: int, fn):
    """Run ``fn`` on a thread that entered the namespace ``nsid`` names; its result or exception."""
    fd = open_netns(nsid)
    try:
        return run_in_netns(fd, fn)
    finally:
        os.close(fd)


def run_in_netns(fd: int, fn):
    """Run ``fn`` on a thread that entered the network namespace behind ``fd``."""
    out: dict = {}

    def run():
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ct.get_errno()
                raise BpfError(err, "setns: " + os.strerror(err))
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out["error"] = e

    t = threading.Thread(target=run, name="netns")  # the thread ends, and its namespace with it
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")
