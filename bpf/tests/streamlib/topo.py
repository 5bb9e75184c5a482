# SPDX-License-Identifier: Apache-2.0
"""Network-namespace topology of the stream tests: sender -> node -> N consumers.

sender ns  snd0 10.200.0.1/24  ==veth==  in0 10.200.0.2/24  node ns
node ns    cI 10.201.I.1/24    ==veth==  eth0 10.201.I.2/24 consumer ns I
Everything carries the ``edgerep-t`` prefix and is removed by ``destroy``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field

import grpc

from edgerep.v1 import loader_pb2_grpc

from . import BPFFS, PREFIX, WORK_ROOT, remove_pin_dir

HERE = os.path.dirname(os.path.abspath(__file__))
LOADER_PATH = os.path.normpath(os.path.join(HERE, "..", "..", "loader"))
SENDER_IP, NODE_IP = "10.200.0.1", "10.200.0.2"


def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(list(args), check=check, capture_output=True, text=True).stdout


def link_mac(ns: str, ifname: str) -> str:
    return json.loads(sh("ip", "-n", ns, "-j", "link", "show", ifname))[0]["address"]


def consumer_ip(i: int) -> str:
    return f"10.201.{i}.2"


def consumer_gw(i: int) -> str:
    return f"10.201.{i}.1"


@dataclass
class Topology:
    """Namespaces, links, a pin dir and the loader process of one test module."""

    consumers: int = 4
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    workdir: str = ""
    pin_dir: str = ""
    loader: subprocess.Popen | None = None
    #: what its namespaces, pin dir and work dir are named after, and where its work dir goes (a long benchmark
    #: takes a prefix of its own: the test suites remove whatever carries theirs as a killed run's leftovers)
    prefix = PREFIX
    work_root = WORK_ROOT

    @property
    def sender(self) -> str:
        return f"{self.prefix}-{self.tag}-snd"

    @property
    def node(self) -> str:
        return f"{self.prefix}-{self.tag}-node"

    def cns(self, i: int) -> str:
        return f"{self.prefix}-{self.tag}-c{i}"

    @property
    def socket(self) -> str:
        return os.path.join(self.workdir, "loader.sock")

    def create(self) -> "Topology":
        os.makedirs(self.work_root, mode=0o700, exist_ok=True)
        self.workdir = tempfile.mkdtemp(prefix=f"{self.prefix}-", dir=self.work_root)
        self.pin_dir = os.path.join(BPFFS, f"{self.prefix}-{uuid.uuid4().hex[:8]}")
        for ns in [self.sender, self.node] + [self.cns(i) for i in range(self.consumers)]:
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh(
            "ip",
            "-n",
            self.node,
            "link",
            "add",
            "in0",
            "type",
            "veth",
            "peer",
            "name",
            "snd0",
            "netns",
            self.sender,
        )
        sh("ip", "-n", self.sender, "addr", "add", f"{SENDER_IP}/24", "dev", "snd0")
        sh("ip", "-n", self.sender, "link", "set", "snd0", "up")
        sh("ip", "-n", self.node, "addr", "add", f"{NODE_IP}/24", "dev", "in0")
        sh("ip", "-n", self.node, "link", "set", "in0", "up")
        for i in range(self.consumers):
            sh(
                "ip",
                "-n",
                self.node,
                "link",
                "add",
                f"c{i}",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                self.cns(i),
            )
            sh("ip", "-n", self.node, "addr", "add", f"{consumer_gw(i)}/24", "dev", f"c{i}")
            sh("ip", "-n", self.node, "link", "set", f"c{i}", "up")
            sh("ip", "-n", self.cns(i), "addr", "add", f"{consumer_ip(i)}/24", "dev", "eth0")
            sh("ip", "-n", self.cns(i), "link", "set", "eth0", "up")
        return self

    def destroy(self) -> None:
        self.stop_loader()
        for ns in [self.sender, self.node] + [self.cns(i) for i in range(self.consumers)]:
            sh("ip", "netns", "del", ns, check=False)
        if self.pin_dir:
            remove_pin_dir(self.pin_dir, self.prefix)
        if self.workdir:
            subprocess.run(["rm", "-rf", self.workdir], check=False)

    # --- loader ---
    def start_loader(self, timeout: float = 60, env: dict | None = None) -> None:
        """Start the loader in the node namespace (``env``: extra environment variables)."""
        # PYTHONFAULTHANDLER: a loader that hangs prints its threads' stacks on SIGABRT (see stub)
        env = dict(os.environ, PYTHONPATH=LOADER_PATH, PYTHONFAULTHANDLER="1", **(env or {}))
        log = open(os.path.join(self.workdir, "loader.log"), "ab")
        self.loader = subprocess.Popen(
            [
                "nsenter",
                f"--net=/run/netns/{self.node}",
                "/usr/bin/python3",
                "-m",
                "edgerep_loader",
                "--socket",
                self.socket,
                "--pin-dir",
                self.pin_dir,
                "--log-level",
                "INFO",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.loader.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("loader did not start: " + self.loader_log())
            time.sleep(0.1)

    def loader_log(self) -> str:
        try:
            with open(os.path.join(self.workdir, "loader.log"), encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def kill_loader(self) -> None:
        if self.loader and self.loader.poll() is None:
            self.loader.send_signal(signal.SIGKILL)
            self.loader.wait(10)
        if os.path.exists(self.socket):
            os.unlink(self.socket)

    def stop_loader(self) -> None:
        if self.loader and self.loader.poll() is None:
            self.loader.terminate()
            try:
                self.loader.wait(10)
            except subprocess.TimeoutExpired:
                self.loader.kill()
                self.loader.wait(5)
        self.loader = None

    def stub(self):
        # A channel of its own subchannel: one shared with an earlier stub of a killed loader
        # would carry that one's reconnect backoff (tens of seconds after a slow restart).
        channel = grpc.insecure_channel(
            f"unix:{self.socket}",
            options=[("grpc.use_local_subchannel_pool", 1), ("grpc.max_reconnect_backoff_ms", 1000)],
        )
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            alive = self.loader is not None and self.loader.poll() is None
            if alive:
                self.loader.send_signal(signal.SIGABRT)  # stacks into the log
                self.loader.wait(10)
            raise RuntimeError(f"loader not reachable (alive: {alive}): " + self.loader_log()) from None
        return loader_pb2_grpc.LoaderStub(channel)

    # --- traffic ---
    def start_receivers(self, port: int, tag: str, idle: float = 3.0) -> list[subprocess.Popen]:
        procs = []
        for i in range(self.consumers):
            prefix = os.path.join(self.workdir, f"{tag}-c{i}")
            procs.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        self.cns(i),
                        sys.executable,
                        os.path.join(HERE, "receiver.py"),
                        "eth0",
                        str(port),
                        prefix,
                        str(idle),
                    ]
                )
            )
            deadline = time.monotonic() + 10
            while not os.path.exists(prefix + ".ready") and time.monotonic() < deadline:
                time.sleep(0.05)
        return procs

    def receiver_result(self, tag: str, i: int) -> tuple[dict, str]:
        prefix = os.path.join(self.workdir, f"{tag}-c{i}")
        with open(prefix + ".json", encoding="utf-8") as f:
            return json.load(f), prefix + ".ts"

    def send(self, path: str, port: int, pps: float, repeat: int = 1, wait: bool = True):
        cmd = [
            "ip",
            "netns",
            "exec",
            self.sender,
            sys.executable,
            os.path.join(HERE, "sender.py"),
            "snd0",
            SENDER_IP,
            NODE_IP,
            link_mac(self.node, "in0"),
            str(port),
            path,
            str(pps),
            str(repeat),
        ]
        if not wait:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        return int(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()[0])


@contextlib.contextmanager
def running(consumers: int, env: dict | None = None, before_loader=None):
    """A created Topology with its loader started (``before_loader(t)`` runs in between); destroyed after."""
    from . import remove_leftovers

    remove_leftovers()
    t = Topology(consumers=consumers)
    try:
        t.create()
        if before_loader is not None:
            before_loader(t)
        t.start_loader(env=env)
        yield t
    finally:
        t.destroy()
