"""Writing generated actions through Pulseboard's own write path: plain
events with ``data.ingest.ingest`` in batches, sessions, executions and
components with ``data.records`` (each also writes its event)."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from data import records
from data.ingest import IngestResult, ingest
from demo.model import COMPONENT, EVENT, EXECUTION, FINISH, SESSION_END, SESSION_START, Act, to_datetime
from services import Services


class Writer:
    """Buffers actions in time order and writes them: record changes in one
    transaction, then the plain events (at most ``batch`` per ``ingest``).
    With ``publish`` each committed batch goes to ``services.committed`` so
    the live feed hears of it."""

    def __init__(self, services: Services, *, batch: int = 2000, publish: bool = False) -> None:
        self.services = services
        self.batch = batch
        self.publish = publish
        self.counts: collections.Counter[str] = collections.Counter()
        self._ops: list[Act] = []
        self._rows: list[dict[str, Any]] = []

    def add(self, acts: Iterable[Act]) -> None:
        for act in acts:
            if act.kind == EVENT:
                row = act.data
                row["ts"] = to_datetime(act.t)
                self._rows.append(row)
                if len(self._rows) >= self.batch:
                    self.flush()
            else:
                self._ops.append(act)

    def flush(self) -> int:
        """Write what is buffered; the number of events stored."""
        stored = 0
        if self._ops:
            ops, self._ops = self._ops, []
            rows: list[dict[str, Any]] = []
            with self.services.db.write() as conn:
                for act in ops:
                    result = _apply(conn, act)
                    if result is not None:
                        rows.extend(result.stored)
            stored += self._committed(rows)
        if self._rows:
            batch, self._rows = self._rows, []
            stored += self._committed(ingest(self.services.db, batch).stored)
        return stored

    def _committed(self, rows: list[dict[str, Any]]) -> int:
        for row in rows:
            self.counts[row["source"]] += 1
        if self.publish and rows:
            self.services.committed(rows)
        return len(rows)


def _apply(conn: Any, act: Act) -> IngestResult | None:
    d = act.data
    at: datetime = to_datetime(act.t)
    if act.kind == SESSION_START:
        _, _, result = records.start_session(
            conn,
            session_id=d["session_id"],
            source=d["source"],
            user=d.get("user"),
            started_at=at,
            attrs=d.get("attrs"),
        )
        return result
    if act.kind == SESSION_END:
        try:
            _, ended = records.end_session(conn, d["session_id"], at)
        except records.NotFound:
            return None
        return ended
    if act.kind == EXECUTION:
        fields = dict(d["fields"])
        for key in ("started_at", "finished_at"):
            if isinstance(fields.get(key), float):
                fields[key] = to_datetime(fields[key])
        return records.record_execution(conn, fields, at).result
    if act.kind == FINISH:
        fields = dict(d["fields"])
        if isinstance(fields.get("finished_at"), float):
            fields["finished_at"] = to_datetime(fields["finished_at"])
        try:
            return records.finish_execution(conn, d["execution_id"], fields, at).result
        except records.NotFound:
            return None
    if act.kind == COMPONENT:
        _, result = records.set_component(conn, d["name"], d["status"], d.get("detail"), d["source"], at)
        return result
    raise ValueError(f"unknown demo action {act.kind!r}")
