# SPDX-License-Identifier: Apache-2.0
"""edgerep-sensor: forward a camera's UDP stream to the edge, dropping what no consumer receives.

    edgerep-sensor --listen 127.0.0.1:5004 --forward 10.213.0.11:5004 \\
        --edgereplica video/cameras --node node-a --kubeconfig sensor.kubeconfig

Every datagram that arrives on --listen is classified with the edge's DPI and sent to --forward
unless the effective quality published for this stream (status.stream.sensorFeedback, entry of
--node) says no consumer would receive it. Once a second it prints one JSON line (sent and saved
bit/s on the access link, the feedback in force) and writes the figures to the resource's
annotation sensor.edgerep.io/<node>. --ignore-feedback forwards everything (a sensor that does
not take part). The protocol is described in docs/SENSOR.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
import time

from edgerep_sensor import bucket, feedback, ts
from edgerep_sensor.kube import Client

log = logging.getLogger("edgerep.sensor")


def _addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


class Forwarder:
    """The data path: classify, apply the feedback's bucket, forward; counts per class and in total."""

    def __init__(self, listen: tuple[str, int], forward: tuple[str, int], feedback_of):
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.rx.bind(listen)
        self.rx.settimeout(0.2)
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.tx.connect(forward)
        self.feedback_of = feedback_of
        self.classifier = ts.Classifier()
        self.applied: feedback.Feedback | None = None
        self.bucket: bucket.Bucket | None = None
        self.lock = threading.Lock()
        self.sent_bytes = self.saved_bytes = 0
        self.sent_packets = self.dropped = self.dropped_reference = 0
        self.running = True

    def _policy(self, now_ns: int) -> bucket.Bucket | None:
        fb = self.feedback_of()
        if fb != self.applied:
            self.applied = fb
            # a new budget starts with a full bucket, as the edge's does
            self.bucket = None if fb.full else bucket.Bucket(fb.max_bitrate, fb.policy, now_ns)
        return self.bucket

    def run(self) -> None:
        while self.running:
            try:
                payload = self.rx.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic_ns()
            cls = self.classifier.classify(payload)
            frame = len(payload) + bucket.FRAME_OVERHEAD
            b = self._policy(now)
            if b is None or b.admit(cls, frame, now):
                try:
                    self.tx.send(payload)
                except OSError as e:  # the edge unreachable: counted as sent, as a camera would
                    log.debug("send: %s", e)
                with self.lock:
                    self.sent_bytes += frame
                    self.sent_packets += 1
            else:
                with self.lock:
                    self.saved_bytes += frame
                    self.dropped += 1
                    self.dropped_reference += cls == ts.CLASS_REFERENCE

    def take(self) -> tuple[int, int]:
        """Bytes sent and saved since the last call."""
        with self.lock:
            out = (self.sent_bytes, self.saved_bytes)
            self.sent_bytes = self.saved_bytes = 0
        return out


class Reporter:
    """Writes the latest figures to the resource in its own thread: a slow API server never holds up the output."""

    def __init__(self, client: Client, watcher: feedback.Watcher, node: str):
        self.client, self.watcher, self.node = client, watcher, node
        self.latest: tuple[int, int] | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._run, name="report", daemon=True).start()

    def offer(self, sent_bps: int, saved_bps: int) -> None:
        self.latest = (sent_bps, saved_bps)
        self.ready.set()

    def _run(self) -> None:
        while True:
            self.ready.wait()
            self.ready.clear()
            sent, saved = self.latest
            feedback.report(self.client, self.watcher.namespace, self.watcher.name, self.node, sent, saved)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="edgerep-sensor", description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", type=_addr, required=True, help="HOST:PORT the camera sends to")
    p.add_argument("--forward", type=_addr, required=True, help="HOST:PORT of the edge node's ingress")
    p.add_argument("--edgereplica", help="NAMESPACE/NAME of the EdgeReplica whose stream this is")
    p.add_argument("--node", help="ingress node the stream enters (its sensorFeedback entry)")
    p.add_argument(
        "--kubeconfig", help="kubeconfig of an identity that may get, watch and patch the EdgeReplica"
    )
    p.add_argument("--context", help="kubeconfig context (its current one unless told)")
    p.add_argument("--ignore-feedback", action="store_true", help="forward everything, report nothing")
    p.add_argument(
        "--stale-after", type=float, default=5.0, help="seconds without the API server before full"
    )
    p.add_argument("--report-interval", type=float, default=1.0, help="seconds between reports")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    watcher = client = None
    if not args.ignore_feedback:
        if not (args.edgereplica and args.node and args.kubeconfig) or "/" not in args.edgereplica:
            p.error("--edgereplica NS/NAME, --node and --kubeconfig are needed unless --ignore-feedback")
        ns, _, name = args.edgereplica.partition("/")
        client = Client.from_kubeconfig(args.kubeconfig, args.context)
        watcher = feedback.Watcher(client, ns, name, args.node, args.forward[1], args.stale_after).start()
    off = feedback.full("--ignore-feedback")
    fwd = Forwarder(args.listen, args.forward, (lambda: watcher.current) if watcher else (lambda: off))
    done = threading.Event()

    def stop(*_):
        fwd.running = False
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    reporter = Reporter(client, watcher, args.node) if watcher else None
    threading.Thread(target=fwd.run, name="forward", daemon=True).start()
    log.info("forwarding %s:%d -> %s:%d", *args.listen, *args.forward)
    last = time.monotonic()
    while not done.wait(max(args.report_interval - (time.monotonic() - last), 0.05)):
        now = time.monotonic()
        sent, saved = fwd.take()
        span = max(now - last, 1e-3)
        last = now
        sent_bps, saved_bps = int(sent * 8 / span), int(saved * 8 / span)
        fb = watcher.current if watcher else off
        line = {
            "time": time.time(),
            "sentBps": sent_bps,
            "savedBps": saved_bps,
            "feedback": fb.describe(),
            "droppedPackets": fwd.dropped,
            "droppedReference": fwd.dropped_reference,
            "sentPackets": fwd.sent_packets,
        }
        print(json.dumps(line), flush=True)
        if reporter:
            reporter.offer(sent_bps, saved_bps)
    if watcher:
        watcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
