# SPDX-License-Identifier: Apache-2.0
"""What every benchmark writes, in one shape, so `make bench` can summarise them and regenerate docs/BENCHMARKS.md.

A benchmark calls :func:`write_result` once at its end. The file ``bench/results/<name>.json`` (the latest run;
a timestamped copy stays beside it) holds::

    {"bench": name, "command": "...", "quick": bool, "started": ISO-8601 UTC, "seconds": float,
     "machine": {...}, "summary": [Row, ...], "plots": ["bench/results/<name>-*.png", ...], "data": {...}}

``summary`` rows are what the table in `make bench` and docs/BENCHMARKS.md show: one measured figure, the
baseline measured in the same run (if any), their ratio, the target as written in the issue or TARGETS.md, and
whether it was met (``None``: no target). ``data`` is the benchmark's own detail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def quick() -> bool:
    """Whether this is a short run (``make bench QUICK=1``): fewer rounds and seconds, same code paths."""
    return os.environ.get("QUICK", "") not in ("", "0")


@dataclasses.dataclass
class Row:
    metric: str
    unit: str
    edgerep: float | None
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.edgerep is None or not self.baseline:
            return None
        return self.edgerep / self.baseline

    def as_json(self) -> dict:
        return {**dataclasses.asdict(self), "ratio": self.ratio}


def machine() -> dict:
    """The facts a reader needs to weigh the figures: kernel, CPUs, memory, load when the run started."""
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "loadavg": os.getloadavg(),
        "os": _os_release(),
    }


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


class Run:
    """One benchmark run: started when made, written by :meth:`write`."""

    def __init__(self, name: str):
        self.name = name
        self.started = dt.datetime.now(dt.timezone.utc)
        self._t0 = time.monotonic()
        self.machine = machine()

    def plot_path(self, what: str) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        return RESULTS / f"{self.name}-{what}.png"

    def write(self, summary: list[Row], data: dict, plots: list[Path] = ()) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        doc = {
            "bench": self.name,
            "command": " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
            "quick": quick(),
            "started": self.started.isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - self._t0, 1),
            "machine": self.machine,
            "summary": [r.as_json() for r in summary],
            "plots": [os.path.relpath(p, ROOT) for p in plots],
            "data": data,
        }
        text = json.dumps(doc, indent=2, default=_plain)
        latest = RESULTS / f"{self.name}.json"
        stamped = RESULTS / f"{self.name}-{self.started.strftime('%Y%m%dT%H%M%SZ')}.json"
        stamped.write_text(text)
        latest.write_text(text)
        print(f"wrote {os.path.relpath(latest, ROOT)}")
        return latest


def _plain(o):
    if isinstance(o, Path):
        return str(o)
    if dataclasses.is_dataclass(o):
        return dataclasses.asdict(o)
    raise TypeError(f"not JSON: {type(o).__name__}")


def print_rows(rows: list[Row]) -> None:
    """The summary as a table on stdout (the same columns `make bench` prints for all benchmarks)."""
    head = ("metric", "edgerep", "baseline", "ratio", "target", "met")
    lines = [head]
    for r in rows:
        lines.append(
            (
                f"{r.metric} [{r.unit}]" if r.unit else r.metric,
                fmt(r.edgerep),
                f"{fmt(r.baseline)} ({r.baseline_name})" if r.baseline is not None else "-",
                fmt(r.ratio, 3) if r.ratio is not None else "-",
                r.target or "-",
                {True: "yes", False: "NO", None: "-"}[r.met],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def fmt(v: float | None, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.{digits}g}" if abs(v) < 10**digits else f"{v:,.0f}"
    return f"{int(v):,}"
