# SPDX-License-Identifier: Apache-2.0
"""bench/report: every benchmark's latest result in one table and docs/BENCHMARKS.md, generated, never copied."""

import json
import os

import pytest

import benchlib
from conftest import BENCH, load_script

report = load_script("bench_report", os.path.join(BENCH, "report"))


def result(bench: str, rows: list[benchlib.Row], **extra) -> dict:
    return {
        "bench": bench,
        "command": f"bench/{bench}/run",
        "quick": False,
        "started": "2026-12-03T10:00:00+00:00",
        "seconds": 12.5,
        "machine": {
            "kernel": "6.18.0",
            "cpus": 2,
            "cpu_model": "Test CPU",
            "memory_gib": 24.0,
            "loadavg": [0.5, 0.4, 0.3],
        },
        "summary": [r.as_json() for r in rows],
        "plots": [],
        "data": {},
        **extra,
    }


def write(path, doc) -> None:
    path.write_text(json.dumps(doc))


def test_row_ratio_and_missing_baseline():
    assert benchlib.Row("x", "ops/s", 130.0, 100.0).ratio == pytest.approx(1.3)
    assert benchlib.Row("x", "ops/s", 130.0).ratio is None
    assert benchlib.Row("x", "ops/s", None, 100.0).ratio is None
    # a baseline of zero has no ratio rather than a division error
    assert benchlib.Row("x", "ops/s", 5.0, 0.0).ratio is None
    assert benchlib.Row("x", "ops/s", 130.0, 100.0).as_json()["ratio"] == pytest.approx(1.3)


def test_fmt_keeps_magnitude_and_precision():
    assert benchlib.fmt(None) == "-"
    assert benchlib.fmt(724992) == "724,992"
    assert benchlib.fmt(724992.4) == "724,992"
    assert benchlib.fmt(1.23456) == "1.235"
    assert benchlib.fmt(1.23456, 3) == "1.23"
    assert benchlib.fmt(3.0) == "3"


def test_latest_result_of_each_benchmark_wins_and_own_formats_are_adapted(tmp_path):
    rows = [benchlib.Row("copies/s tc", "copies/s", 130.0, 100.0, "bridge", ">= 1.3x", True)]
    write(tmp_path / "stream.json", result("stream", rows))
    # benchlib's timestamped copy is the same run as stream.json: it must not count twice
    write(tmp_path / "stream-20261203T100000Z.json", result("stream", [benchlib.Row("old", "x", 1.0)]))
    # the operator's own format, two runs: the newer is taken
    for stamp, p99 in (("2026-12-03T100000.1Z", 900.0), ("2026-12-03T110000.1Z", 2500.0)):
        write(
            tmp_path / f"operator-{stamp}.json",
            {
                "benchmark": "operator",
                "time": stamp,
                "sequential": {"count": 100, "p99_ms": p99},
                "burst": {},
            },
        )
    (tmp_path / "broken.json").write_text("{not json")
    ours, own = report.load(tmp_path)
    assert [d["bench"] for d in ours] == ["stream"]
    assert [r.metric for r in report.rows_of(ours[0])] == ["copies/s tc"]
    by_name = {e["name"]: e for e in own}
    assert set(by_name) == {"operator", "broken.json"}
    assert "error" in by_name["broken.json"]
    adapted = report.adapt(by_name["operator"])
    p99 = next(r for r in report.rows_of(adapted) if "Ready p99" in r.metric)
    assert p99.edgerep == 2500.0 and p99.met is False
    # the burst was not measured: no figure, and no verdict either way
    burst = next(r for r in report.rows_of(adapted) if "at once" in r.metric)
    assert burst.edgerep is None and burst.met is None
    assert report.adapt(by_name["broken.json"]) is None


def test_an_own_format_file_of_a_benchmark_now_in_benchlib_shape_is_dropped(tmp_path):
    write(
        tmp_path / "state.json",
        result("state", [benchlib.Row("tax", "x", 1.01, 1.0, "off", "<= 1.02", True)]),
    )
    write(tmp_path / "state-20261101T000000Z.json", {"old": "format"})
    ours, own = report.load(tmp_path)
    assert [d["bench"] for d in ours] == ["state"] and own == []


def test_agent_result_adapted_with_its_targets(tmp_path):
    doc = {
        "benchmark": "agent-replication",
        "time": "2026-12-03T10:00:00Z",
        "cpus": 2,
        "targets": {"p50_ms": 5, "p99_ms": 50, "ops_per_s": 100000},
        "latency": [{"rate_ops_per_s": 1000, "p50_ms": 1.6, "p99_ms": 60.0}],
        "max_rate": {"ops_per_s": 122595, "lost": 3},
    }
    write(tmp_path / "agent-20261203T100000Z.json", doc)
    _, own = report.load(tmp_path)
    rows = {r.metric: r for r in report.rows_of(report.adapt(own[0]))}
    assert rows["write -> applied on a replica p50 @ 1000 ops/s"].met is True
    assert rows["write -> applied on a replica p99 @ 1000 ops/s"].met is False
    # fast but lossy is not met
    assert rows["max sustained rate, every op applied (lost 3)"].met is False


def test_doc_regenerated_with_rows_machine_text_and_plots(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    results = root / "bench" / "results"
    results.mkdir(parents=True)
    plot = results / "stream-scale.png"
    plot.write_bytes(b"\x89PNG not really")
    monkeypatch.setattr(report, "ROOT", root)
    rows = [
        benchlib.Row("tc | copies/s", "copies/s", 120.0, 100.0, "bridge", ">= 1.3x", False),
        benchlib.Row("DPI ns", "ns", 70.0),
    ]
    doc = result("stream", rows, plots=["bench/results/stream-scale.png", "bench/results/gone.png"])
    doc["data"] = {"doc": "What limited tc: the unshare per copy."}
    doc["quick"] = True
    write(results / "stream.json", doc)
    out = root / "docs" / "BENCHMARKS.md"
    (root / "docs" / "benchmarks").mkdir(parents=True)
    (root / "docs" / "benchmarks" / "stale.png").write_bytes(b"old")

    ours, own = report.load(results)
    report.write_doc(out, ours, own)

    text = out.read_text()
    assert "do not edit by hand" in text
    # the summary carries every row with its verdict; a | in a metric does not break the table
    assert "| stream | tc \\| copies/s [copies/s] | 120 | 100 (bridge) | 1.2 | >= 1.3x | **NO** |" in text
    assert "| stream | DPI ns [ns] | 70 | - | - | - | - |" in text
    assert "- command: `bench/stream/run` (QUICK: a short run)" in text
    assert "2 CPUs Test CPU, 24.0 GiB, kernel 6.18.0, load 0.50 0.40 0.30" in text
    assert "What limited tc: the unshare per copy." in text
    assert "![stream-scale](benchmarks/stream-scale.png)" in text
    assert "(plot `bench/results/gone.png` missing)" in text
    assert (root / "docs" / "benchmarks" / "stream-scale.png").read_bytes() == plot.read_bytes()
    # a plot no result names any more is not left behind
    assert not (root / "docs" / "benchmarks" / "stale.png").exists()


def test_report_without_results_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        "sys.argv", ["bench/report", "--results", str(tmp_path), "--doc", str(tmp_path / "B.md")]
    )
    with pytest.raises(SystemExit) as e:
        report.main()
    assert "run make bench first" in str(e.value)
    assert not (tmp_path / "B.md").exists()


def test_report_counts_unmet_targets(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    results.mkdir()
    write(
        results / "a.json",
        result(
            "a",
            [
                benchlib.Row("m1", "x", 1.0, target="<= 2", met=True),
                benchlib.Row("m2", "x", 3.0, target="<= 2", met=False),
            ],
        ),
    )
    monkeypatch.setattr(report, "ROOT", tmp_path)
    monkeypatch.setattr(
        "sys.argv", ["bench/report", "--results", str(results), "--doc", str(tmp_path / "docs" / "B.md")]
    )
    report.main()
    out = capsys.readouterr().out
    assert "a: m2 [x]" in out
    assert "2 rows from 1 benchmarks, 1 targets not met, 0 in an own format" in out
    assert (tmp_path / "docs" / "B.md").exists()


def test_write_result_has_the_documented_shape(tmp_path, monkeypatch):
    monkeypatch.setattr(benchlib, "RESULTS", tmp_path)
    monkeypatch.setenv("QUICK", "1")
    run = benchlib.Run("unit")
    latest = run.write([benchlib.Row("m", "ms", 2.0, 1.0, "off", "<= 1.5", False)], {"raw": [1, 2]})
    doc = json.loads(latest.read_text())
    assert set(doc) == {
        "bench",
        "command",
        "quick",
        "started",
        "seconds",
        "machine",
        "summary",
        "plots",
        "data",
    }
    assert doc["quick"] is True and doc["bench"] == "unit"
    assert doc["summary"][0]["ratio"] == pytest.approx(2.0)
    assert doc["machine"]["kernel"] == os.uname().release
    stamped = [p for p in tmp_path.glob("unit-*.json")]
    assert len(stamped) == 1 and stamped[0].read_text() == latest.read_text()


def test_readme_block_counts_targets_and_lists_each_one_not_met(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "ROOT", tmp_path)
    stream = result(
        "stream",
        [
            benchlib.Row("tc 1->4", "copies/s", 124.0, 100.0, "bridge", ">= 1.3x bridge", False),
            benchlib.Row("relay", "copies/s", 250.0, 100.0, "relay", ">= 2x", True),
            benchlib.Row("DPI ns", "ns", 70.0),
        ],
        quick=True,
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{report.BEGIN}\nstale figures\n{report.END}\nafter\n")
    assert report.write_readme(readme, [stream])
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n" + report.BEGIN) and text.endswith(report.END + "\nafter\n")
    assert "stale figures" not in text
    assert "| [stream](docs/BENCHMARKS.md#stream) | 2026-12-03, kernel 6.18.0, QUICK | 1 of 2 |" in text
    assert "| stream | tc 1->4 | 124 copies/s (1.24x bridge) | >= 1.3x bridge |" in text
    assert "relay |" not in text.split("Targets not met")[1]
    # rewriting is idempotent: the block is replaced, not appended
    assert report.write_readme(readme, [stream]) and readme.read_text() == text


def test_readme_without_markers_is_left_alone(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# nothing generated here\n")
    assert not report.write_readme(readme, [])
    assert readme.read_text() == "# nothing generated here\n"
