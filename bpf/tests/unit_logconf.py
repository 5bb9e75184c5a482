# SPDX-License-Identifier: Apache-2.0
"""The loader's log lines: a date on every line, JSON when asked, a bad format refused."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest

from edgerep_loader import logconf

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


def run_loader_logging(fmt: str) -> str:
    """What a loader process configured with ``fmt`` writes for one info line and one exception."""
    code = (
        "import logging; from edgerep_loader import logconf\n"
        f"logconf.configure('INFO', {fmt!r})\n"
        "log = logging.getLogger('edgerep.loader')\n"
        "log.info('serving on %s', '/run/x.sock')\n"
        "log.debug('not shown')\n"
        "try:\n    1/0\nexcept ZeroDivisionError:\n    log.exception('failed')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return r.stderr


def test_text_lines_start_with_an_iso_8601_time_and_offset():
    lines = run_loader_logging("text").splitlines()
    assert re.fullmatch(ISO + r" INFO edgerep\.loader serving on /run/x\.sock", lines[0]), lines[0]
    assert re.match(ISO + r" ERROR edgerep\.loader failed", lines[1]), lines[1]
    assert "ZeroDivisionError" in lines[-1] and not any("not shown" in ln for ln in lines)


def test_json_is_one_object_a_line():
    lines = run_loader_logging("json").splitlines()
    assert len(lines) == 2
    first, second = (json.loads(ln) for ln in lines)
    assert re.fullmatch(ISO, first["timestamp"])
    assert (first["level"], first["loggerName"], first["message"]) == (
        "INFO",
        "edgerep.loader",
        "serving on /run/x.sock",
    )
    assert second["level"] == "ERROR" and "ZeroDivisionError" in second["exception"]


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError):
        logconf.configure("INFO", "xml")


def test_iso_time_of_a_known_instant():
    s = logconf.iso_time(0.25)
    assert re.fullmatch(ISO, s) and s[19:23] == ".250", s
