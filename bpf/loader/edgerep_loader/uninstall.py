# SPDX-License-Identifier: Apache-2.0
"""The chart's pre-delete hook: before `helm uninstall` deletes anything, asks the operator to tear edgerep down.

Runs in a Job (the loader image has the only Python of the release's images), as the release's uninstall
service account, whose token the operator checks with a TokenReview:

    python3 -m edgerep_loader.uninstall --url http://edgerep-operator-metrics.edgerep-system.svc:8080

The operator tells every agent to remove its node's programs, traces and pins (never done on a rolling restart),
stops its controller and takes its finalizer off every EdgeReplica; this prints what each node removed.
Exit 0 when every node confirmed, or when no operator answers at all (there is nothing to tear down through it:
said loudly, and uninstall goes on); 1 when a node failed or did not answer, so `helm uninstall` stops and says
so (the Job's log names the nodes; `helm uninstall --no-hooks` skips this step).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
PATH = "/edgerep/v1/teardown"


def say(msg: str) -> None:
    print(f"edgerep uninstall: {msg}", flush=True)


def request(url: str, token: str, timeout_s: int) -> tuple[int, dict]:
    req = urllib.request.Request(
        f"{url.rstrip('/')}{PATH}?timeoutSeconds={timeout_s}",
        method="POST",
        data=b"",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s + 30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, {"error": body.decode(errors="replace")[:500]}


def report(answer: dict) -> int:
    """Prints each node's outcome; the exit code."""
    nodes = answer.get("nodes", {})
    if not nodes:
        say("no agent was connected: nothing to remove from any node")
    for node, outcome in sorted(nodes.items()):
        if "error" in outcome:
            say(f"node {node}: NOT torn down: {outcome['error']}")
        else:
            removed = outcome.get("removed", [])
            say(f"node {node}: removed {len(removed)}: {', '.join(removed) or 'nothing was left'}")
    released = answer.get("finalizersRemoved", [])
    if released:
        say(f"finalizer removed from {len(released)} EdgeReplica(s): {', '.join(released)} (they stay)")
    bad = sorted(set(answer.get("failed", [])) | set(answer.get("pending", [])))
    if bad:
        say(f"{len(bad)} node(s) may still hold edgerep's programs and pins: {', '.join(bad)}")
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="edgerep-uninstall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the operator's HTTP address, http://host:port")
    parser.add_argument("--timeout", type=int, default=60, help="seconds every node gets to answer")
    parser.add_argument("--connect-timeout", type=int, default=60, help="seconds to keep trying the operator")
    parser.add_argument("--token-file", default=TOKEN)
    args = parser.parse_args(argv)
    with open(args.token_file, encoding="ascii") as f:
        token = f.read().strip()
    deadline = time.monotonic() + args.connect_timeout
    while True:
        try:
            code, answer = request(args.url, token, args.timeout)
            break
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() > deadline:
                say(
                    f"WARNING: no operator answers at {args.url} ({e}); nodes were not asked to remove anything"
                )
                return 0
            time.sleep(2)
    if code == 403 or code == 400 or code == 500:
        say(f"the operator refused ({code}): {answer.get('error', answer)}")
        return 1
    return report(answer)


if __name__ == "__main__":
    sys.exit(main())
