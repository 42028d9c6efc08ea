"""Reads: the only place that turns SQL into Python rows and DataFrames.

Frames follow the conventions of ``analytics/``: ``ts`` columns are
``datetime64[us, UTC]``; rollup ``minute`` likewise; missing strings are None.
Long windows read the per-minute rollups, short tails and drill-downs the raw
events, always bounded by a time range or a row limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import BigInteger, Connection, Select, and_, case, func, or_, select, type_coerce

from core.filters import DIMENSIONS as DIMENSIONS  # re-exported: every query speaks of them
from core.filters import ROLLUP_DIMENSIONS as ROLLUP_DIMENSIONS
from core.filters import Filters as Filters
from data.models import (
    COMPONENTS,
    EVENTS,
    EXECUTION_METRICS,
    EXECUTIONS,
    ROLLUP_HIST,
    ROLLUP_HIST_HOURLY,
    ROLLUPS,
    ROLLUPS_HOURLY,
    SESSIONS,
    from_micros,
    to_micros,
)

events_table = EVENTS
EVENT_FIELDS = (
    "id",
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
)


def _where(stmt: Select[Any], table: Any, filters: Filters) -> Select[Any]:
    for name, values in filters.items():
        col = table.c[name]
        # "" asks for the events without this dimension: rollups keep it as "", events may hold null.
        stmt = stmt.where(or_(col.in_(values), col.is_(None)) if "" in values else col.in_(values))
    if filters.exclude_source:
        stmt = stmt.where(table.c.source.not_in(filters.exclude_source))
    return stmt


def _frame(conn: Connection, stmt: Any, columns: list[str]) -> pd.DataFrame:
    """Rows into a frame, as plain tuples: pandas probes each SQLAlchemy Row
    with hasattr, which raises inside the Row, and costs 8x on large reads."""
    return pd.DataFrame.from_records([tuple(r) for r in conn.execute(stmt)], columns=columns)


def _micros(col: Any) -> Any:
    return type_coerce(col, BigInteger)


def _ts(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series.astype("int64"), unit="us", utc=True)


def event_counts(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    bucket_seconds: int,
    filters: Filters = Filters(),
    group_by: str | None = None,
) -> pd.DataFrame:
    """Events per ``bucket_seconds`` bucket (aligned to the epoch) in
    ``[since, until)``, counted by the database: ``bucket`` (UTC), ``group``
    (with ``group_by``, a column of events) and ``count``. For buckets shorter
    than the rollups' minute: however many events match, only the counts
    travel."""
    t = EVENTS
    width = bucket_seconds * 1_000_000
    bucket = (_micros(t.c.ts).op("/")(width)).label("b")
    cols: list[Any] = (
        [bucket] + ([func.coalesce(t.c[group_by], "").label("g")] if group_by else []) + [func.count().label("n")]
    )
    stmt = _where(select(*cols), t, filters).where(t.c.ts >= to_micros(since), t.c.ts < to_micros(until))
    stmt = stmt.group_by("b", *(["g"] if group_by else []))
    names = ["bucket"] + (["group"] if group_by else []) + ["count"]
    df = _frame(conn, stmt, names)
    df["bucket"] = (
        pd.to_datetime(df["bucket"].astype("int64") * width, unit="us", utc=True)
        if len(df)
        else pd.Series([], dtype="datetime64[us, UTC]")
    )
    return df


def events_frame(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    filters: Filters = Filters(),
    limit: int | None = None,
    after_id: int | None = None,
    newest_first: bool = False,
    with_attrs: bool = True,
    exclude_types: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Raw events in ``[since, until)``, oldest first unless ``newest_first``;
    none of the ``exclude_types``."""
    t = EVENTS
    cols = [t.c.id, _micros(t.c.ts).label("ts"), *(t.c[n] for n in EVENT_FIELDS[2:] if n != "attrs" or with_attrs)]
    stmt = _where(select(*cols), t, filters)
    if exclude_types:
        stmt = stmt.where(t.c.type.not_in(exclude_types))
    if since is not None:
        stmt = stmt.where(t.c.ts >= to_micros(since))
    if until is not None:
        stmt = stmt.where(t.c.ts < to_micros(until))
    if after_id is not None:
        stmt = stmt.where(t.c.id > after_id)
    order: tuple[Any, ...] = (t.c.ts.desc(), t.c.id.desc()) if newest_first else (t.c.ts, t.c.id)
    if after_id is not None:  # a tail follows ids, not timestamps
        order = (t.c.id,)
    stmt = stmt.order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit)
    names = [c for c in EVENT_FIELDS if c != "attrs" or with_attrs]
    df = _frame(conn, stmt, names)
    df["ts"] = _ts(df["ts"]) if len(df) else pd.Series([], dtype="datetime64[us, UTC]")
    for col in ("value", "duration_ms"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["id"] = df["id"].astype("int64")
    return df


def distinct_values(conn: Connection, column: str, *, limit: int = 500, filters: Filters = Filters()) -> list[str]:
    """Known values of a dimension (from rollups when it has them: cheap)."""
    t = ROLLUPS if column in ROLLUP_DIMENSIONS and filters.rollup_compatible else EVENTS
    col = t.c[column]
    stmt = _where(select(col), t, filters)
    stmt = stmt.where(col.is_not(None), col != "").group_by(col).order_by(col).limit(limit)
    return [r[0] for r in conn.execute(stmt)]


def count_events(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(EVENTS)).scalar() or 0)


def count_with_prefix(
    conn: Connection, *, since: datetime, until: datetime, filters: Filters, message_prefix: str
) -> int:
    """How many events in ``[since, until)`` match ``filters`` and have a message
    starting with ``message_prefix``."""
    t = EVENTS
    escaped = message_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = _where(select(func.count()).select_from(t), t, filters).where(
        t.c.ts >= to_micros(since), t.c.ts < to_micros(until), t.c.message.like(escaped + "%", escape="\\")
    )
    return int(conn.execute(stmt).scalar_one())


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(EVENTS.c.id))).scalar() or 0)


def latest_value(conn: Connection, *, type_: str, source: str | None = None) -> tuple[float | None, datetime | None]:
    """The newest ``value`` of a gauge-like event type (e.g. a queue size)."""
    t = EVENTS
    stmt = select(t.c.value, t.c.ts).where(t.c.type == type_, t.c.value.is_not(None))
    if source:
        stmt = stmt.where(t.c.source == source)
    row = conn.execute(stmt.order_by(t.c.ts.desc(), t.c.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


# ------------------------------------------------------------ sessions


def session_user(conn: Connection, session_id: str) -> str | None:
    return conn.execute(select(SESSIONS.c.user).where(SESSIONS.c.id == session_id)).scalar()


def get_session(conn: Connection, session_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(SESSIONS).where(SESSIONS.c.id == session_id)).mappings().first()
    return dict(row) if row else None


def list_sessions(
    conn: Connection,
    *,
    limit: int = 100,
    open_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Sessions newest first; ``since``/``until`` bound when they started."""
    stmt = select(SESSIONS)
    if open_only:
        stmt = stmt.where(SESSIONS.c.ended_at.is_(None))
    if since is not None:
        stmt = stmt.where(SESSIONS.c.started_at >= to_micros(since))
    if until is not None:
        stmt = stmt.where(SESSIONS.c.started_at < to_micros(until))
    stmt = stmt.order_by(SESSIONS.c.started_at.desc()).limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def count_open_sessions(conn: Connection) -> int:
    stmt = select(func.count()).select_from(SESSIONS).where(SESSIONS.c.ended_at.is_(None))
    return int(conn.execute(stmt).scalar() or 0)


# ---------------------------------------------------------- executions


def executions_frame(
    conn: Connection,
    *,
    script: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    newest_first: bool = True,
    metric: str | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Runs, newest first; with ``metric``, only runs that report that named
    metric; ``since``/``until`` bound when they started."""
    t = EXECUTIONS
    cols = [
        t.c.id,
        t.c.script,
        t.c.source,
        _micros(t.c.started_at).label("started_at"),
        _micros(t.c.finished_at).label("finished_at"),
        t.c.duration_ms,
        t.c.status,
        t.c.exit_code,
        t.c.attempt,
    ]
    stmt = select(*cols)
    if script:
        stmt = stmt.where(t.c.script == script)
    if status:
        stmt = stmt.where(t.c.status == status)
    if since is not None:
        stmt = stmt.where(t.c.started_at >= to_micros(since))
    if until is not None:
        stmt = stmt.where(t.c.started_at < to_micros(until))
    if metric:
        m = EXECUTION_METRICS
        stmt = stmt.where(t.c.id.in_(select(m.c.execution_id).where(m.c.name == metric)))
    stmt = stmt.order_by(t.c.started_at.desc() if newest_first else t.c.started_at, t.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    df = _frame(conn, stmt, [c.name for c in cols])
    for col in ("started_at", "finished_at"):
        df[col] = (
            pd.to_datetime(df[col].astype("Int64"), unit="us", utc=True)
            if len(df)
            else pd.Series([], dtype="datetime64[us, UTC]")
        )
    df["duration_ms"] = pd.to_numeric(df["duration_ms"], errors="coerce").astype("float64")
    return df


def metrics_frame(
    conn: Connection,
    *,
    script: str | None = None,
    name: str | None = None,
    since: datetime | None = None,
    execution_ids: list[str] | None = None,
    limit: int | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Named execution metrics joined with their run: execution_id, script, started_at, name, value."""
    m, e = EXECUTION_METRICS, EXECUTIONS
    stmt = select(m.c.execution_id, e.c.script, _micros(e.c.started_at).label("started_at"), m.c.name, m.c.value).join(
        e, e.c.id == m.c.execution_id
    )
    if script:
        stmt = stmt.where(e.c.script == script)
    if name:
        stmt = stmt.where(m.c.name == name)
    if since is not None:
        stmt = stmt.where(e.c.started_at >= to_micros(since))
    if until is not None:
        stmt = stmt.where(e.c.started_at < to_micros(until))
    if execution_ids is not None:
        stmt = stmt.where(m.c.execution_id.in_(execution_ids))
    stmt = stmt.order_by(e.c.started_at.desc(), m.c.name)
    if limit is not None:
        stmt = stmt.limit(limit)
    df = _frame(conn, stmt, ["execution_id", "script", "started_at", "name", "value"])
    df["started_at"] = _ts(df["started_at"]) if len(df) else pd.Series([], dtype="datetime64[us, UTC]")
    df["value"] = df["value"].astype("float64")
    return df.iloc[::-1].reset_index(drop=True)


def get_execution(conn: Connection, execution_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(EXECUTIONS).where(EXECUTIONS.c.id == execution_id)).mappings().first()
    return dict(row) if row else None


def neighbour_executions(conn: Connection, row: dict[str, Any]) -> tuple[str | None, str | None]:
    """Ids of the previous and next run of the same script."""
    t = EXECUTIONS
    same = t.c.script == row["script"]
    at = to_micros(row["started_at"])
    before = or_(t.c.started_at < at, and_(t.c.started_at == at, t.c.id < row["id"]))
    after = or_(t.c.started_at > at, and_(t.c.started_at == at, t.c.id > row["id"]))
    prev_id = conn.execute(
        select(t.c.id).where(same, before).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(1)
    ).scalar()
    next_id = conn.execute(select(t.c.id).where(same, after).order_by(t.c.started_at, t.c.id).limit(1)).scalar()
    return prev_id, next_id


def scripts_summary(conn: Connection) -> list[dict[str, Any]]:
    t = EXECUTIONS
    stmt = (
        select(
            t.c.script,
            func.count().label("executions"),
            func.max(_micros(t.c.started_at)).label("last_run"),
            func.avg(t.c.duration_ms).label("avg_duration_ms"),
            func.sum(case((t.c.status.in_(("failed", "error", "timeout")), 1), else_=0)).label("failures"),
        )
        .group_by(t.c.script)
        .order_by(t.c.script)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def table_counts(conn: Connection) -> dict[str, int]:
    out = {}
    for name, table in (
        ("events", EVENTS),
        ("executions", EXECUTIONS),
        ("metrics", EXECUTION_METRICS),
        ("sessions", SESSIONS),
        ("components", COMPONENTS),
        ("rollups", ROLLUPS),
    ):
        out[name] = int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
    return out


def time_span(conn: Connection) -> tuple[datetime | None, datetime | None]:
    row = conn.execute(select(func.min(_micros(EVENTS.c.ts)), func.max(_micros(EVENTS.c.ts)))).first()
    if not row or row[0] is None:
        return None, None
    return from_micros(int(row[0])), from_micros(int(row[1]))


def first_event_time(conn: Connection) -> datetime | None:
    """The oldest stored event's time (an index lookup, unlike :func:`time_span`)."""
    first = conn.execute(select(EVENTS.c.ts).order_by(EVENTS.c.ts).limit(1)).scalar()
    return first if first is None or isinstance(first, datetime) else from_micros(int(first))


def list_components(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(COMPONENTS).order_by(COMPONENTS.c.name)).mappings()]


def component_reports(conn: Connection, name: str, since: datetime, until: datetime) -> list[tuple[datetime, str]]:
    """A component's state reports in ``[since, until)``, preceded by the last
    one before ``since`` (the state the window starts in), oldest first."""
    t = EVENTS
    ts = _micros(t.c.ts)  # plain integers: a month of heartbeats is tens of thousands of rows
    mine = and_(t.c.entity == name, t.c.type == "component", t.c.status.is_not(None))
    lo, hi = to_micros(since), to_micros(until)
    before = conn.execute(select(ts, t.c.status).where(mine, ts < lo).order_by(ts.desc()).limit(1)).first()
    rows = conn.execute(select(ts, t.c.status).where(mine, ts >= lo, ts < hi).order_by(ts, t.c.id)).all()
    return [(from_micros(int(r[0])), r[1]) for r in [*([before] if before else []), *rows]]


ROLLUP_SUMS = ("count", "value_count", "value_sum", "dur_count", "dur_sum")
ROLLUP_COLUMNS = (*ROLLUP_SUMS, "value_min", "value_max", "dur_min", "dur_max")
_AGGREGATE: dict[str, Any] = dict.fromkeys(ROLLUP_SUMS, func.sum) | {
    "value_min": func.min,
    "value_max": func.max,
    "dur_min": func.min,
    "dur_max": func.max,
}


def rollup_parts(
    since: datetime, until: datetime, bucket_seconds: int | None, bucket_offset: int
) -> list[tuple[Any, int, float]]:
    """Which rollup table answers which part of ``[since, until)``: whole hours
    from the hourly table (60x fewer rows) when the buckets are whole hours,
    the ragged ends from the per-minute one. ``(table, lo, hi)`` bound ``minute``.

    >>> from datetime import timezone
    >>> t = lambda h, m: datetime(2026, 1, 1, h, m, tzinfo=timezone.utc)
    >>> [(p[0].name, p[1] % 86400, p[2] % 86400) for p in rollup_parts(t(9, 30), t(12, 10), None, 0)]
    [('rollups', 34200, 36000.0), ('rollups_hourly', 36000, 43200.0), ('rollups', 43200, 43800.0)]
    """
    lo = int(since.timestamp()) // 60 * 60
    hi = until.timestamp()
    hourly_ok = bucket_seconds is None or (bucket_seconds % 3600 == 0 and bucket_offset % 3600 == 0)
    first_hour, last_hour = -(-lo // 3600) * 3600, int(hi // 3600) * 3600
    if not hourly_ok or first_hour >= last_hour:
        return [(ROLLUPS, lo, hi)]
    parts: list[tuple[Any, int, float]] = [(ROLLUPS_HOURLY, first_hour, float(last_hour))]
    if lo < first_hour:
        parts.insert(0, (ROLLUPS, lo, float(first_hour)))
    if last_hour < hi:
        parts.append((ROLLUPS, last_hour, hi))
    return parts


def rollup_totals(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    filters: Filters = Filters(),
    group_by: tuple[str, ...] = (),
    bucket_seconds: int | None = None,
    bucket_offset: int = 0,
    columns: tuple[str, ...] = ROLLUP_COLUMNS,
) -> pd.DataFrame:
    """Sums (and min/max) of rollups grouped in SQL by dimensions and, with
    ``bucket_seconds`` (a multiple of 60), by time bucket (column ``bucket``;
    buckets start at multiples of the size plus ``bucket_offset`` seconds).
    ``columns`` limits the aggregates computed (``("count",)`` is 2.5x cheaper)."""
    keys_named = (["bucket"] if bucket_seconds else []) + list(group_by)
    names = keys_named + list(columns)
    frames = []
    for table, lo, hi in rollup_parts(since, until, bucket_seconds, bucket_offset):
        t = table
        keys: list[Any] = [t.c[g] for g in group_by]
        if bucket_seconds:
            keys.insert(0, _time_bucket(t, bucket_seconds, bucket_offset).label("bucket"))
        aggs = [_AGGREGATE[c](t.c[c]).label(c) for c in columns]
        stmt = _where(select(*keys, *aggs), t, filters).where(t.c.minute >= lo, t.c.minute < hi)
        if keys:
            stmt = stmt.group_by(*keys).order_by(*keys)
        part = _frame(conn, stmt, names)
        if keys or (len(part) and not part[columns[0]].isna().all()):
            frames.append(part)
    df = _merge_parts(frames, keys_named, columns)
    for c in ROLLUP_SUMS:
        if c in df:
            df[c] = pd.to_numeric(df[c]).fillna(0)
    for c in ("count", "value_count", "dur_count"):
        if c in df:  # PostgreSQL sums integers as NUMERIC (Decimal, read as float): counts stay integers.
            df[c] = df[c].astype("int64")
    if bucket_seconds:
        df["bucket"] = pd.to_datetime(df["bucket"].astype("int64"), unit="s", utc=True).astype("datetime64[us, UTC]")
    return df


def _merge_parts(frames: list[pd.DataFrame], keys: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
    """Combine the per-table parts of one rollup query."""
    if not frames:
        return pd.DataFrame(columns=[*keys, *columns])
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    both = pd.concat(frames, ignore_index=True)
    for c in columns:
        both[c] = pd.to_numeric(both[c])
    how = {c: ("min" if c.endswith("_min") else "max" if c.endswith("_max") else "sum") for c in columns}
    if not keys:
        return both.agg(how).to_frame().T
    return both.groupby(keys, sort=True, dropna=False).agg(how).reset_index()


def _time_bucket(t: Any, size: int, offset: int) -> Any:
    return t.c.minute - (t.c.minute - offset) % size


def hist_totals(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    filters: Filters = Filters(),
    group_by: tuple[str, ...] = (),
    bucket_seconds: int | None = None,
    bucket_offset: int = 0,
) -> pd.DataFrame:
    """Duration histogram counts per histogram ``bucket`` (and dimensions,
    and with ``bucket_seconds`` per time bucket in column ``time``)."""
    names = (["time"] if bucket_seconds else []) + [*group_by, "bucket", "count"]
    frames = []
    for table, lo, hi in rollup_parts(since, until, bucket_seconds, bucket_offset):
        t = ROLLUP_HIST_HOURLY if table is ROLLUPS_HOURLY else ROLLUP_HIST
        keys: list[Any] = [t.c[g] for g in group_by] + [t.c.bucket]
        if bucket_seconds:
            keys.insert(0, _time_bucket(t, bucket_seconds, bucket_offset).label("time"))
        stmt = _where(select(*keys, func.sum(t.c.count).label("count")), t, filters)
        stmt = stmt.where(t.c.minute >= lo, t.c.minute < hi).group_by(*keys).order_by(*keys)
        frames.append(_frame(conn, stmt, names))
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    df["count"] = pd.to_numeric(df["count"]).astype("int64")
    if len(frames) > 1:
        df = df.groupby(names[:-1], sort=True).agg({"count": "sum"}).reset_index()
    if bucket_seconds:
        df["time"] = pd.to_datetime(df["time"].astype("int64"), unit="s", utc=True).astype("datetime64[us, UTC]")
    return df


def active_users(conn: Connection, *, since: datetime, filters: Filters = Filters(), limit: int = 1000) -> list[str]:
    t = EVENTS
    stmt = _where(select(t.c.user).distinct(), t, filters).where(t.c.ts >= to_micros(since), t.c.user.is_not(None))
    return sorted(r[0] for r in conn.execute(stmt.limit(limit)))


def count_active_users(conn: Connection, *, since: datetime, filters: Filters = Filters()) -> int:
    """How many distinct users sent events since ``since`` (no cap, unlike the list)."""
    t = EVENTS
    stmt = _where(select(func.count(t.c.user.distinct())), t, filters).where(
        t.c.ts >= to_micros(since), t.c.user.is_not(None)
    )
    return int(conn.execute(stmt).scalar() or 0)


_LIVE_COLUMNS = (
    "id",
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
)


def live_rows(conn: Connection, *, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Events after an id, in id order, as the live feed sends them (plain
    dicts, ISO timestamps): the tail's read, kept free of pandas because it
    runs after every commit while anyone is listening."""
    t = EVENTS
    cols = [t.c[c] if c != "ts" else _micros(t.c.ts).label("ts") for c in _LIVE_COLUMNS]
    stmt = select(*cols).where(t.c.id > after_id).order_by(t.c.id).limit(limit)
    out = []
    for row in conn.execute(stmt):
        event = dict(zip(_LIVE_COLUMNS, row))
        event["ts"] = event["timestamp"] = from_micros(int(event["ts"])).isoformat()
        event["context"] = event["attrs"]
        out.append(event)
    return out
