# SPDX-License-Identifier: Apache-2.0
"""The scenario tools on their own, without edgerep in the path: so a scenario failure points at edgerep."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from edgerep_e2e import media
from edgerep_e2e.apps import start_sink, start_webapp, web_url
from edgerep_e2e.proc import settle, start, wait_for
from edgerep_e2e.topology import Topology


def test_stream_sent_straight_to_a_pod_decodes_without_loss(workdir):
    clip = media.clip("h264", seconds=4, bitrate="4M")
    with Topology(["node-a"], workdir) as topo:
        pod = topo.add_pod("node-a", "consumer-0")
        sink = start_sink(pod, workdir)
        wait_for("the sink's first report", lambda: (pod.host_dir / "recv.ts.json").exists(), proc=sink)
        sender = start(
            "sender", media.sender_command(clip, pod.ip, 6000), log_dir=workdir / "logs", netns=topo.sensor
        )
        assert sender.popen.wait(timeout=120) == 0, sender.tail()
        expected = clip.stat().st_size
        settle(lambda: json.loads((pod.host_dir / "recv.ts.json").read_text())["bytes"] == expected)
        sink.stop()
        stats = json.loads((pod.host_dir / "recv.ts.json").read_text())
        assert stats["bytes"] == expected, f"received {stats['bytes']} of {expected} bytes"
        assert (pod.host_dir / "recv.ts").read_bytes() == clip.read_bytes()
        assert media.psnr(pod.host_dir / "recv.ts", clip) == float("inf")


def test_web_app_keeps_its_state_in_files_and_sqlite(workdir):
    with Topology(["node-a"], workdir) as topo:
        pod = topo.add_pod("node-a", "web-origin")
        app = start_webapp(pod, workdir)
        url = web_url(pod)

        def get(path: str) -> bytes:
            proc = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    topo.sensor,
                    "/usr/bin/python3",
                    "-c",
                    f"import urllib.request,sys;sys.stdout.buffer.write(urllib.request.urlopen('{url}{path}',timeout=2).read())",
                ],
                capture_output=True,
                timeout=10,
            )
            if proc.returncode:
                raise RuntimeError(proc.stderr.decode())
            return proc.stdout

        wait_for("the web app", lambda: get("/health") == b"ok", timeout=20, proc=app)
        script = (
            f"import urllib.request\n"
            f"for i in range(50):\n"
            f"    urllib.request.urlopen(urllib.request.Request('{url}/items', data=b'{{\"n\": %d}}' % i,"
            f" method='POST'), timeout=5).read()\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", topo.sensor, "/usr/bin/python3", "-c", script], check=True, timeout=60
        )
        assert json.loads(get("/items/50")) == {"n": 49}
        app.stop()
        items = sorted((pod.host_dir / "items").iterdir())
        assert len(items) == 50
        assert len((pod.host_dir / "access.log").read_text().splitlines()) == 50
        db = sqlite3.connect(pod.host_dir / "app.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 50


def test_the_tree_comparison_sees_every_property_a_program_observes(tmp_path):
    """Each change a replica could get wrong shows in tree_digest and under its kind."""
    import os

    from edgerep_e2e.files import differences_by_kind, tree_digest

    def make(root):
        (root / "d" / "empty").mkdir(parents=True)
        (root / "f").write_text("content")
        os.link(root / "f", root / "d" / "f2")
        (root / "g").write_text("other")
        os.symlink("f", root / "l")
        for p in (root / "f", root / "g", root / "d" / "empty", root / "d", root):
            os.utime(p, ns=(1_000_000_000, 1_600_000_000_123456789))
        os.utime(root / "l", ns=(5, 7_000_000_000), follow_symlinks=False)

    a, b = tmp_path / "a", tmp_path / "b"
    make(a)
    make(b)
    assert tree_digest(a) == tree_digest(b)
    changes = {
        "mode": lambda r: os.chmod(r / "g", 0o4755),
        "owner": lambda r: os.chown(r / "g", 1, 2),
        "mtime": lambda r: os.utime(r / "g", ns=(1, 1_600_000_000_123456788)),
        "content": lambda r: (r / "g").write_text("0ther")
        or os.utime(r / "g", ns=(1, 1_600_000_000_123456789)),
        "link": lambda r: os.unlink(r / "l") or os.symlink("g", r / "l"),
        "hardlink": lambda r: os.unlink(r / "d" / "f2") or (r / "d" / "f2").write_text("content"),
        "missing": lambda r: os.rmdir(r / "d" / "empty"),
    }
    for kind, change in changes.items():
        c = tmp_path / kind
        make(c)
        change(c)
        assert kind in differences_by_kind(tree_digest(a), tree_digest(c)), kind
