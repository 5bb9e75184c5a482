# SPDX-License-Identifier: Apache-2.0
"""Loader API with bad arguments, through the real gRPC server on a unix socket.

Every bad call gets INVALID_ARGUMENT with a message naming the problem, and
changes nothing (ListStreams and the kernel maps stay as they were).
"""

from __future__ import annotations

import os

import grpc
import pytest
from pyroute2 import netns

import streamlib
from edgerep.v1 import common_pb2, loader_pb2, loader_pb2_grpc
from edgerep_loader.server import serve
from edgerep_loader.stream_service import StreamService

NONE = common_pb2.Policy(kind=common_pb2.POLICY_KIND_NONE)


@pytest.fixture(scope="module")
def api():
    streamlib.remove_leftovers()
    pin = streamlib.new_pin_dir()
    os.makedirs(streamlib.WORK_ROOT, mode=0o700, exist_ok=True)
    sock = os.path.join(streamlib.WORK_ROOT, f"api-{os.getpid()}.sock")
    server = None
    with streamlib.TestNetns("api") as ns:
        ns.ip("link", "add", "in0", "type", "veth", "peer", "name", "c0")
        ns.ip("link", "set", "in0", "up")
        ns.ip("link", "set", "c0", "up")
        netns.pushns(ns.name)  # the service's netlink socket lives in the namespace
        try:
            svc = StreamService(pin)
        finally:
            netns.popns()
        try:
            server = serve(sock, pin, stream_service=svc, state_service=object())
            channel = grpc.insecure_channel(f"unix:{sock}")
            yield loader_pb2_grpc.LoaderStub(channel), svc
            channel.close()
        finally:
            if server is not None:
                server.stop(0).wait()
            svc.kernel.bpf.cleanup()
            streamlib.remove_pin_dir(pin)
            if os.path.exists(sock):
                os.unlink(sock)


def good_consumer(i: int = 0, **kw) -> loader_pb2.ReplicatorConsumer:
    args = dict(
        name=f"c{i}",
        egress_interface="c0",
        dst_mac="02:00:00:00:00:01",
        dst_ip=f"10.203.0.{i % 250 + 2}",
        dst_port=6000,
        policy=NONE,
    )
    args.update(kw)
    return loader_pb2.ReplicatorConsumer(**args)


def good_stream(**kw) -> loader_pb2.ReplicatorStream:
    args = dict(
        stream_id=1,
        interface="in0",
        ip_protocol=17,
        port=5004,
        inspection=common_pb2.INSPECTION_MPEGTS,
        consumers=[good_consumer()],
    )
    args.update(kw)
    return loader_pb2.ReplicatorStream(**args)


def expect_invalid(call, request, words: str):
    with pytest.raises(grpc.RpcError) as err:
        call(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value
    assert words in err.value.details(), err.value.details()


def test_stream_api_rejects_bad_arguments_and_changes_nothing(api):
    stub, svc = api
    expect_invalid(
        stub.EnsureReplicator,
        loader_pb2.EnsureReplicatorRequest(interface="nope0", datapath=common_pb2.DATAPATH_TC),
        "unknown interface",
    )
    expect_invalid(stub.EnsureReplicator, loader_pb2.EnsureReplicatorRequest(interface="in0"), "datapath")
    # a stream before its interface has a replicator
    expect_invalid(stub.SetStream, loader_pb2.SetStreamRequest(stream=good_stream()), "no replicator")
    rep = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    again = stub.EnsureReplicator(
        loader_pb2.EnsureReplicatorRequest(interface="in0", datapath=common_pb2.DATAPATH_TC)
    )
    assert again.adopted and again.ifindex == rep.ifindex
    stub.SetStream(loader_pb2.SetStreamRequest(stream=good_stream()))
    before = stub.ListStreams(loader_pb2.ListStreamsRequest())
    maps_before = svc.kernel.read_blobs()

    bad = [
        (good_stream(port=0), "port must be 1..65535"),
        (good_stream(port=70000), "port must be 1..65535"),
        (good_stream(stream_id=0), "stream_id must be 1..65535"),
        (good_stream(interface="nope0"), "unknown interface"),
        (good_stream(ip_protocol=6), "ip_protocol"),
        (good_stream(inspection=common_pb2.INSPECTION_UNSPECIFIED), "inspection"),
        (good_stream(consumers=[good_consumer(i) for i in range(300)]), "300 consumers, at most 256"),
        (good_stream(consumers=[good_consumer(policy=common_pb2.Policy(kind=42))]), "unknown policy kind"),
        (
            good_stream(
                consumers=[
                    good_consumer(policy=common_pb2.Policy(kind=common_pb2.POLICY_KIND_DIFFERENTIAL_FIRST))
                ]
            ),
            "needs rate_bytes_per_sec",
        ),
        (
            good_stream(
                consumers=[
                    good_consumer(
                        policy=common_pb2.Policy(
                            kind=common_pb2.POLICY_KIND_UNIFORM, uniform_drop_ppm=2_000_000
                        )
                    )
                ]
            ),
            "uniform_drop_ppm",
        ),
        (good_stream(consumers=[good_consumer(egress_interface="nope1")]), "unknown egress interface"),
        (good_stream(consumers=[good_consumer(dst_ip="10.0.0.300")]), "not an IPv4 address"),
        (good_stream(consumers=[good_consumer(dst_mac="zz:00")]), "dst_mac"),
        (good_stream(consumers=[good_consumer(dst_port=0)]), "dst_port"),
        (good_stream(consumers=[good_consumer(name="")]), "name is empty"),
        (good_stream(consumers=[good_consumer(0), good_consumer(0)]), "duplicate name"),
        # an update whose last consumer is bad leaves the whole stream as it was
        (good_stream(consumers=[good_consumer(0), good_consumer(1, dst_port=0)]), "dst_port"),
        # the port of another stream
        (good_stream(stream_id=2), "already belongs to stream 1"),
    ]
    for spec, words in bad:
        expect_invalid(stub.SetStream, loader_pb2.SetStreamRequest(stream=spec), words)
    expect_invalid(stub.RemoveStream, loader_pb2.RemoveStreamRequest(stream_id=0), "stream_id")
    expect_invalid(
        stub.ReadStreamCounters, loader_pb2.ReadStreamCountersRequest(stream_ids=[9]), "unknown stream ids"
    )
    expect_invalid(
        stub.RemoveReplicator, loader_pb2.RemoveReplicatorRequest(interface="nope0"), "unknown interface"
    )
    assert stub.ListStreams(loader_pb2.ListStreamsRequest()) == before
    assert svc.kernel.read_blobs() == maps_before

    # 256 consumers are fine; removing is idempotent
    stub.SetStream(
        loader_pb2.SetStreamRequest(stream=good_stream(consumers=[good_consumer(i) for i in range(256)]))
    )
    counters = stub.ReadStreamCounters(loader_pb2.ReadStreamCountersRequest())
    assert len(counters.streams[0].consumers) == 256
    stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=1))
    stub.RemoveStream(loader_pb2.RemoveStreamRequest(stream_id=1))
    assert not stub.ListStreams(loader_pb2.ListStreamsRequest()).streams
    stub.RemoveReplicator(loader_pb2.RemoveReplicatorRequest(interface="in0"))
    assert not stub.ListStreams(loader_pb2.ListStreamsRequest()).replicators
