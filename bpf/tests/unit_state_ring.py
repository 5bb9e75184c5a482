# SPDX-License-Identifier: Apache-2.0
"""Record layouts read through struct_for match what ctypes (bcc's view of the C structs) says."""

from __future__ import annotations

import ctypes as ct
import struct

from edgerep_loader.state_ring import HDR_SZ, struct_for


class Hdr(ct.Structure):
    _fields_ = [
        ("ts_ns", ct.c_uint64),
        ("seq", ct.c_uint64),
        ("desc_id", ct.c_uint64),
        ("tgid", ct.c_uint32),
        ("rep_id", ct.c_uint32),
        ("cpu", ct.c_uint32),
        ("type", ct.c_uint16),
        ("flags", ct.c_uint16),
    ]


class Open(ct.Structure):
    _fields_ = [
        ("hdr", Hdr),
        ("fd", ct.c_int32),
        ("dfd", ct.c_int32),
        ("oflags", ct.c_uint32),
        ("mode", ct.c_uint32),
        ("path", ct.c_char * 254),
        ("__pad_end", ct.c_char * 2),
    ]


def test_struct_for_reads_every_field_at_its_ctypes_offset():
    o = Open()
    o.hdr.ts_ns, o.hdr.seq, o.hdr.desc_id = 11, 12, 13
    o.hdr.tgid, o.hdr.rep_id, o.hdr.cpu, o.hdr.type, o.hdr.flags = 14, 15, 16, 17, 18
    o.fd, o.dfd, o.oflags, o.mode, o.path = 3, -100, 0o101, 0o644, b"/data/x"
    st, names = struct_for(Open)
    assert st.size <= ct.sizeof(Open)
    values = dict(zip(names, st.unpack_from(bytes(o))))
    assert values["hdr.tgid"] == 14 and values["hdr.type"] == 17 and values["dfd"] == -100
    assert values["path"].rstrip(b"\0") == b"/data/x"
    assert "__pad_end" not in values


def test_kernel_record_header_size():
    assert HDR_SZ == struct.calcsize("<II")
