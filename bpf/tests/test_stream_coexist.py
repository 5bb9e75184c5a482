# SPDX-License-Identifier: Apache-2.0
"""edgerep beside a CNI's own programs on the ingress interface.

A stand-in CNI attaches first: an XDP program (generic) and a tc program, each counting
the packets it sees in a map and passing them. edgerep is asked for XDP, leaves the CNI's
XDP in place and falls back to tc with a reason naming it; its tc program runs ahead of
the CNI's (tcx: at the head of the chain, although the CNI's program ends the chain with
TC_ACT_OK) and hands every packet it does not consume on to it. The stream reaches every
consumer while the CNI keeps counting, and the CNI's programs are still attached, and still
counting, after edgerep's stream and replicator are gone.

On a kernel without tcx (forced here) the replicator is a cls_bpf filter; the CNI's filter
sits at a priority after it, where edgerep's TC_ACT_UNSPEC lets it see the other traffic.
"""

from __future__ import annotations

import os
import socket

import pytest
from bcc import BPF
from pyroute2 import IPRoute

import stream_fixtures as fx
from edgerep.v1 import common_pb2, loader_pb2
from edgerep_loader import stream_sys as ss
from edgerep_loader import tc
from streamlib.topo import Topology, running
from streamlib.xdp import attach_xdp, in_ns, xdp_progs
from test_stream_netns import PORT, consumer, run_stream

pytestmark = pytest.mark.skipif(not fx.have_ffmpeg(), reason="ffmpeg/ffprobe missing")

CNI = b"""
#include <linux/pkt_cls.h>
BPF_ARRAY(counts, u64, 2); /* 0: packets seen by the XDP program, 1: by the tc program */
static __always_inline void count(u32 k)
{
	u64 *v = counts.lookup(&k);
	if (v)
		__sync_fetch_and_add(v, 1);
}
int cni_xdp(struct xdp_md *ctx) { count(0); return XDP_PASS; }
int cni_tc(struct __sk_buff *skb) { count(1); return TC_ACT_OK; }
"""
XDP_K, TC_K = 0, 1
#: Priority of the stand-in's cls_bpf filter: after edgerep's (tc.FILTER_PRIO).
CNI_PRIO = tc.FILTER_PRIO + 1
#: Port of traffic that is not the stream (no stream there: edgerep passes it on).
OTHER_PORT = PORT + 77


class Cni:
    """The stand-in CNI's programs, attached in the node namespace."""

    def __init__(self, t: Topology, tc_kind: str):
        self.t, self.tc_kind = t, tc_kind
        self.bpf = BPF(text=CNI)
        self.xdp = self.bpf.load_func(b"cni_xdp", BPF.XDP)
        self.tc = self.bpf.load_func(b"cni_tc", BPF.SCHED_CLS)
        self.link_fd = -1
        self.ifindex = in_ns(t.node, lambda: socket.if_nametoindex("in0"))
        attach_xdp(t.node, "in0", self.xdp.fd, "generic")
        if tc_kind == tc.TCX:
            self.link_fd = in_ns(t.node, lambda: ss.tcx_attach(self.tc.fd, self.ifindex, 0))
        else:
            in_ns(t.node, self._add_filter)

    def _add_filter(self):
        with IPRoute() as ipr:
            ipr.tc("add", "clsact", self.ifindex)
            ipr.tc(
                "add-filter",
                "bpf",
                self.ifindex,
                ":1",
                fd=self.tc.fd,
                name="cni_tc",
                parent=tc.INGRESS_PARENT,
                prio=CNI_PRIO,
                classid=1,
                direct_action=True,
            )

    def counts(self) -> tuple[int, int]:
        t = self.bpf[b"counts"]
        return t[t.Key(XDP_K)].value, t[t.Key(TC_K)].value

    def tc_attached(self) -> bool:
        if self.tc_kind == tc.TCX:
            info = ss.link_info(self.link_fd)
            return info.ifindex == self.ifindex and info.prog_id == ss.prog_info(self.tc.fd).id

        def has_filter():
            with IPRoute() as ipr:
                return any(
                    f.get_attr("TCA_OPTIONS")
                    and f.get_attr("TCA_OPTIONS").get_attr("TCA_BPF_NAME") == "cni_tc"
                    for f in ipr.get_filters(index=self.ifindex, parent=tc.INGRESS_PARENT)
                )

        return in_ns(self.t.node, has_filter)

    def close(self):
        if self.link_fd >= 0:
            os.close(self.link_fd)
        self.bpf.cleanup()


@pytest.fixture(params=[tc.TCX, tc.CLS_BPF])
def setup(request):
    cni = []
    env = {tc.FORCE_CLS_BPF_ENV: "1"} if request.param == tc.CLS_BPF else {}
    try:
        with running(2, env=env, before_loader=lambda t: cni.append(Cni(t, request.param))) as t:
            yield t, cni[0]
    finally:
        for c in cni:
            c.close()


def send_other(t: Topology, path: str, n_pps: float) -> int:
    return t.send(path, OTHER_PORT, n_pps)


def test_stream_coexists_with_a_cni(setup):
    t, cni = setup
    cni_xdp_id = xdp_progs(t.node, "in0")["generic"].id
    stub = t.stub()
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_XDP)
    )
    assert rep.datapath == common_pb2.DATAPATH_TC and rep.xdp_mode == loader_pb2.XDP_MODE_NONE, rep
    assert "cni_xdp" in rep.fallback_reason and f"id {cni_xdp_id}" in rep.fallback_reason, rep
    assert xdp_progs(t.node, "in0") == {"generic": ss.prog_info_by_id(cni_xdp_id)}, "the CNI's XDP is kept"
    if cni.tc_kind == tc.TCX:
        chain = in_ns(t.node, lambda: [ss.prog_info_by_id(i).name for i in ss.tcx_prog_ids(cni.ifindex)])
        assert chain == ["stream_tc", "cni_tc"], f"edgerep first on the tcx chain: {chain}"
    spec = loader_pb2.ReplicatorStream(
        stream_id=31,
        interface="in0",
        ip_protocol=17,
        port=PORT,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[consumer(t, i) for i in range(t.consumers)],
    )
    assert all(c.ok for c in stub.SetStream(loader_pb2.SetStreamRequest(stream=spec)).consumers)
    path = fx.clip("h264")
    dgrams = -(-(os.path.getsize(path) // 188) // 7)

    xdp0, tc0 = cni.counts()
    sent, got, _ = run_stream(t, "coexist", path, dgrams / 6.0)
    other = send_other(t, path, dgrams / 3.0)
    xdp1, tc1 = cni.counts()
    for i in range(t.consumers):
        assert got[i]["count"] == sent, f"c{i} received {got[i]['count']} of {sent}"
    assert xdp1 - xdp0 >= sent + other, (xdp0, xdp1, sent, other)  # XDP runs first: sees everything
    assert tc1 - tc0 >= other, (tc0, tc1, other)  # what edgerep does not consume goes on to the CNI

    # a restarted loader adopts the attachment as it finds it — a cls_bpf filter too, as after
    # an upgrade to a kernel with tcx (the restart here has tcx allowed); the CNI's are untouched
    t.kill_loader()
    t.start_loader()
    stub = t.stub()
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_XDP)
    )
    assert rep.adopted and rep.datapath == common_pb2.DATAPATH_TC, rep
    assert in_ns(t.node, lambda: tc.attached(IPRoute(), cni.ifindex, t.pin_dir)) == cni.tc_kind
    sent, got, _ = run_stream(t, "adopted", path, dgrams / 3.0)
    assert [g["count"] for g in got] == [sent] * t.consumers

    stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=31))
    stub.RemoveReplicator(loader_pb2.RemoveReplicatorRequest(interface="in0"))
    assert xdp_progs(t.node, "in0")["generic"].id == cni_xdp_id
    assert cni.tc_attached(), "the CNI's tc program is still attached"
    xdp2, tc2 = cni.counts()
    other = send_other(t, path, dgrams / 3.0)
    xdp3, tc3 = cni.counts()
    assert xdp3 - xdp2 >= other and tc3 - tc2 >= other, (xdp2, xdp3, tc2, tc3, other)
