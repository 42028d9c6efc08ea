"""partitioned events: on PostgreSQL, events partitioned by day on ts

On PostgreSQL ``events`` becomes ``PARTITION BY RANGE (ts)`` with one
partition per UTC day holding rows (in the schema ``event_partitions``) and a
default partition; the rows are copied with one ``INSERT ... SELECT`` (the
migration's transaction holds the table anyway). The primary key becomes
``(id, ts)``: a partitioned table's unique keys must contain the partition
key; ids still come from the one sequence, so ``id`` stays unique. The unique
uid index cannot contain ts (a uid does not imply its ts), so the uids move
to ``event_partitions.uids`` (uid primary key), which ingest writes with the
events. SQLite: nothing changes.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 21:50:00
"""
from __future__ import annotations

from datetime import date, timedelta

from alembic import op
from sqlalchemy import text

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

SCHEMA = "event_partitions"
DAY = 86_400_000_000
MAX_DAYS = 1000  # partitions made for at most the newest days holding rows; older rows go to the default partition

INDEXES = (
    "CREATE INDEX ix_events_ts ON events (ts)",
    "CREATE INDEX ix_events_entity_ts ON events (entity, ts) WHERE entity IS NOT NULL",
    "CREATE INDEX ix_events_session_ts ON events (session_id, ts) WHERE session_id IS NOT NULL",
    "CREATE INDEX ix_events_execution ON events (execution_id) WHERE execution_id IS NOT NULL",
)


def _day_name(day_number: int) -> str:
    return f"events_{date(1970, 1, 1) + timedelta(days=day_number):%Y%m%d}"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Writers wait until the new table is in place (a row written meanwhile to the old table would be
    # dropped with it); plain reads go on until the old table is dropped.
    op.execute("LOCK TABLE events IN EXCLUSIVE MODE")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.execute("CREATE TABLE events_partitioned (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (ts)")
    # The days that hold rows, one index probe per day (a stray timestamp far away adds one day, not a range).
    days = bind.execute(
        text(
            f"WITH RECURSIVE d(day) AS (SELECT min(ts) / {DAY} FROM events UNION ALL "
            f"SELECT (SELECT min(ts) FROM events WHERE ts >= (d.day + 1) * {DAY}) / {DAY} FROM d "
            "WHERE d.day IS NOT NULL) SELECT day FROM d WHERE day IS NOT NULL"
        )
    ).scalars().all()
    for day in sorted(int(d) for d in days if d >= 0)[-MAX_DAYS:]:
        op.execute(
            f"CREATE TABLE {SCHEMA}.{_day_name(day)} PARTITION OF events_partitioned "
            f"FOR VALUES FROM ({day * DAY}) TO ({(day + 1) * DAY})"
        )
    op.execute(f"CREATE TABLE {SCHEMA}.events_default PARTITION OF events_partitioned DEFAULT")
    op.execute("INSERT INTO events_partitioned SELECT * FROM events")
    op.execute(
        f"CREATE TABLE {SCHEMA}.uids (uid varchar(100) PRIMARY KEY, id bigint NOT NULL, ts bigint NOT NULL)"
    )
    op.execute(f"INSERT INTO {SCHEMA}.uids (uid, id, ts) SELECT uid, id, ts FROM events WHERE uid IS NOT NULL")
    op.execute(f"CREATE INDEX ix_uids_ts ON {SCHEMA}.uids (ts)")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events_partitioned.id")
    op.execute("DROP TABLE events")
    op.execute("ALTER TABLE events_partitioned RENAME TO events")
    op.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id, ts)")
    for ddl in INDEXES:
        op.execute(ddl)
    op.execute("ANALYZE events")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("LOCK TABLE events IN EXCLUSIVE MODE")
    op.execute("CREATE TABLE events_single (LIKE events INCLUDING DEFAULTS)")
    op.execute("INSERT INTO events_single SELECT * FROM events")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events_single.id")
    op.execute("DROP TABLE events")  # and its partitions
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")  # the uids: events.uid holds them
    op.execute("ALTER TABLE events_single RENAME TO events")
    op.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id)")
    for ddl in INDEXES:
        op.execute(ddl)
    op.execute("CREATE UNIQUE INDEX ix_events_uid ON events (uid) WHERE uid IS NOT NULL")
    op.execute("ANALYZE events")
