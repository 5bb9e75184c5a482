# SPDX-License-Identifier: Apache-2.0
"""`kubectl edgerep` as a user runs it against the e2e control plane, and the objects it needs there.

The plugin reads the operator's per-node view through the API server's service proxy, so the operator
needs a Service whose endpoint is a Pod object with the operator's address, as the chart and a kubelet
would make them on a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess

from .system import REPO, SYSTEM_NAMESPACE

PLUGIN = REPO / "tools" / "kubectl-edgerep"


def operator_service(cp, name: str, ip: str, port: int) -> None:
    """A Service, the Pod object behind it and its Endpoints, as the chart and a kubelet would make them.

    The API server's service proxy only goes to an endpoint address whose targetRef is a Pod of the
    namespace that has that IP (no controller-manager runs here, so the test writes them).
    """
    ns = SYSTEM_NAMESPACE
    pod = f"{name}-0"
    cp.apply_json(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod, "namespace": ns, "labels": {"app.kubernetes.io/component": name}},
            "spec": {"containers": [{"name": "operator", "image": "edgerep/operator:e2e"}]},
        }
    )
    cp.kubectl(
        "patch",
        "pod",
        pod,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}),
    )
    cp.apply_json(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"name": "http-metrics", "port": port, "targetPort": port}]},
        }
    )
    cp.apply_json(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns},
            "subsets": [
                {
                    "addresses": [{"ip": ip, "targetRef": {"kind": "Pod", "name": pod, "namespace": ns}}],
                    "ports": [{"name": "http-metrics", "port": port}],
                }
            ],
        }
    )


def run_plugin(cp, topo, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    """The plugin with the real kubectl against the real API server, from the control namespace."""
    kubeconfig = cp.kubeconfig
    if token:
        # the user is the token alone: with the admin's client certificate beside it, the certificate wins
        config = json.loads(cp.kubeconfig.read_text())
        config["users"] = [{"name": "admin", "user": {"token": token}}]
        kubeconfig = cp.kubeconfig.with_name("kubeconfig-token")
        kubeconfig.write_text(json.dumps(config))
    cmd = ["/usr/bin/python3", str(PLUGIN), *args, "--kubeconfig", str(kubeconfig)]
    return subprocess.run(
        ["ip", "netns", "exec", topo.ctl, *cmd],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUBECTL": str(cp.bin / "kubectl")},
    )
