# SPDX-License-Identifier: Apache-2.0
"""gRPC server of the loader on a unix socket readable by root alone.

The servicer is thin: it validates nothing itself and delegates each call to
the service object of the program family that owns it (stream replication or
state capture), so each family can be tested on its own.

Start-up, for a restarted loader: the stream programs are compiled and
loaded before the socket exists (a stream call never waits). When the last
loader left traces, the state program is built in the background
(StateService.warm_up) from the moment the stream compile ends: it compiles
while the stream programs load and while the agent dials, lists and re-sends
its traces; its SetTrace waits only for what is left of that build.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from concurrent import futures

import grpc

from edgerep.v1 import loader_pb2, loader_pb2_grpc
from edgerep_loader import DEFAULT_PIN_DIR, DEFAULT_SOCKET, __version__, logconf, metrics
from edgerep_loader.bcc_compile import COMPILE_LOCK
from edgerep_loader.capabilities import kernel_capabilities, kernel_headers_problem

log = logging.getLogger("edgerep.loader")


class LoaderServicer(loader_pb2_grpc.LoaderServicer):
    """Routes Loader RPCs to the stream and state services."""

    def __init__(self, stream_service, state_service, pin_dir: str = ""):
        self._stream = stream_service
        self._state = state_service
        self._pin_dir = pin_dir
        self.torn_down = threading.Event()

    def _programmable(self, context) -> None:
        """After Teardown nothing may program the kernel again: the release is going away."""
        if self.torn_down.is_set():
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "the loader was torn down for uninstall; restart it to program the kernel again",
            )

    # --- capabilities ---
    def GetCapabilities(self, request, context):
        return loader_pb2.GetCapabilitiesResponse(loader_version=__version__, kernel=kernel_capabilities())

    # --- stream replication ---
    def EnsureReplicator(self, request, context):
        self._programmable(context)
        return self._stream.ensure_replicator(request, context)

    def RemoveReplicator(self, request, context):
        return self._stream.remove_replicator(request, context)

    def SetStream(self, request, context):
        self._programmable(context)
        return self._stream.set_stream(request, context)

    def RemoveStream(self, request, context):
        return self._stream.remove_stream(request, context)

    def ListStreams(self, request, context):
        return self._stream.list_streams(request, context)

    def ReadStreamCounters(self, request, context):
        return self._stream.read_counters(request, context)

    # --- state capture ---
    def SetTrace(self, request, context):
        self._programmable(context)
        return self._state.set_trace(request, context)

    def RemoveTrace(self, request, context):
        return self._state.remove_trace(request, context)

    def ListTraces(self, request, context):
        return self._state.list_traces(request, context)

    def StreamStateEvents(self, request, context):
        return self._state.stream_events(request, context)

    # --- uninstall ---
    def Teardown(self, request, context):
        """Everything of edgerep out of the kernel and the pin dir; idempotent."""
        self.torn_down.set()
        removed = self._stream.teardown() + self._state.teardown()
        if self._pin_dir:
            removed += remove_pins(self._pin_dir)
        log.info("torn down for uninstall: %s", ", ".join(removed) or "nothing was left")
        return loader_pb2.TeardownResponse(removed=removed)


def remove_pins(pin_dir: str) -> list:
    """Unlinks every pin under ``pin_dir`` and removes the directories, ``pin_dir`` itself last."""
    removed = []
    if not os.path.isdir(pin_dir):
        return removed
    for top, dirs, files in os.walk(pin_dir, topdown=False):
        for name in files:
            os.unlink(os.path.join(top, name))
            removed.append("pin " + os.path.relpath(os.path.join(top, name), pin_dir))
        for name in dirs:
            os.rmdir(os.path.join(top, name))
    os.rmdir(pin_dir)
    removed.append("pin dir " + pin_dir)
    return removed


def serve(
    socket_path: str, pin_dir: str, stream_service=None, state_service=None, metrics_addr: str = ""
) -> grpc.Server:
    """Start the server on ``socket_path`` (mode 0600) and return it; ``metrics_addr`` (host:port) serves /metrics."""
    warm_up = None
    if state_service is None:
        from edgerep_loader.state_service import StateService

        state_service = StateService(pin_dir)
        warm_up = state_service.warm_up
    if stream_service is None:
        from edgerep_loader.stream_service import StreamService

        if warm_up is not None:
            # the state program compiles while the stream programs load (one compile at a time)
            COMPILE_LOCK.after_next("state-warm-up", warm_up)
            warm_up = None
        stream_service = StreamService(pin_dir)
    os.makedirs(os.path.dirname(socket_path) or ".", mode=0o700, exist_ok=True)
    if os.path.exists(socket_path):
        os.unlink(socket_path)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    servicer = LoaderServicer(stream_service, state_service, pin_dir)
    loader_pb2_grpc.add_LoaderServicer_to_server(servicer, server)
    old_umask = os.umask(0o177)  # the socket is created 0600
    try:
        server.add_insecure_port(f"unix:{socket_path}")
        server.start()
    finally:
        os.umask(old_umask)
    os.chmod(socket_path, 0o600)
    log.info("loader %s serving on %s, pins under %s", __version__, socket_path, pin_dir)
    if metrics_addr:
        host, port = metrics.parse_addr(metrics_addr)
        m = metrics.MetricsServer(
            host,
            port,
            [
                metrics.kernel_samples,
                lambda: metrics.state_samples(state_service),
                lambda: metrics.stream_samples(stream_service),
            ],
        ).start()
        log.info("metrics on %s:%d/metrics", host or "*", m.port)
    if warm_up is not None:
        threading.Thread(target=warm_up, name="state-warm-up", daemon=True).start()
    server.torn_down = servicer.torn_down  # read by main() when it stops
    return server


def fail(message: str) -> None:
    """Exit 2 with one line that says why: logged, and written where the kubelet shows it in the pod's status."""
    log.error("%s", message)
    try:
        with open("/dev/termination-log", "w", encoding="utf-8") as f:
            f.write(message)
    except OSError:
        pass
    raise SystemExit(2)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="edgerep-loader", description=__doc__)
    parser.add_argument("--socket", default=DEFAULT_SOCKET, help="unix socket to serve on")
    parser.add_argument("--pin-dir", default=DEFAULT_PIN_DIR, help="bpffs directory for pins")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--log-format",
        default=os.environ.get("EDGEREP_LOADER_LOG_FORMAT", "text"),
        choices=logconf.FORMATS,
        help="text (ISO-8601 time first) or json (one object a line)",
    )
    parser.add_argument(
        "--metrics-addr",
        default=os.environ.get("EDGEREP_LOADER_METRICS_ADDR", ""),
        help="host:port of the Prometheus endpoint /metrics (empty: none)",
    )
    args = parser.parse_args(argv)
    logconf.configure(args.log_level, args.log_format)
    problem = kernel_headers_problem()
    if problem:
        fail(problem)
    try:
        server = serve(args.socket, args.pin_dir, metrics_addr=args.metrics_addr)
    # whatever stops the programs from loading ends the process, said once
    except Exception as e:  # noqa: BLE001
        fail(f"cannot load the BPF programs: {e}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # leaving pins and attachments in place: packets keep flowing
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    # event streams never end on their own: calls in flight get a second, then the process goes.
    server.stop(grace=1).wait()
    if server.torn_down.is_set():
        log.info("loader stopped; nothing of edgerep left in the kernel")
    else:
        log.info("loader stopped; kernel state left pinned")
