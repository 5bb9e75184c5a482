# SPDX-License-Identifier: Apache-2.0
"""The chart's pre-delete hook client against a stand-in operator on loopback: what it prints and its exit code."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from edgerep_loader import uninstall


@pytest.fixture
def operator(tmp_path):
    """An HTTP server answering POST /edgerep/v1/teardown with the (code, body) the test sets."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            seen.append((self.path, self.headers.get("Authorization")))
            code, body = server.answer
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.answer = (200, {})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = tmp_path / "token"
    token.write_text("tok-123\n")
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server, seen, ["--url", url, "--token-file", str(token), "--timeout", "5"]
    finally:
        server.shutdown()
        server.server_close()


def test_every_node_confirmed(operator, capsys):
    server, seen, args = operator
    server.answer = (
        200,
        {
            "nodes": {
                "n1": {"removed": ["tc ingress eth0", "pin dir /sys/fs/bpf/edgerep"]},
                "n2": {"removed": []},
            },
            "failed": [],
            "pending": [],
            "finalizersRemoved": ["default/web"],
        },
    )
    assert uninstall.main(args) == 0
    out = capsys.readouterr().out
    assert "node n1: removed 2: tc ingress eth0, pin dir /sys/fs/bpf/edgerep" in out
    assert "node n2: removed 0: nothing was left" in out
    assert "finalizer removed from 1 EdgeReplica(s): default/web" in out
    assert seen == [("/edgerep/v1/teardown?timeoutSeconds=5", "Bearer tok-123")]


def test_a_node_without_answer_or_with_an_error_fails_the_hook_and_is_named(operator, capsys):
    server, _, args = operator
    server.answer = (
        504,
        {
            "nodes": {"n1": {"error": "the loader: UNAVAILABLE"}, "n2": {"error": "no answer within 5s"}},
            "failed": ["n1"],
            "pending": ["n2"],
            "finalizersRemoved": [],
        },
    )
    assert uninstall.main(args) == 1
    out = capsys.readouterr().out
    assert "node n1: NOT torn down: the loader: UNAVAILABLE" in out
    assert "2 node(s) may still hold edgerep's programs and pins: n1, n2" in out


def test_a_refusal_fails_the_hook_with_the_operators_reason(operator, capsys):
    server, _, args = operator
    server.answer = (403, {"error": "system:serviceaccount:x:y may not tear edgerep down"})
    assert uninstall.main(args) == 1
    assert "the operator refused (403): system:serviceaccount:x:y may not" in capsys.readouterr().out


def test_no_operator_at_all_lets_uninstall_go_on_with_a_warning(tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text("t")
    # a port nothing listens on: bind one and close it
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc = uninstall.main(
        ["--url", f"http://127.0.0.1:{port}", "--token-file", str(token), "--connect-timeout", "0"]
    )
    assert rc == 0
    assert "WARNING: no operator answers" in capsys.readouterr().out
