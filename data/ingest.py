"""Writing events: idempotent batch insert plus the per-minute rollups, in one
transaction, so a committed batch and its rollups are never apart.

Events arrive here already validated (``core/schemas.py``) as plain dicts with
a timezone-aware ``ts``. A retried event carries the same ``uid`` and is
stored once: uids already stored, or repeated inside the batch, map to the
stored id instead of a new row.

Concurrent batches of one process share transactions (group commit): while
one transaction is being written, batches that arrive queue up, and the next
transaction writes them all. Each caller returns only once its batch is
committed, so an acknowledgement still means the data is stored; what is
saved is the per-transaction cost (lock, page writes, commit) that single-event
requests would otherwise each pay.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from analytics.histogram import bucket_index
from data.models import to_micros
from data.partitions import UIDS_TABLE

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
_UID_CHUNK = 500  # stay far below SQLite's bound-parameter limit
T = TypeVar("T")


def event_row(ts: datetime, source: str, type_: str, **fields: Any) -> dict[str, Any]:
    """An event as ``ingest`` takes it: every column present, None where not given.

    >>> event_row(datetime(2026, 1, 1), "s", "t", value=2.0)["value"], event_row(datetime(2026, 1, 1), "s", "t")["uid"]
    (2.0, None)
    """
    return dict.fromkeys(EVENT_COLUMNS) | {"ts": ts, "source": source, "type": type_} | fields


@dataclasses.dataclass
class IngestResult:
    ids: list[int]  # one per input event, in input order
    stored: list[dict[str, Any]]  # the rows written now (with ids), for the live feed
    duplicates: int


def insert_events(conn: Connection, events: Sequence[dict[str, Any]]) -> IngestResult:
    """Insert ``events`` and update rollups in the caller's transaction.

    The statements go through the driver's own cursor: a handful of prepared
    statements per batch, with the rows converted once here rather than by
    SQLAlchemy per row and per statement. On PostgreSQL a concurrent writer can
    store the same uid between our check and our insert; the primary key of
    the uids (``data/partitions.py``) then rejects the batch and the caller's
    retry (see :func:`ingest`) finds the uid stored.
    """
    return insert_batches(conn, [events])[0]


def insert_batches(conn: Connection, batches: Sequence[Sequence[dict[str, Any]]]) -> list[IngestResult]:
    """:func:`insert_events` for several batches with the same statements, as
    if each were inserted after the one before it (a uid of an earlier batch
    is a duplicate in a later one)."""
    cur = _Cursor(conn)
    uids = [uid for events in batches for e in events if (uid := e.get("uid"))]
    existing = _existing_uids(cur, uids) if uids else {}
    new_rows: list[dict[str, Any]] = []
    slots: list[int | str] = []  # per input: index into new_rows, or a uid already stored
    seen: dict[str, int] = {}
    starts = []  # per batch: where its inputs start in slots, its new rows in new_rows
    for events in batches:
        starts.append((len(slots), len(new_rows)))
        for event in events:
            uid = event.get("uid")
            if uid:
                if uid in existing:
                    slots.append(uid)
                    continue
                if uid in seen:
                    slots.append(seen[uid])
                    continue
                seen[uid] = len(new_rows)
            slots.append(len(new_rows))
            new_rows.append(_BLANK | event)
    new_ids = _allocate_ids(cur, len(new_rows))
    if new_rows:
        micros = [to_micros(row["ts"]) for row in new_rows]
        for row, new_id in zip(new_rows, new_ids):
            row["id"] = new_id
        _insert_rows(cur, new_rows, micros)
        if cur.pg:
            _insert_uids(cur, new_rows, micros)
        _write_rollups(cur, new_rows, micros)
        if cur.pg:  # wakes the live tail of every process at commit
            cur.execute("NOTIFY pulse_events")
    ids = [existing[s] if isinstance(s, str) else new_ids[s] for s in slots]
    results = []
    for (first, stored_from), (end, stored_to) in zip(starts, [*starts[1:], (len(slots), len(new_rows))]):
        stored = new_rows[stored_from:stored_to]
        results.append(IngestResult(ids=ids[first:end], stored=stored, duplicates=end - first - len(stored)))
    return results


class _Cursor:
    """The driver's cursor of a SQLAlchemy connection, inside its transaction,
    with the placeholder that driver takes (``?`` sqlite3, ``%s`` psycopg).
    Driver errors are raised as SQLAlchemy raises them (``IntegrityError``...),
    so callers see one kind of error whichever way a statement went."""

    def __init__(self, conn: Connection) -> None:
        self.pg = conn.dialect.name == "postgresql"
        self.mark = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
        self.dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def marks(self, n: int) -> str:
        return ", ".join([self.mark] * n)

    @contextlib.contextmanager
    def statement(self, sql: str) -> Iterator[Any]:
        try:
            yield self.cursor
        except self.dbapi_error as exc:
            raise DBAPIError.instance(sql, None, exc, self.dbapi_error) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.statement(sql) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.statement(sql) as cursor:
            cursor.executemany(sql, rows)


def ingest(db: Any, events: Sequence[dict[str, Any]]) -> IngestResult:
    """Insert a batch, with its rollups; committed on return. Batches sent
    concurrently in this process may share a transaction (:class:`GroupCommit`)."""
    group: GroupCommit = db.group_commit
    return group.submit(events)


class _Batch:
    __slots__ = ("events", "wake", "lead", "done", "result", "error")

    def __init__(self, events: Sequence[dict[str, Any]]) -> None:
        self.events = events
        self.wake = threading.Event()  # set when done, or when this batch's thread is to lead
        self.lead = False
        self.done = False
        self.result: IngestResult | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Writes the batches of concurrent callers together.

    The first caller to find no transaction in progress leads: it takes the
    queued batches (its own first), writes them in one transaction and hands
    the lead to the oldest batch that arrived meanwhile. Nobody waits for a
    timer: a lone caller writes at once, and under load each transaction
    carries whatever queued while the previous one was written (up to
    ``max_events``). If a group fails, its batches are retried one by one, so
    a bad batch fails only its own caller."""

    def __init__(self, db: Any, max_events: int = 5_000) -> None:
        self.db = db
        self.max_events = max_events
        self.lock = threading.Lock()
        self.queue: list[_Batch] = []
        self.busy = False

    def submit(self, events: Sequence[dict[str, Any]]) -> IngestResult:
        batch = _Batch(events)
        with self.lock:
            self.queue.append(batch)
            if not self.busy:
                self.busy = batch.lead = True
                batch.wake.set()
        while not batch.done:
            batch.wake.wait()
            if not batch.done and batch.lead:
                self._lead()
        if batch.error is not None:
            raise batch.error
        assert batch.result is not None
        return batch.result

    def _lead(self) -> None:
        with self.lock:
            group: list[_Batch] = []
            size = 0
            while self.queue and (not group or size + len(self.queue[0].events) <= self.max_events):
                group.append(self.queue.pop(0))
                size += len(group[-1].events)
        try:
            self._write(group)
        finally:
            with self.lock:
                if self.queue:
                    nxt = self.queue[0]
                    nxt.lead = True
                    nxt.wake.set()
                else:
                    self.busy = False
            for batch in group:
                batch.done = True
                batch.wake.set()

    def _write(self, group: list[_Batch]) -> None:
        if len(group) > 1:
            try:
                results = write_retrying(self.db, lambda conn: insert_batches(conn, [b.events for b in group]))
            except Exception:  # some batch broke the shared transaction: find out which, alone
                pass
            else:
                for batch, result in zip(group, results):
                    batch.result = result
                return
        for batch in group:
            try:
                batch.result = write_retrying(self.db, functools.partial(insert_events, events=batch.events))
            except BaseException as exc:  # handed to the batch's own caller
                batch.error = exc


def write_retrying(db: Any, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in its own write transaction, committed on return.

    Writes check for a key (uid, session id, execution id, component name)
    before inserting it. On PostgreSQL a concurrent writer can insert the same
    key in between; the unique index then rejects our transaction, and the
    retry finds the key stored (SQLite's BEGIN IMMEDIATE rules this out)."""
    for attempt in range(3):
        try:
            with db.write() as conn:
                return work(conn)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


_BLANK = dict.fromkeys(EVENT_COLUMNS)
_INSERT_COLUMNS = ", ".join(f'"{c}"' for c in ("id", *EVENT_COLUMNS))
COPY_FROM = 50  # PostgreSQL: batches of at least this many rows are written with COPY


def _insert_rows(cur: _Cursor, rows: list[dict[str, Any]], micros: list[int]) -> None:
    """One prepared statement for the batch (``executemany``), or on PostgreSQL
    a ``COPY`` for a large one; the rows are converted here once."""
    dumps = orjson.dumps
    params = [
        (
            r["id"],
            ts,
            r["source"],
            r["type"],
            r["entity"],
            r["user"],
            r["session_id"],
            r["execution_id"],
            r["status"],
            r["value"],
            r["duration_ms"],
            r["message"],
            None if r["attrs"] is None else dumps(r["attrs"]).decode(),
            r["uid"],
        )
        for r, ts in zip(rows, micros)
    ]
    if cur.pg and len(params) >= COPY_FROM:
        sql = f"COPY events ({_INSERT_COLUMNS}) FROM STDIN"
        with cur.statement(sql) as cursor, cursor.copy(sql) as copy:
            for row in params:
                copy.write_row(row)
        return
    cur.executemany(f"INSERT INTO events ({_INSERT_COLUMNS}) VALUES ({cur.marks(len(EVENT_COLUMNS) + 1)})", params)


def _allocate_ids(cur: _Cursor, n: int) -> list[int]:
    """Ids for ``n`` new events, known before the insert so that one plain
    executemany writes the batch (RETURNING would cost a statement per row).

    SQLite: the write transaction holds the database lock, so max(id)+1.. is
    ours. PostgreSQL: values drawn from the id sequence."""
    if n == 0:
        return []
    if cur.pg:
        stmt = "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, %s)"
        return [row[0] for row in cur.execute(stmt, (n,))]
    top = cur.execute("SELECT max(id) FROM events")[0][0] or 0
    return list(range(top + 1, top + 1 + n))


def _insert_uids(cur: _Cursor, rows: list[dict[str, Any]], micros: list[int]) -> None:
    """PostgreSQL: the uids of the new rows, in the table whose primary key
    keeps them unique (``events`` is partitioned there, and its unique
    indexes must contain ts; see ``data/partitions.py``). A uid stored
    meanwhile by a concurrent writer fails the transaction: the caller
    retries and finds it."""
    keyed = [(r["uid"], r["id"], ts) for r, ts in zip(rows, micros) if r["uid"]]
    if keyed:
        uids, ids, stamps = zip(*keyed)
        cur.execute(
            f"INSERT INTO {UIDS_TABLE} (uid, id, ts) SELECT * FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[])",
            (list(uids), list(ids), list(stamps)),
        )


def _existing_uids(cur: _Cursor, uids: list[str]) -> dict[str, int]:
    unique = list(dict.fromkeys(uids))
    if cur.pg:
        return dict(cur.execute(f"SELECT uid, id FROM {UIDS_TABLE} WHERE uid = ANY(%s)", (unique,)))
    found: dict[str, int] = {}
    for start in range(0, len(unique), _UID_CHUNK):
        chunk = unique[start : start + _UID_CHUNK]
        found.update(cur.execute(f"SELECT uid, id FROM events WHERE uid IN ({cur.marks(len(chunk))})", chunk))
    return found


def rollup_deltas(
    rows: Iterable[dict[str, Any]], micros: Iterable[int] | None = None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Aggregate rows into rollup increments ``(*key, count, value_count,
    value_sum, value_min, value_max, dur_count, dur_sum, dur_min, dur_max)``
    and histogram increments ``(*key, bucket, count)``, sorted by key so that
    concurrent batches lock rollup rows in the same order (no deadlocks).
    ``micros``: the rows' ``ts`` as microseconds, when already converted."""
    agg: dict[tuple[Any, ...], list[Any]] = {}
    hist: dict[tuple[Any, ...], int] = {}
    if micros is None:
        rows = list(rows)
        micros = [to_micros(row["ts"]) for row in rows]
    for row, us in zip(rows, micros):
        key = (us // 60_000_000 * 60, row["source"], row["type"], row["entity"] or "", row["status"] or "")
        acc = agg.get(key)
        if acc is None:
            acc = agg[key] = [0, 0, 0.0, None, None, 0, 0.0, None, None]
        acc[0] += 1
        value = row["value"]
        if value is not None:
            _accumulate(acc, 1, value)
        duration = row["duration_ms"]
        if duration is not None:
            _accumulate(acc, 5, duration)
            hkey = (*key, bucket_index(duration))
            hist[hkey] = hist.get(hkey, 0) + 1
    return [(*k, *agg[k]) for k in sorted(agg)], [(*k, n) for k, n in sorted(hist.items())]


def _accumulate(acc: list[Any], at: int, x: float) -> None:
    acc[at] += 1
    acc[at + 1] += x
    if acc[at + 2] is None or x < acc[at + 2]:
        acc[at + 2] = x
    if acc[at + 3] is None or x > acc[at + 3]:
        acc[at + 3] = x


_KEY = "minute, source, type, entity, status"


def _least(table: str, col: str) -> str:
    return (
        f"CASE WHEN excluded.{col} IS NULL THEN {table}.{col} WHEN {table}.{col} IS NULL "
        f"OR excluded.{col} < {table}.{col} THEN excluded.{col} ELSE {table}.{col} END"
    )


def _greatest(table: str, col: str) -> str:
    return _least(table, col).replace("<", ">")


def _rollup_upsert(table: str) -> str:
    """Plain SQL that SQLite (>= 3.24) and PostgreSQL both accept."""
    return (
        f"INSERT INTO {table} ({_KEY}, count, value_count, value_sum, value_min, value_max, "
        "dur_count, dur_sum, dur_min, dur_max) VALUES ({marks}) "
        f"ON CONFLICT ({_KEY}) DO UPDATE SET "
        f"count = {table}.count + excluded.count, "
        f"value_count = {table}.value_count + excluded.value_count, "
        f"value_sum = {table}.value_sum + excluded.value_sum, "
        f"value_min = {_least(table, 'value_min')}, value_max = {_greatest(table, 'value_max')}, "
        f"dur_count = {table}.dur_count + excluded.dur_count, "
        f"dur_sum = {table}.dur_sum + excluded.dur_sum, "
        f"dur_min = {_least(table, 'dur_min')}, dur_max = {_greatest(table, 'dur_max')}"
    )


def _hist_upsert(table: str) -> str:
    return (
        f"INSERT INTO {table} ({_KEY}, bucket, count) VALUES ({{marks}}) "
        f"ON CONFLICT ({_KEY}, bucket) DO UPDATE SET count = {table}.count + excluded.count"
    )


_UPSERTS = {
    "minute": (_rollup_upsert("rollups"), _hist_upsert("rollup_hist")),
    "hour": (_rollup_upsert("rollups_hourly"), _hist_upsert("rollup_hist_hourly")),
}


def hourly(
    agg_rows: list[tuple[Any, ...]], hist_rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Per-minute increments regrouped per hour (same shapes, sorted keys).

    >>> hourly([(60, "s", "t", "", "", 1, 1, 2.0, 2.0, 2.0, 0, 0.0, None, None),
    ...         (120, "s", "t", "", "", 2, 1, 5.0, 5.0, 5.0, 0, 0.0, None, None)], [])[0]
    [(0, 's', 't', '', '', 3, 2, 7.0, 2.0, 5.0, 0, 0.0, None, None)]
    """
    agg: dict[tuple[Any, ...], list[Any]] = {}
    for row in agg_rows:
        key = (row[0] - row[0] % 3600, *row[1:5])
        acc = agg.get(key)
        if acc is None:
            agg[key] = list(row[5:])
            continue
        for at in (0, 1, 2, 5, 6):  # counts and sums
            acc[at] += row[5 + at]
        for at, pick in ((3, min), (4, max), (7, min), (8, max)):
            new = row[5 + at]
            if new is not None:
                acc[at] = new if acc[at] is None else pick(acc[at], new)
    hist: dict[tuple[Any, ...], int] = {}
    for row in hist_rows:
        key = (row[0] - row[0] % 3600, *row[1:6])
        hist[key] = hist.get(key, 0) + row[6]
    return [(*k, *agg[k]) for k in sorted(agg)], [(*k, n) for k, n in sorted(hist.items())]


def update_rollups(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Add ``rows`` to the per-minute and the per-hour rollup tables."""
    _write_rollups(_Cursor(conn), list(rows))


def _write_rollups(cur: _Cursor, rows: list[dict[str, Any]], micros: list[int] | None = None) -> None:
    per_minute = rollup_deltas(rows, micros)
    for tier, (agg_rows, hist_rows) in (("minute", per_minute), ("hour", hourly(*per_minute))):
        rollup_sql, hist_sql = _UPSERTS[tier]
        for sql, values, columns in ((rollup_sql, agg_rows, _ROLLUP_COLUMNS), (hist_sql, hist_rows, _HIST_COLUMNS)):
            if not values:
                continue
            if cur.pg:  # one statement over one JSON document (orjson, not the driver's per-value adaptation)
                names = [name for name, _ in columns]
                shape = ", ".join(f'"{name}" {kind}' for name, kind in columns)
                sql = sql.replace("VALUES ({marks})", f"SELECT * FROM json_to_recordset(%s::json) AS x({shape})")
                cur.execute(sql, (orjson.dumps([dict(zip(names, v)) for v in values]).decode(),))
            else:
                cur.executemany(sql.format(marks=cur.marks(len(columns))), values)


_KEY_COLUMNS = (("minute", "bigint"), ("source", "text"), ("type", "text"), ("entity", "text"), ("status", "text"))
_ROLLUP_COLUMNS = (
    *_KEY_COLUMNS,
    *(("count", "bigint"), ("value_count", "bigint"), ("value_sum", "float8")),
    *(("value_min", "float8"), ("value_max", "float8"), ("dur_count", "bigint")),
    *(("dur_sum", "float8"), ("dur_min", "float8"), ("dur_max", "float8")),
)
_HIST_COLUMNS = (*_KEY_COLUMNS, ("bucket", "integer"), ("count", "bigint"))
