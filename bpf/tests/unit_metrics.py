# SPDX-License-Identifier: Apache-2.0
"""The loader's /metrics: exposition format, what the kernel's fdinfo says, collectors, the HTTP endpoint."""

from __future__ import annotations

import ctypes as ct
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from edgerep_loader import metrics
from edgerep_loader.metrics import Sample

PROG_FDINFO = """pos:\t0
flags:\t02000002
mnt_id:\t15
ino:\t1057
prog_type:\t3
prog_jited:\t1
prog_tag:\t5cd1ff6b8d4fb9e6
memlock:\t4096
prog_id:\t812
run_time_ns:\t2500000000
run_cnt:\t1234
recursion_misses:\t0
verified_insns:\t211
"""

MAP_FDINFO = """pos:\t0
flags:\t02000002
mnt_id:\t15
ino:\t1057
map_type:\t1
key_size:\t4
value_size:\t8
max_entries:\t1024
map_flags:\t0x0
map_extra:\t0x0
memlock:\t90112
map_id:\t77
frozen:\t0
"""

ARRAY_FDINFO = MAP_FDINFO.replace("map_type:\t1", "map_type:\t2").replace("map_id:\t77", "map_id:\t78")


class FakeLib:
    """libbcc's two calls the collector uses: names through bpf_obj_get_info, keys through bpf_get_next_key."""

    def __init__(self, names, keys):
        self.names, self.keys = names, keys

    def bpf_obj_get_info(self, fd, buf, n):
        kind, name = self.names[fd]
        off = metrics.PROG_INFO_NAME_OFF if kind == "prog" else metrics.MAP_INFO_NAME_OFF
        ct.memmove(ct.addressof(buf) + off, name.encode(), len(name))
        return 0

    def bpf_get_next_key(self, fd, prev, nxt):
        cur = -1 if prev is None else int.from_bytes(prev.raw, "little")
        later = [k for k in self.keys[fd] if k > cur]
        if not later:
            return -1
        ct.memmove(nxt, min(later).to_bytes(4, "little"), 4)
        return 0


@pytest.fixture
def proc(tmp_path):
    """A /proc/self look-alike: fds 5 and 9 are the same program, 6 a hash map, 7 an array, 8 a socket."""
    (tmp_path / "fd").mkdir()
    (tmp_path / "fdinfo").mkdir()
    for fd, target, info in (
        (5, "anon_inode:bpf-prog", PROG_FDINFO),
        (9, "anon_inode:bpf-prog", PROG_FDINFO),
        (6, "anon_inode:bpf-map", MAP_FDINFO),
        (7, "anon_inode:bpf-map", ARRAY_FDINFO),
        (8, "socket:[123]", "pos:\t0\n"),
    ):
        os.symlink(target, tmp_path / "fd" / str(fd))
        (tmp_path / "fdinfo" / str(fd)).write_text(info)
    stats = tmp_path / "bpf_stats_enabled"
    stats.write_text("1\n")
    return tmp_path


def by_name(samples):
    out = {}
    for s in samples:
        out.setdefault(s.name, []).append(s)
    return out


def test_fdinfo_is_parsed_into_keys_and_values():
    info = metrics.parse_fdinfo(PROG_FDINFO)
    assert info["run_cnt"] == "1234" and info["prog_type"] == "3" and info["prog_id"] == "812"


def test_programs_and_maps_once_per_kernel_id_with_names_runs_and_occupancy(proc):
    lib = FakeLib(
        {5: ("prog", "tc_replicate"), 6: ("map", "st_fds"), 7: ("map", "stream_cfgs")}, {6: [3, 1, 9]}
    )
    got = by_name(metrics.kernel_samples(str(proc), lib=lib, stats_path=str(proc / "bpf_stats_enabled")))
    assert [s.value for s in got["edgerep_loader_bpf_stats_enabled"]] == [1]
    (runs,) = got["edgerep_loader_program_runs_total"]  # fd 9 is the same program as fd 5
    assert runs.value == 1234 and runs.labels == {"program": "tc_replicate", "type": "sched_cls", "id": "812"}
    (secs,) = got["edgerep_loader_program_run_seconds_total"]
    assert secs.value == 2.5
    caps = {s.labels["map"]: s.value for s in got["edgerep_loader_map_capacity_entries"]}
    assert caps == {"st_fds": 1024, "stream_cfgs": 1024}
    # occupancy only for hash maps: an array is always full
    assert [(s.labels["map"], s.value) for s in got["edgerep_loader_map_entries"]] == [("st_fds", 3)]


def test_without_libbcc_objects_are_named_by_id_and_occupancy_is_left_out(proc):
    got = by_name(metrics.kernel_samples(str(proc), lib=False, stats_path=str(proc / "absent")))
    assert got["edgerep_loader_bpf_stats_enabled"][0].value == 0
    assert got["edgerep_loader_program_runs_total"][0].labels["program"] == "id812"
    assert "edgerep_loader_map_entries" not in got


class FakeState:
    def counters(self):
        return {"records": 10, "events": 9, "lost": 2, "unresolved": 1}


class FakeStream:
    vanished_replicators = 3

    def attachments(self):
        return [("eth0", "tc", True), ("eth1", "xdp", False)]


def test_state_and_stream_collectors():
    got = by_name(metrics.state_samples(FakeState()) + metrics.stream_samples(FakeStream()))
    assert got["edgerep_loader_ring_records_total"][0].value == 10
    assert got["edgerep_loader_ring_lost_records_total"][0].value == 2
    assert got["edgerep_loader_state_unresolved_records_total"][0].value == 1
    att = {
        (s.labels["interface"], s.labels["datapath"]): s.value
        for s in got["edgerep_loader_replicator_attached"]
    }
    assert att == {("eth0", "tc"): 1, ("eth1", "xdp"): 0}
    assert [s.value for s in got["edgerep_loader_vanished_replicators_total"]] == [3]


def test_render_groups_series_under_one_help_and_type_and_escapes_labels():
    text = metrics.render(
        [
            Sample("edgerep_x_total", "counter", "X things", 1, {"a": 'q"b\\'}),
            Sample("edgerep_y", "gauge", "Y", 2.5),
            Sample("edgerep_x_total", "counter", "X things", 3, {"a": "c"}),
        ]
    )
    assert text.splitlines() == [
        "# HELP edgerep_x_total X things",
        "# TYPE edgerep_x_total counter",
        'edgerep_x_total{a="q\\"b\\\\"} 1.0',
        'edgerep_x_total{a="c"} 3.0',
        "# HELP edgerep_y Y",
        "# TYPE edgerep_y gauge",
        "edgerep_y 2.5",
    ]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")
def test_promtool_accepts_a_whole_scrape(proc):
    lib = FakeLib({5: ("prog", "tc_replicate"), 6: ("map", "st_fds"), 7: ("map", "stream_cfgs")}, {6: [1]})
    text = metrics.render(
        metrics.kernel_samples(str(proc), lib=lib, stats_path=str(proc / "bpf_stats_enabled"))
        + metrics.state_samples(FakeState())
        + metrics.stream_samples(FakeStream())
    )
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_http_endpoint_answers_even_when_a_collector_fails():
    def broken():
        raise RuntimeError("loader state gone")

    srv = metrics.MetricsServer(
        "127.0.0.1", 0, [broken, lambda: metrics.stream_samples(FakeStream())]
    ).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/metrics", timeout=10) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = r.read().decode()
        assert 'edgerep_loader_replicator_attached{datapath="tc",interface="eth0"} 1.0' in body
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/other", timeout=10)
        assert e.value.code == 404
    finally:
        srv.close()


@pytest.mark.parametrize("bad", ["9465", "host:", "h:99999", "h:x"])
def test_bad_metrics_addresses_are_refused(bad):
    with pytest.raises(ValueError):
        metrics.parse_addr(bad)


def test_metrics_address_forms():
    assert metrics.parse_addr("127.0.0.1:9465") == ("127.0.0.1", 9465)
    assert metrics.parse_addr(":9465") == ("", 9465)
    assert metrics.parse_addr("[::1]:0") == ("::1", 0)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")
def test_the_alerts_of_the_operating_guide_are_valid_rules(tmp_path):
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "OPERATING.md").read_text()
    m = re.search(r"```yaml\n(groups:.*?)```", doc, re.S)
    assert m, "docs/OPERATING.md has no alert rules block"
    rules = tmp_path / "rules.yml"
    rules.write_text(m.group(1))
    r = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 9 rules found" in r.stdout, r.stdout
