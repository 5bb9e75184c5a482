# SPDX-License-Identifier: Apache-2.0
"""Just enough of a Kubernetes client for the sensor: a kubeconfig, GET, a watch and a merge patch.

Standard library plus Debian's python3-yaml; client certificates, bearer tokens and CA data are
taken from the kubeconfig (inline ``*-data`` fields are written to a private temporary directory).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

import yaml


class ApiError(Exception):
    """The API server answered with an error status (``code``) or could not be reached (``code`` 0)."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code


@dataclass
class Client:
    host: str
    port: int
    context: ssl.SSLContext | None
    token: str | None

    @classmethod
    def from_kubeconfig(cls, path: str, context: str | None = None) -> "Client":
        with open(path) as f:
            cfg = yaml.safe_load(f)
        name = context or cfg.get("current-context")
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next((u["user"] for u in cfg.get("users", []) if u["name"] == ctx.get("user")), {})
        url = urlsplit(cluster["server"])
        tmp = tempfile.mkdtemp(prefix="edgerep-sensor-")

        def file_of(d: dict, key: str) -> str | None:
            if d.get(key):
                return os.path.join(os.path.dirname(os.path.abspath(path)), d[key])
            if d.get(key + "-data"):
                out = os.path.join(tmp, key)
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(base64.b64decode(d[key + "-data"]))
                return out
            return None

        sslctx = None
        if url.scheme == "https":
            sslctx = ssl.create_default_context(cafile=file_of(cluster, "certificate-authority"))
            if cluster.get("insecure-skip-tls-verify"):
                sslctx.check_hostname = False
                sslctx.verify_mode = ssl.CERT_NONE
            cert, key = file_of(user, "client-certificate"), file_of(user, "client-key")
            if cert and key:
                sslctx.load_cert_chain(cert, key)
        token = user.get("token")
        if not token and user.get("tokenFile"):
            with open(user["tokenFile"]) as f:
                token = f.read().strip()
        port = url.port or (443 if url.scheme == "https" else 80)
        return cls(url.hostname, port, sslctx, token)

    def _conn(self, timeout: float) -> http.client.HTTPConnection:
        if self.context is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _headers(self, content_type: str | None = None) -> dict:
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if content_type:
            h["Content-Type"] = content_type
        return h

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 5.0) -> dict:
        conn = self._conn(timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            ctype = "application/merge-patch+json" if method == "PATCH" else "application/json"
            conn.request(method, path, body=data, headers=self._headers(ctype if data else None))
            resp = conn.getresponse()
            text = resp.read().decode(errors="replace")
            if resp.status >= 300:
                raise ApiError(resp.status, _message(text))
            return json.loads(text) if text else {}
        except (OSError, http.client.HTTPException) as e:
            raise ApiError(0, f"API server unreachable: {e}") from e
        finally:
            conn.close()

    def watch(self, path: str, timeout_seconds: int = 300, read_timeout: float = 30.0) -> Iterator[dict]:
        """The events of a watch on ``path`` (a collection, with its query), until the server ends it."""
        sep = "&" if "?" in path else "?"
        conn = self._conn(read_timeout)
        try:
            conn.request(
                "GET", f"{path}{sep}watch=true&timeoutSeconds={timeout_seconds}", headers=self._headers()
            )
            resp = conn.getresponse()
            if resp.status >= 300:
                raise ApiError(resp.status, _message(resp.read().decode(errors="replace")))
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise ApiError(0, f"watch broken: {e}") from e
        finally:
            conn.close()


def _message(text: str) -> str:
    try:
        return json.loads(text).get("message", text)
    except ValueError:
        return text[:200]
