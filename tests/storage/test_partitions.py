"""PostgreSQL: migration 0007 turns an events table with data into daily range
partitions and back, keeping every row and rollup; uids stay unique on the
partitioned table; partitions are made ahead and new rows land in them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from data import partitions
from data.db import MIGRATIONS, Database
from data.ingest import event_row, ingest, update_rollups
from data.models import EVENTS, ROLLUP_HIST, ROLLUPS, ROLLUPS_HOURLY
from tests.conftest import wait_until

DAY0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAYS = 5
PER_DAY = 40


def alembic(db: Database, action: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def old_events() -> list[dict[str, Any]]:
    """Events over several days, a third with uids, some on the edges of a day."""
    rows = []
    for day in range(DAYS):
        start = DAY0 + timedelta(days=day)
        for i in range(PER_DAY):
            at = start + timedelta(seconds=i * 2159) if i else start  # the first at midnight, the last near the end
            rows.append(
                event_row(
                    at,
                    "src",
                    "tick",
                    entity=f"e{i % 4}",
                    status="ok" if i % 5 else "error",
                    value=float(i),
                    duration_ms=2.0 * i,
                    uid=f"old-{day}-{i}" if i % 3 == 0 else None,
                )
            )
        rows.append(event_row(start + timedelta(days=1) - timedelta(microseconds=1), "src", "edge", value=1.0))
    return rows


STRAY = datetime(2031, 3, 4, 5, 6, tzinfo=timezone.utc)  # one event years away: one more partition, not a range


@pytest.fixture
def at_0005(postgres: Any) -> Iterator[Database]:
    """A PostgreSQL database at revision 0005 holding events of five days and their rollups."""
    name = postgres.new_database().rsplit("/", 1)[1] + "_p"
    postgres.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    db = Database(postgres.url(name))
    alembic(db, "upgrade", "0005")
    rows = [*old_events(), event_row(STRAY, "src", "stray")]
    with db.write() as conn:
        conn.execute(insert(EVENTS), rows)
        update_rollups(conn, rows)
    try:
        yield db
    finally:
        db.dispose()


def snapshot(db: Database) -> dict[str, Any]:
    with db.read() as conn:
        day = func.floor(EVENTS.c.ts / partitions.DAY_MICROS)
        return {
            "per_day": conn.execute(select(day, func.count()).group_by(day).order_by(day)).all(),
            "events": conn.execute(select(EVENTS).order_by(EVENTS.c.id)).all(),
            **{
                t.name: conn.execute(select(t).order_by(*[c for c in t.c if c.name != "id"])).all()
                for t in (ROLLUPS, ROLLUPS_HOURLY, ROLLUP_HIST)
            },
        }


def where_rows_are(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return dict(conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1")).all())


def test_the_conversion_keeps_every_event_and_rollup_and_puts_each_day_in_its_partition(at_0005: Database) -> None:
    db = at_0005
    before = snapshot(db)
    assert len(before["per_day"]) == DAYS + 1 and before["rollups"]

    alembic(db, "upgrade", "0007")

    assert snapshot(db) == before
    with db.read() as conn:
        assert partitions.is_partitioned(conn)
        names = [p.name for p in partitions.partitions(conn)]
    days = [partitions.partition_name((DAY0 + timedelta(days=d)).date()) for d in range(DAYS)]
    stray = partitions.partition_name(STRAY.date())
    assert names == [*days, stray, partitions.DEFAULT_PARTITION]
    assert where_rows_are(db) == {
        **{f"{partitions.SCHEMA}.{name}": PER_DAY + 1 for name in days},
        f"{partitions.SCHEMA}.{stray}": 1,
    }


def test_a_row_being_written_when_the_migration_starts_is_kept(at_0005: Database) -> None:
    """The migration waits for a writer in progress before it copies (else the
    writer's row, committed after the copy, would be dropped with the old table)."""
    import threading

    db = at_0005
    before = snapshot(db)["per_day"]
    writer = db.engine.connect()
    writer.execute(insert(EVENTS), [event_row(DAY0 + timedelta(days=1, hours=3), "src", "meanwhile")])
    migration = threading.Thread(target=alembic, args=(db, "upgrade", "0007"))
    migration.start()
    try:
        with db.engine.connect() as probe:
            waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            wait_until(lambda: probe.execute(waiting).scalar() == 1, message="the migration to wait for the writer")
        writer.commit()
        migration.join(timeout=60)
    finally:
        writer.close()
    assert not migration.is_alive()
    with db.read() as conn:
        assert partitions.is_partitioned(conn)
        meanwhile = select(func.count()).select_from(EVENTS).where(EVENTS.c.type == "meanwhile")
        assert conn.execute(meanwhile).scalar() == 1
    after = snapshot(db)["per_day"]
    assert [n for _, n in after] == [n + (1 if i == 1 else 0) for i, (_, n) in enumerate(before)]


def test_downgrade_gives_back_one_table_with_the_same_rows(at_0005: Database) -> None:
    db = at_0005
    before = snapshot(db)
    alembic(db, "upgrade", "0007")
    alembic(db, "downgrade", "0005")

    assert snapshot(db) == before
    with db.read() as conn:
        assert not partitions.is_partitioned(conn)
        assert conn.execute(text("SELECT to_regnamespace(:s)"), {"s": partitions.SCHEMA}).scalar() is None
        unique = conn.execute(text("SELECT indisunique FROM pg_index WHERE indexrelid = 'ix_events_uid'::regclass"))
        assert unique.scalar() is True
    # ingest at 0005 idempotent again through the unique index
    with pytest.raises(IntegrityError), db.write() as conn:
        conn.execute(insert(EVENTS), [event_row(DAY0, "src", "dup", uid="old-0-0")])


def test_a_uid_is_stored_once_on_the_partitioned_table(at_0005: Database) -> None:
    db = at_0005
    alembic(db, "upgrade", "0007")
    with db.read() as conn:
        old_id = conn.execute(select(EVENTS.c.id).where(EVENTS.c.uid == "old-2-3")).scalar()
    assert old_id is not None

    now = datetime.now(timezone.utc)
    first = ingest(db, [event_row(now, "api", "click", uid="u-1")])
    # the same uid again: with another ts (a retry without ts), in a big batch (COPY) and a small one
    again = ingest(db, [event_row(now + timedelta(days=2), "api", "click", uid="u-1")])
    big = ingest(
        db,
        [event_row(now - timedelta(days=1), "api", "click", uid="u-1")]
        + [event_row(now, "api", "bulk", uid=f"b-{i}") for i in range(80)]
        + [event_row(DAY0 + timedelta(days=9), "api", "click", uid="old-2-3")],
    )

    assert again.ids == first.ids and again.duplicates == 1 and again.stored == []
    assert big.ids[0] == first.ids[0] and big.ids[-1] == old_id and big.duplicates == 2
    with db.read() as conn:
        count = select(func.count()).select_from(EVENTS)
        assert conn.execute(count.where(EVENTS.c.uid == "u-1")).scalar() == 1
        assert conn.execute(count.where(EVENTS.c.uid == "old-2-3")).scalar() == 1
        assert conn.execute(count.where(EVENTS.c.type == "bulk")).scalar() == 80
    # and the database itself refuses a second row of a uid
    with pytest.raises(IntegrityError), db.write() as conn:
        conn.execute(text(f"INSERT INTO {partitions.UIDS_TABLE} (uid, id, ts) VALUES ('u-1', 0, 0)"))


def test_a_uid_another_process_is_storing_meanwhile_is_stored_once(at_0005: Database) -> None:
    """The uid check cannot see a concurrent transaction's uid: the primary key of
    the uids makes the second writer fail and retry, and the retry finds it."""
    import threading

    from data.ingest import insert_events

    db = at_0005
    alembic(db, "upgrade", "0007")
    other = Database(db.url)  # another process's engine
    now = datetime.now(timezone.utc)
    batch = [event_row(now, "api", "race", uid=f"race-{i}") for i in range(3)]
    try:
        first = other.engine.connect()
        transaction = first.begin()
        first_ids = insert_events(first, batch).ids  # stored, not committed yet
        results: list[Any] = []
        second = threading.Thread(target=lambda: results.append(ingest(db, batch)))
        second.start()
        with db.engine.connect() as probe:
            waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            wait_until(lambda: probe.execute(waiting).scalar() == 1, message="the second writer to wait on a uid")
        transaction.commit()
        first.close()
        second.join(timeout=60)
    finally:
        other.dispose()
    (result,) = results
    assert result.ids == first_ids and result.duplicates == 3 and result.stored == []
    with db.read() as conn:
        rows = conn.execute(select(EVENTS.c.uid, func.count()).where(EVENTS.c.type == "race").group_by(EVENTS.c.uid))
        assert dict(rows.all()) == {f"race-{i}": 1 for i in range(3)}


def test_partitions_are_made_ahead_and_future_rows_land_in_them(at_0005: Database) -> None:
    db = at_0005
    alembic(db, "upgrade", "0007")
    now = datetime(2026, 12, 6, 21, 0, tzinfo=timezone.utc)
    far = now + timedelta(days=30)
    ingest(db, [event_row(far, "api", "early")])  # no partition for that day yet: the default one takes it
    assert where_rows_are(db)[f"{partitions.SCHEMA}.{partitions.DEFAULT_PARTITION}"] == 1

    created = partitions.ensure_partitions(db, now)

    ahead = [partitions.partition_name((now + timedelta(days=d)).date()) for d in range(partitions.AHEAD_DAYS + 1)]
    assert created == ahead
    assert partitions.ensure_partitions(db, now) == []  # once only
    result = ingest(db, [event_row(now + timedelta(days=3, hours=2), "api", "later", uid="later-1")])
    with db.read() as conn:
        home = conn.execute(
            text("SELECT tableoid::regclass::text FROM events WHERE id = :id"), {"id": result.ids[0]}
        ).scalar()
    assert home == f"{partitions.SCHEMA}.{ahead[3]}"

    # making the far day's partition moves its row out of the default partition
    with db.write() as conn:
        assert partitions.create_day_partition(conn, far.date()) == partitions.partition_name(far.date())
    rows = where_rows_are(db)
    assert f"{partitions.SCHEMA}.{partitions.DEFAULT_PARTITION}" not in rows
    assert rows[f"{partitions.SCHEMA}.{partitions.partition_name(far.date())}"] == 1


def test_migrating_makes_the_partitions_of_today_and_the_days_ahead(postgres: Any) -> None:
    db = Database(postgres.new_database())
    try:
        db.migrate()
        with db.read() as conn:
            names = {p.name for p in partitions.partitions(conn)}
        today = datetime.now(timezone.utc).date()
        assert {partitions.partition_name(today + timedelta(days=d)) for d in range(partitions.AHEAD_DAYS + 1)} <= names
        assert partitions.DEFAULT_PARTITION in names
    finally:
        db.dispose()


def test_sqlite_keeps_one_table(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        db.migrate()
        assert partitions.ensure_partitions(db) == []
        assert partitions.drop_partitions_before(db, 0) == ([], 0)
        with db.read() as conn:
            assert not partitions.is_partitioned(conn)
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_events_uid'")).scalar()
        assert "UNIQUE" in sql
    finally:
        db.dispose()


# ------------------------------------------------------------ retention and pruning


@pytest.fixture
def week(postgres: Any) -> Iterator[Database]:
    """A migrated PostgreSQL database with a partition for each of seven days from DAY0."""
    db = Database(postgres.new_database())
    db.migrate()
    with db.write() as conn:
        for d in range(7):
            partitions.create_day_partition(conn, (DAY0 + timedelta(days=d)).date())
    try:
        yield db
    finally:
        db.dispose()


def day_rows(day: int, n: int = 48) -> list[dict[str, Any]]:
    """``n`` events spread over day ``day`` (from DAY0), one every 24h/n, with uids."""
    start = DAY0 + timedelta(days=day)
    step = timedelta(days=1) / n
    return [
        event_row(start + i * step, "src", "tick", entity=f"e{i % 3}", value=1.0, uid=f"d{day}-{i}") for i in range(n)
    ]


def test_retention_drops_the_old_days_and_deletes_rows_only_in_the_day_on_the_cutoff(week: Database) -> None:
    from jobs.maintenance import purge

    db = week
    for day in range(7):
        ingest(db, day_rows(day))
    now = DAY0 + timedelta(days=6, hours=12)  # retention 4 days: the cutoff is day 2 at 12:00
    cutoff = now - timedelta(days=4)

    removed = purge(db, now=now, retention_days=4, rollup_retention_days=400)

    assert removed["events"] == 2 * 48 + 24
    with db.read() as conn:
        children = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'events'::regclass"
                )
            ).scalars()
        )
        gone = [partitions.partition_name((DAY0 + timedelta(days=d)).date()) for d in (0, 1)]
        assert not children & set(gone)
        for name in gone:  # dropped, not only detached
            assert conn.execute(text("SELECT to_regclass(:n)"), {"n": f"{partitions.SCHEMA}.{name}"}).scalar() is None
        assert {partitions.partition_name((DAY0 + timedelta(days=d)).date()) for d in range(2, 7)} <= children
        oldest = conn.execute(select(func.min(EVENTS.c.ts))).scalar()
        assert oldest == cutoff
        assert conn.execute(select(func.count()).select_from(EVENTS)).scalar() == 7 * 48 - removed["events"]
    straddling = f"{partitions.SCHEMA}.{partitions.partition_name((DAY0 + timedelta(days=2)).date())}"
    assert where_rows_are(db)[straddling] == 24
    with db.read() as conn:
        uids = conn.execute(text(f"SELECT count(*), min(ts) FROM {partitions.UIDS_TABLE}")).one()
    assert uids[0] == 7 * 48 - removed["events"]
    assert uids[1] == partitions.day_start((DAY0 + timedelta(days=2)).date()) + 12 * 3_600_000_000
    # a second run finds nothing more to remove
    assert purge(db, now=now, retention_days=4, rollup_retention_days=400)["events"] == 0
    # the uid of a removed event may be stored again; one of a kept event is still a duplicate
    again = ingest(db, [day_rows(0)[0], day_rows(3)[0]])
    assert len(again.stored) == 1 and again.stored[0]["uid"] == "d0-0" and again.duplicates == 1


def scanned(db: Database, read: Any) -> list[set[str]]:
    """The tables each statement of ``read(conn)`` scans, from PostgreSQL's own
    ``EXPLAIN`` of that statement as sent, with its parameters."""
    import sqlalchemy

    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not statement.startswith("EXPLAIN"):
            sent.append((statement, parameters))

    sqlalchemy.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.read() as conn:
            read(conn)
    finally:
        sqlalchemy.event.remove(db.engine, "before_cursor_execute", capture)
    assert sent
    found = []
    with db.read() as conn:
        for statement, parameters in sent:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
            found.append(set(_relations(plan)))
    return found


def _relations(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "Relation Name" in node:
            yield node["Relation Name"]
        for value in node.values():
            yield from _relations(value)
    elif isinstance(node, list):
        for item in node:
            yield from _relations(item)


def test_reads_of_a_time_range_scan_only_its_partitions(week: Database) -> None:
    from core.filters import Filters
    from data import queries
    from reports import overview

    db = week
    for day in range(7):
        ingest(db, day_rows(day))
    with db.write() as conn:
        conn.execute(text("ANALYZE events"))
    since, until = DAY0 + timedelta(days=2, hours=20), DAY0 + timedelta(days=3, hours=6)  # days 2 and 3
    in_range = {partitions.partition_name((DAY0 + timedelta(days=d)).date()) for d in (2, 3)}
    one_day = {partitions.partition_name((DAY0 + timedelta(days=4)).date())}
    src = Filters(source=("src",))

    reads = {
        "explore counts": lambda c: queries.event_counts(c, since=since, until=until, bucket_seconds=60),
        "explore grouped": lambda c: queries.event_counts(
            c, since=since, until=until, bucket_seconds=60, filters=src, group_by="entity"
        ),
        "explore raw events": lambda c: queries.events_frame(c, since=since, until=until, filters=src, limit=1001),
        "overview feed": lambda c: overview.recent_events(c, since=since, until=until, limit=50),
        "overview queued": lambda c: queries.count_with_prefix(
            c, since=since, until=until, filters=src, message_prefix="Cloud sync queued"
        ),
    }
    for name, read in reads.items():
        assert scanned(db, read) == [in_range], name
    inside_one_day = DAY0 + timedelta(days=4, hours=1), DAY0 + timedelta(days=4, hours=2)
    got = scanned(db, lambda c: queries.events_frame(c, since=inside_one_day[0], until=inside_one_day[1]))
    assert got == [one_day]
    # unbounded, every partition (so the plans above did name the partitions they read)
    (everything,) = scanned(db, queries.count_events)
    assert everything >= in_range | one_day | {partitions.DEFAULT_PARTITION}
    # the results are those of the range
    with db.read() as conn:
        counts = queries.event_counts(conn, since=since, until=until, bucket_seconds=3600)
    assert int(counts["count"].sum()) == 20  # 10 hours at two events an hour
