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
    Boolean,
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
    ttl_seconds: Mapped[float | None] = mapped_column(
        Float
    )  # offline when silent longer (default: the component_ttl setting)


# --- alerts (#6): rules, their alert instances, notifications sent, silences ---


class AlertRule(Base):
    """A rule; ``spec`` holds the validated rule (see alerts.rules.Rule) as JSON."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(20), default="api")  # api | file | default
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Alert(Base):
    """One alert instance: a rule's series (fingerprint = rule + labels) from
    pending through firing to resolved. A new instance starts after resolve."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state", "state"),
        Index("ix_alerts_fingerprint", "fingerprint", "started_at"),
        Index("ix_alerts_rule", "rule_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    labels: Mapped[dict[str, Any] | None]
    severity: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))  # pending | firing | resolved | normal (went back before firing)
    value: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]  # first evaluation that matched (pending since)
    fired_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    last_match_at: Mapped[datetime | None]  # last evaluation whose condition held (keep-firing-for counts from it)
    last_eval_at: Mapped[datetime | None]
    last_notified_at: Mapped[datetime | None]
    notifications: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))


class AlertNotification(Base):
    """A notification sent (or tried) for an alert: one row per target and kind."""

    __tablename__ = "alert_notifications"
    __table_args__ = (Index("ix_alert_notifications_alert", "alert_id"), Index("ix_alert_notifications_ts", "ts"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigId, ForeignKey("alerts.id", ondelete="CASCADE"))
    ts: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))  # firing | repeat | resolved
    target: Mapped[str] = mapped_column(String(500))  # live | log | webhook URL
    ok: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)


class Silence(Base):
    """Mutes notifications of matching alerts between two instants (a silence or a
    maintenance window). ``matchers`` maps ``rule`` and/or label names to values."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_ends", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    matchers: Mapped[dict[str, Any]]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


# --- scheduled exports (#8) ---


class ExportSchedule(Base):
    """A saved Explore query written to CSV on a cron expression or an interval."""

    __tablename__ = "export_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(
        String(100), unique=True
    )  # its folder under the exports directory; kept on rename
    query: Mapped[dict[str, Any]]  # the Explore query's parameters
    cron: Mapped[str | None] = mapped_column(String(100))
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    keep: Mapped[int] = mapped_column(Integer, default=10)  # files kept for this schedule
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    next_run_at: Mapped[datetime | None]
    last_file: Mapped[str | None] = mapped_column(String(500))
    last_rows: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A report: each run also mails the page (PDF), the period's summary and the CSV to these addresses.
    recipients: Mapped[list[str] | None] = mapped_column(JSON)
    page: Mapped[str | None] = mapped_column(String(2000))  # the page printed (default: the query's Explore view)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # title, paper, orientation, theme


# --- dashboard users (#9) ---


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # viewer | admin
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # Signed into each session cookie; bumped on sign-out, disable, role and password changes.
    session_gen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# --- boards: user-built dashboards, their versions, stars, share links, annotations ---


class BoardRow(Base):
    """A board; ``body`` is the JSON text of the whole board document (core.boards.Board).
    ``title`` and ``tags`` repeat fields of the body, for lists and filters."""

    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(100))  # the user who created it; None: no one (API key, file)
    tags: Mapped[list[str]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    provisioned: Mapped[bool] = mapped_column(Boolean, default=False)  # from a file of the boards directory: read-only
    source_file: Mapped[str | None] = mapped_column(String(500))  # that file
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BoardVersion(Base):
    """Every saved state of a board, version 1 (created) onwards."""

    __tablename__ = "board_versions"
    __table_args__ = (UniqueConstraint("board_id", "version", name="uq_board_versions_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    board_id: Mapped[int] = mapped_column(Integer, ForeignKey("boards.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class BoardStar(Base):
    __tablename__ = "board_stars"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    board_id: Mapped[int] = mapped_column(Integer, ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)


class BoardShare(Base):
    """A read-only link to a board: its token, until revoked."""

    __tablename__ = "board_shares"
    __table_args__ = (Index("ix_board_shares_board", "board_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(100), unique=True)
    board_id: Mapped[int] = mapped_column(Integer, ForeignKey("boards.id", ondelete="CASCADE"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Annotation(Base):
    """A note on a moment or a span of time, on one board (``board_id``) or on all of them (None)."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_ts", "ts"), Index("ix_annotations_board_ts", "board_id", "ts"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    board_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("boards.id", ondelete="CASCADE"))
    ts: Mapped[datetime]
    ts_end: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    author: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


# --- outbox of messages to people (e-mail) ---


class OutboxMessage(Base):
    """A message waiting to be sent, being sent, sent or given up on.

    ``dedupe_key`` (e.g. ``alert:12:firing:ops@example.com``) is unique, so a
    message is never queued twice; ``claimed_at`` is when a sender took it
    (state ``sending``), so one left behind by a crash can be taken back."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"), Index("ix_outbox_created", "created"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20))  # email
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # [{filename, mime, content_id?, data (base64)}]; a content_id makes it inline in the HTML part
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    state: Mapped[str] = mapped_column(String(20))  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime]
    sent_at: Mapped[datetime | None]


# --- API rate limits shared by every node (--rate-limit-storage database) ---


class RateLimit(Base):
    """A fixed-window counter per limited client: hits in the window ending at ``expires_at``."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


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
ALERT_RULES = table_of(AlertRule)
ALERTS = table_of(Alert)
ALERT_NOTIFICATIONS = table_of(AlertNotification)
SILENCES = table_of(Silence)
EXPORT_SCHEDULES = table_of(ExportSchedule)
USERS = table_of(User)
BOARDS = table_of(BoardRow)
BOARD_VERSIONS = table_of(BoardVersion)
BOARD_STARS = table_of(BoardStar)
BOARD_SHARES = table_of(BoardShare)
ANNOTATIONS = table_of(Annotation)
OUTBOX = table_of(OutboxMessage)
RATE_LIMITS = table_of(RateLimit)
