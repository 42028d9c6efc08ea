"""The spool as CSV: one line per spooled event with the event's fields
(``uid`` included), one line per other record with its JSON body. This
replaces the macro-sessions tool's CSV fallback: ``python app.py import FILE.csv``
stores the events, and a later replay of the same spool stores nothing twice.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from typing import Any

from .spooldb import Spool

EVENT_COLUMNS = (
    "ts",
    "source",
    "type",
    "entity",
    "user",
    "session_id",
    "execution_id",
    "status",
    "value",
    "duration_ms",
    "message",
    "attrs",
    "uid",
)
CSV_COLUMNS = ("spool_id", "state", "method", "path", *EVENT_COLUMNS, "body", "http_status", "error")


def export_csv(spool: Spool, path: str | os.PathLike[str], *, include_dead: bool = True) -> int:
    """Write ``spool`` (pending rows in replay order, then dead letters) to ``path``; returns the line count."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for row_id, state, method, route, body, status, error in spool.rows_for_export(include_dead=include_dead):
            for line in _csv_lines(row_id, state, method, route, bytes(body), status, error):
                writer.writerow(line)
                count += 1
    return count


def _csv_lines(
    row_id: int, state: str, method: str, route: str, body: bytes, status: int | None, error: str | None
) -> Iterator[list[Any]]:
    head = [row_id, state, method, route]
    tail = ["" if status is None else status, error or ""]
    try:
        value = json.loads(body)
    except ValueError:
        yield head + [""] * len(EVENT_COLUMNS) + [body.decode("utf-8", "replace")] + tail
        return
    if route.endswith("/api/events") and isinstance(value, list):
        for event in value:
            cells = [_cell(event.get(c)) if isinstance(event, dict) else "" for c in EVENT_COLUMNS]
            yield head + cells + [""] + tail
    else:
        yield head + [""] * len(EVENT_COLUMNS) + [json.dumps(value, separators=(",", ":"))] + tail


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return value
