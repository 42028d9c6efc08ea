"""Pulseboard's tables as SQLAlchemy 2.0 typed models.

Timestamps are stored as integer microseconds since the Unix epoch (UTC) and
appear as timezone-aware datetimes in Python: integers compare, index and
bucket the same way on SQLite and PostgreSQL, and read into pandas without
string parsing.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY (an alias of rowid).
BigId = BigInteger().with_variant(Integer, "sqlite")


def to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, tz=timezone.utc).replace(microsecond=value % 1_000_000)


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UTCMicros(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime stored as BIGINT microseconds."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | int | None, dialect: Dialect) -> int | None:
        if value is None or isinstance(value, int):  # already micros (hot paths convert once)
            return value
        return to_micros(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(value)


def _not_null(column: str) -> dict[str, Any]:
    where = text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCMicros}


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Few and partial indexes: each one costs every insert. Long windows read
        # rollups; raw events are read by time, or by session/execution/entity.
        Index("ix_events_ts", "ts"),
        Index("ix_events_entity_ts", "entity", "ts", **_not_null("entity")),
        Index("ix_events_session_ts", "session_id", "ts", **_not_null("session_id")),
        Index("ix_events_execution", "execution_id", **_not_null("execution_id")),
        Index("ix_events_uid", "uid", unique=True, **_not_null("uid")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str | None] = mapped_column(String(200))
    user: Mapped[str | None] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(100))
    execution_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(50))
    value: Mapped[float | None] = mapped_column(Float)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    attrs: Mapped[dict[str, Any] | None]
    uid: Mapped[str | None] = mapped_column(String(100))


class _RollupColumns:
    """Aggregate of events per time bucket and (source, type, entity, status);
    missing entity/status are stored as '' so the key has no NULLs."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    minute: Mapped[int] = mapped_column(BigInteger)  # epoch seconds of the bucket start
    source: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(50))
    count: Mapped[int] = mapped_column(BigInteger)
    value_count: Mapped[int] = mapped_column(BigInteger)
    value_sum: Mapped[float] = mapped_column(Float)
    value_min: Mapped[float | None] = mapped_column(Float)
    value_max: Mapped[float | None] = mapped_column(Float)
    dur_count: Mapped[int] = mapped_column(BigInteger)
    dur_sum: Mapped[float] = mapped_column(Float)
    dur_min: Mapped[float | None] = mapped_column(Float)
    dur_max: Mapped[float | None] = mapped_column(Float)


class _HistColumns:
    """Log-scale histogram of durations per bucket and key (see analytics.histogram)."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    minute: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(50))
    bucket: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(BigInteger)


class Rollup(_RollupColumns, Base):
    """Per minute."""

    __tablename__ = "rollups"
    __table_args__ = (UniqueConstraint("minute", "source", "type", "entity", "status", name="uq_rollups_key"),)


class RollupHourly(_RollupColumns, Base):
    """Per hour (``minute`` holds the hour's start): long windows read 60x fewer rows."""

    __tablename__ = "rollups_hourly"
    __table_args__ = (UniqueConstraint("minute", "source", "type", "entity", "status", name="uq_rollups_hourly_key"),)


class RollupHist(_HistColumns, Base):
    __tablename__ = "rollup_hist"
    __table_args__ = (
        UniqueConstraint("minute", "source", "type", "entity", "status", "bucket", name="uq_rollup_hist_key"),
    )


class RollupHistHourly(_HistColumns, Base):
    __tablename__ = "rollup_hist_hourly"
    __table_args__ = (
        UniqueConstraint("minute", "source", "type", "entity", "status", "bucket", name="uq_rollup_hist_hourly_key"),
    )


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_started", "started_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    user: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    attrs: Mapped[dict[str, Any] | None]


class Execution(Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_script_started", "script", "started_at"),
        Index("ix_executions_started", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    script: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(50))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    attrs: Mapped[dict[str, Any] | None]


class ExecutionMetric(Base):
    __tablename__ = "execution_metrics"
    __table_args__ = (
        UniqueConstraint("execution_id", "name", name="uq_execution_metrics_name"),
        Index("ix_execution_metrics_name", "name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(String(100), ForeignKey("executions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)


class Component(Base):
    __tablename__ = "components"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, typed for insert()/update()/delete()."""
    return cast(Table, model.__table__)


EVENTS = table_of(Event)
ROLLUPS = table_of(Rollup)
ROLLUP_HIST = table_of(RollupHist)
ROLLUPS_HOURLY = table_of(RollupHourly)
ROLLUP_HIST_HOURLY = table_of(RollupHistHourly)
SESSIONS = table_of(Session)
EXECUTIONS = table_of(Execution)
EXECUTION_METRICS = table_of(ExecutionMetric)
COMPONENTS = table_of(Component)
