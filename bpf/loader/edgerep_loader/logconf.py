# SPDX-License-Identifier: Apache-2.0
"""The loader's log lines: an ISO-8601 date and time with its offset on every line, as text or as JSON."""

from __future__ import annotations

import json
import logging
import time

FORMATS = ("text", "json")


def iso_time(created: float) -> str:
    """``2026-12-03T08:55:20.123+00:00`` for a record's ``created`` time, in local time with its offset."""
    t = time.localtime(created)
    off = time.strftime("%z", t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(created % 1 * 1000):03d}{off[:3]}:{off[3:]}"


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> <message>``, the traceback (if any) on the lines after."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return iso_time(record.created)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp, level, loggerName, message, and exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "timestamp": iso_time(record.created),
            "level": record.levelname,
            "loggerName": record.name,
            "threadName": record.threadName,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """The root logger at ``level`` (a name such as INFO), writing ``fmt`` ("text" or "json") to stderr."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {fmt!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
