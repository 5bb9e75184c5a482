# SPDX-License-Identifier: Apache-2.0
"""Teardown, the loader's part of `helm uninstall`: the real loader process, with a tc and an XDP replicator, a
stream and a trace, removes every attachment, trace and pin, refuses to program the kernel afterwards and exits
without putting anything back. A loader stopped without Teardown keeps its pins (a rolling restart)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

import grpc
import pytest

import streamlib
from edgerep.v1 import common_pb2, loader_pb2
from edgerep_loader import stream_sys as ss
from statelib import harness
from statelib.loaderproc import Agent, LoaderProcess, new_pin_dir
from streamlib.xdp import in_ns as run_in_ns

NONE = common_pb2.Policy(kind=common_pb2.POLICY_KIND_NONE)


def in_ns(ns: str, *cmd: str) -> str:
    return subprocess.run(["ip", "-n", ns, *cmd], check=True, capture_output=True, text=True).stdout


def tcx_programs(ns: str, ifname: str) -> list[str]:
    """Names of the programs on the tcx ingress chain of ``ifname`` (`tc filter show` lists none)."""

    def query():
        return [ss.prog_info_by_id(i).name for i in ss.tcx_prog_ids(socket.if_nametoindex(ifname))]

    return run_in_ns(ns, query)


def held(ns: str, pin_dir: str) -> dict:
    """What of edgerep the kernel holds for the node: the tc replicator on in0 (a tcx link or a
    cls_bpf filter), XDP on in1, pins."""
    tc = subprocess.run(
        ["tc", "-n", ns, "filter", "show", "dev", "in0", "ingress"], capture_output=True, text=True
    )
    return {
        "tc": "bpf" in tc.stdout or any(n.startswith("stream_tc") for n in tcx_programs(ns, "in0")),
        "xdp": "xdp" in in_ns(ns, "link", "show", "in1"),
        "pins": os.path.isdir(pin_dir) and bool(os.listdir(pin_dir)),
    }


EVERYTHING = {"tc": True, "xdp": True, "pins": True}


@pytest.fixture
def node(tmp_path):
    """A netns with two veth pairs and the real loader running in it, on a pin dir of its own."""
    streamlib.remove_leftovers()
    with streamlib.TestNetns("td") as ns:
        for i in (0, 1):
            ns.ip("link", "add", f"in{i}", "type", "veth", "peer", "name", f"c{i}")
            ns.ip("link", "set", f"in{i}", "up")
            ns.ip("link", "set", f"c{i}", "up")
        loader = LoaderProcess(str(tmp_path), new_pin_dir(), netns=ns.name)
        cg = harness.TestCgroup()
        agent = Agent(loader)
        try:
            loader.start()
            agent.dial()
            yield ns.name, loader, agent.stub, cg
        finally:
            agent.close()
            loader.stop()
            cg.remove()


def program(stub, cg, data: str) -> None:
    """What an agent programs for a node with a stream and an origin: replicators, a stream, a trace."""
    stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    xdp = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in1", datapath=common_pb2.DATAPATH_XDP)
    )
    assert xdp.datapath == common_pb2.DATAPATH_XDP, xdp
    consumer = loader_pb2.ReplicatorConsumer(
        name="c",
        egress_interface="c0",
        dst_mac="02:00:00:00:00:01",
        dst_ip="10.203.0.2",
        dst_port=6000,
        policy=NONE,
    )
    stub.SetStream(
        loader_pb2.SetStreamRequest(
            stream=loader_pb2.ReplicatorStream(
                stream_id=1,
                interface="in0",
                ip_protocol=17,
                port=5004,
                inspection=common_pb2.INSPECTION_MPEGTS,
                consumers=[consumer],
            )
        )
    )
    os.makedirs(data)
    stub.SetTrace(
        loader_pb2.SetTraceRequest(replication_id=7, cgroup_ids=[cg.id], prefixes=[data]), timeout=120
    )


def test_teardown_removes_everything_and_the_loader_stays_out(node, tmp_path):
    ns, loader, stub, cg = node
    program(stub, cg, str(tmp_path / "data"))
    assert held(ns, loader.pin_dir) == EVERYTHING
    assert loader.kernel_objects() != (0, 0)

    removed = list(stub.Teardown(loader_pb2.TeardownRequest(), timeout=60).removed)

    for line in ("stream 1 (in0:5004)", "tc ingress in0", "xdp in1", "trace 7", f"pin dir {loader.pin_dir}"):
        assert line in removed, removed
    assert any(r.startswith("pin ") and not r.startswith("pin dir") for r in removed), removed
    assert not os.path.exists(loader.pin_dir)
    assert held(ns, loader.pin_dir) == {"tc": False, "xdp": False, "pins": False}
    # no tracepoint attachment and no state program held any more
    assert loader.kernel_objects() == (0, 0)

    # nothing programs the kernel again; reading still works and Teardown is idempotent
    calls = [
        (
            stub.EnsureReplicator,
            loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC),
        ),
        (stub.SetStream, loader_pb2.SetStreamRequest(stream=loader_pb2.ReplicatorStream(stream_id=2))),
        (stub.SetTrace, loader_pb2.SetTraceRequest(replication_id=8, cgroup_ids=[cg.id], prefixes=["/x"])),
    ]
    for call, request in calls:
        with pytest.raises(grpc.RpcError) as err:
            call(request, timeout=30)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, err.value
        assert "torn down for uninstall" in err.value.details()
    listed = stub.ListStreams(loader_pb2.ListStreamsRequest(), timeout=30)
    assert not listed.streams and not listed.replicators, listed
    assert list(stub.Teardown(loader_pb2.TeardownRequest(), timeout=30).removed) == []

    # SIGTERM, as the kubelet stops the pod: the loader ends cleanly and puts nothing back
    loader.proc.send_signal(signal.SIGTERM)
    assert loader.proc.wait(timeout=30) == 0, loader.log()
    assert "nothing of edgerep left in the kernel" in loader.log()
    assert not os.path.exists(loader.pin_dir)


def test_a_loader_stopped_without_teardown_keeps_its_state(node, tmp_path):
    """A rolling restart: SIGTERM alone leaves the attachments and pins for the next loader to adopt."""
    ns, loader, stub, cg = node
    program(stub, cg, str(tmp_path / "data"))
    loader.proc.send_signal(signal.SIGTERM)
    assert loader.proc.wait(timeout=30) == 0, loader.log()
    assert "kernel state left pinned" in loader.log()
    assert held(ns, loader.pin_dir) == EVERYTHING
