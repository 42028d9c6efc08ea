"""Retention on PostgreSQL: old events removed by row delete (one events
table, as before migration 0007) beside the same events removed by dropping
day partitions (after it), plus the time migration 0007 takes to convert the
table and what the per-minute rollups weigh beside the events.

    .venv/bin/python bench/partitions.py [--events N] [--days 10] [--keep 4] [--periods]

A throw-away PostgreSQL server is started as the tests start theirs
(``tests/conftest.py`` ``PostgresServer``, fsync off). One database is
migrated to revision 0005 (events in one table) and filled in SQL with
``--events`` events spread evenly over ``--days`` days (a uid on 30 %, the
cardinalities of the query benchmark's data: 5 sources, 10 types, 50
entities, 200 users), with their per-minute rollups and duration histograms.
A copy of it is migrated to 0007 (timed). Then ``jobs.maintenance.purge``,
the retention job's own code, runs on both with ``--keep`` days kept and the
cutoff at noon (on the one table its batched row delete of events, as
``purge`` deletes them), so that on the partitioned copy whole days are dropped and
the day on the cutoff loses its older half row by row (and the uids of the
removed events are deleted from the uid table; on the partitioned copy each
of these steps of ``purge`` is timed on its own): the two removals are
printed with their times and the ratio. Then the rollup rows per day, and the time
the row delete of one day of rollups takes. ``--periods`` adds reads of a
time range and of ``max(id)`` on daily beside weekly partitions of the same
rows (the reason for a day: see docs/partitioning.md).

The default size runs in about a minute here; ``--events 10000000`` gives the
full figure. Benchmarks measure; they do not assert.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from alembic import command
from alembic.config import Config
from common import arg_parser  # puts the repository first on sys.path
from sqlalchemy import text

from analytics.histogram import MAX_BUCKET, MIN_BUCKET, STEPS_PER_OCTAVE
from data import partitions
from data.db import MIGRATIONS, Database
from data.models import EVENTS, ROLLUP_HIST, ROLLUPS, to_micros
from jobs.maintenance import _purge
from tests.conftest import PostgresServer

DAY = 86_400_000_000
START = datetime(2026, 1, 1, tzinfo=timezone.utc)

_EVENTS_SQL = """
INSERT INTO events (ts, source, type, entity, "user", session_id, execution_id, status, value, duration_ms,
                    message, attrs, uid)
SELECT :start + (g::numeric * :span / :n)::bigint,
       'source' || (g % 5), 'type' || (g % 5) || '_' || (g / 5 % 2), 'entity' || (g % 5) || '_' || (g / 7 % 10),
       'user' || (g * 7919 % 200), NULL, NULL,
       CASE WHEN g % 40 = 0 THEN 'error' WHEN g % 25 = 0 THEN 'failed' ELSE 'success' END,
       CASE WHEN g % 20 < 9 THEN (g % 1000)::float8 END,
       CASE WHEN g % 4 > 0 THEN exp(3 + (g * 2654435761 % 1000) / 250.0) END,
       NULL, NULL,
       CASE WHEN g % 10 < 3 THEN 'uid-' || g END
FROM generate_series(0::bigint, :n - 1) AS g
"""
_KEY = "ts / 60000000 * 60, source, type, coalesce(entity, ''), coalesce(status, '')"
_ROLLUPS_SQL = (
    "INSERT INTO rollups (minute, source, type, entity, status, count, value_count, value_sum, value_min, value_max, "
    f"dur_count, dur_sum, dur_min, dur_max) SELECT {_KEY}, count(*), count(value), coalesce(sum(value), 0), "
    "min(value), max(value), count(duration_ms), coalesce(sum(duration_ms), 0), min(duration_ms), max(duration_ms) "
    "FROM events GROUP BY 1, 2, 3, 4, 5"
)
_HIST_SQL = (
    "INSERT INTO rollup_hist (minute, source, type, entity, status, bucket, count) "
    f"SELECT {_KEY}, greatest({MIN_BUCKET}, least({MAX_BUCKET}, floor(log(2, duration_ms::numeric) "
    f"* {STEPS_PER_OCTAVE})::int)), count(*) FROM events WHERE duration_ms > 0 GROUP BY 1, 2, 3, 4, 5, 6"
)


def say(line: str) -> None:
    print(line, flush=True)


def alembic_upgrade(db: Database, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def scalar(db: Database, sql: str) -> Any:
    with db.read() as conn:
        return conn.execute(text(sql)).scalar()


def timed(label: str, work: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - t0
    say(f"  {label}: {elapsed:.2f} s")
    return result, elapsed


def fill(pg: PostgresServer, n: int, days: int) -> dict[str, int]:
    """Database ``bench_single`` at revision 0005 with ``n`` events over ``days``
    days and their rollups; what it holds besides the events."""
    pg.admin("CREATE DATABASE bench_single TEMPLATE template0")
    single = Database(pg.url("bench_single"))
    alembic_upgrade(single, "0005")
    say(f"\n1. {n:,} events over {days} days in one table (revision 0005), with their rollups")
    params = {"start": int(START.timestamp()) * 1_000_000, "span": days * DAY, "n": n}
    with single.write() as conn:
        t0 = time.perf_counter()
        conn.execute(text(_EVENTS_SQL), params)
        conn.execute(text(_ROLLUPS_SQL))
        conn.execute(text(_HIST_SQL))
    say(f"  written in {time.perf_counter() - t0:.1f} s")
    with single.write() as conn:
        conn.execute(text("ANALYZE"))
    held = {
        "rollups": scalar(single, "SELECT count(*) FROM rollups"),
        "keys": scalar(single, "SELECT count(*) FROM (SELECT DISTINCT source, type, entity, status FROM rollups) k"),
        "hist": scalar(single, "SELECT count(*) FROM rollup_hist"),
    }
    single.dispose()
    return held


def convert(pg: PostgresServer, n: int, days: int) -> None:
    """Database ``bench_parts``: a copy of ``bench_single`` migrated to 0007 (timed)."""
    say("\n2. migration 0007 on a copy: the table converted to day partitions")
    pg.admin("CREATE DATABASE bench_parts TEMPLATE bench_single")
    parted = Database(pg.url("bench_parts"))
    _, migration_s = timed(f"upgrade 0005 -> 0007 of {n:,} events", lambda: alembic_upgrade(parted, "0007"))
    with parted.read() as conn:
        made = len(partitions.partitions(conn))
    say(f"  {made} partitions ({days} days and the default one), {n / migration_s:,.0f} events/s")
    parted.dispose()


def retention(pg: PostgresServer, days: int, keep: int) -> tuple[float, float]:
    """``jobs.maintenance.purge`` with ``keep`` days kept on ``bench_single`` (row
    delete) and, step by step, on ``bench_parts`` (partition drop): the two times."""
    now = START + timedelta(days=days, hours=12)
    cutoff = now - timedelta(days=keep)
    say(f"\n3. retention: keep {keep} days, cutoff {cutoff:%Y-%m-%d %H:%M} UTC")
    single, parted = Database(pg.url("bench_single")), Database(pg.url("bench_parts"))
    # purge()'s own batches on the one table (the whole of purge() wants tables of later revisions)
    cut = to_micros(cutoff)
    removed_rows, rows_s = timed("row delete (one table, batches)", lambda: _purge(single, EVENTS, EVENTS.c.ts, cut))
    # the steps of purge() on the partitioned copy, each timed
    say("  partition drop, the steps purge() takes:")
    t0 = time.perf_counter()
    timed("  make the partitions ahead", lambda: partitions.ensure_partitions(parted, now))
    (dropped, in_dropped), _ = timed(
        "  detach and drop whole days", lambda: partitions.drop_partitions_before(parted, cut)
    )
    straddle, _ = timed("  row delete in the day on the cutoff", lambda: _purge(parted, EVENTS, EVENTS.c.ts, cut))
    uids, _ = timed("  forget the uids of the removed events", lambda: partitions.purge_uids(parted, cut))
    parts_s = time.perf_counter() - t0
    removed_parts = in_dropped + straddle
    say(
        f"  partition drop in all: {parts_s:.2f} s ({len(dropped)} partitions with {in_dropped:,} events dropped, "
        f"{straddle:,} rows deleted, {uids:,} uids forgotten)"
    )
    say(f"  events removed: {removed_rows:,} by row delete, {removed_parts:,} by partition drop")
    left = (scalar(single, "SELECT count(*) FROM events"), scalar(parted, "SELECT count(*) FROM events"))
    say(f"  events left: {left[0]:,} and {left[1]:,}")
    say(f"  ratio: partition drop is {rows_s / max(parts_s, 1e-9):.1f}x faster")
    single.dispose()
    parted.dispose()
    return rows_s, parts_s


def rollups_beside_events(pg: PostgresServer, n: int, days: int, held: dict[str, int]) -> None:
    say("\n4. rollups beside events")
    rollups, keys, hist = held["rollups"], held["keys"], held["hist"]
    say(
        f"  per day: {n / days:,.0f} events, {rollups / days:,.0f} per-minute rollup rows, "
        f"{hist / days:,.0f} histogram rows (ratio rollups/events {rollups / n:.3f})"
    )
    say(f"  {keys} rollup keys: whatever the event rate, at most {keys * 1440:,} rollup rows a day")
    single = Database(pg.url("bench_single"))
    first = scalar(single, "SELECT min(minute) FROM rollups")
    one_day = datetime.fromtimestamp(first, tz=timezone.utc) + timedelta(days=1)
    minute = int(one_day.timestamp())
    removed, _ = timed(
        "row delete of one day of rollups and histograms",
        lambda: [_purge(single, table, table.c.minute, minute) for table in (ROLLUPS, ROLLUP_HIST)],
    )
    say(f"  removed {removed[0]:,} rollup and {removed[1]:,} histogram rows")
    single.dispose()


def main() -> None:
    parser = arg_parser(__doc__)
    parser.add_argument("--events", type=int, default=400_000, help="events stored (default 400,000)")
    parser.add_argument("--days", type=int, default=10, help="days they are spread over (default 10)")
    parser.add_argument("--keep", type=int, default=4, help="retention in days (default 4)")
    parser.add_argument("--periods", action="store_true", help="also time reads on day and on week partitions")
    args = parser.parse_args()
    n, days, keep = args.events, args.days, args.keep

    pg = PostgresServer()
    try:
        say("PostgreSQL: starting a throw-away server")
        pg.start()
        held = fill(pg, n, days)
        convert(pg, n, days)
        retention(pg, days, keep)
        rollups_beside_events(pg, n, days, held)
        if args.periods:
            periods(pg)
    finally:
        pg.stop()


def periods(pg: Any, days: int = 38, n: int = 400_000, repeat: int = 60) -> None:
    """Daily beside weekly partitions: plan + run time of a count over 1 h and
    over 24 h, and of ``max(id)`` over all, on two tables of the same rows."""
    import statistics

    say(f"\n5. day or week partitions: {n:,} rows over {days} days, median of {repeat}")
    pg.admin("CREATE DATABASE bench_periods TEMPLATE template0")
    db = Database(pg.url("bench_periods"))
    with db.write() as conn:
        for name, width in (("per_day", 1), ("per_week", 7)):
            conn.execute(
                text(f"CREATE TABLE {name} (id bigint, ts bigint NOT NULL, source text) PARTITION BY RANGE (ts)")
            )
            for i in range((days + width - 1) // width):
                lo, hi = i * width * DAY, (i + 1) * width * DAY
                conn.execute(text(f"CREATE TABLE {name}_{i} PARTITION OF {name} FOR VALUES FROM ({lo}) TO ({hi})"))
            conn.execute(text(f"CREATE TABLE {name}_default PARTITION OF {name} DEFAULT"))
            conn.execute(
                text(
                    f"INSERT INTO {name} SELECT g, g * ({days} * {DAY} / {n}), 's' || g % 5 "
                    f"FROM generate_series(0::bigint, {n} - 1) g"
                )
            )
            conn.execute(text(f"CREATE INDEX ON {name} (ts)"))
            conn.execute(text(f"ALTER TABLE {name} ADD PRIMARY KEY (id, ts)"))
    with db.write() as conn:
        conn.execute(text("ANALYZE"))
    lo = 20 * DAY + 3 * 3_600_000_000
    with db.read() as conn:
        for name in ("per_day", "per_week"):
            sqls = {
                "count over 1 h": f"SELECT ts / 60000000, count(*) FROM {name} "
                f"WHERE ts >= {lo} AND ts < {lo + 3_600_000_000} GROUP BY 1",
                "count over 24 h": f"SELECT ts / 60000000, count(*) FROM {name} WHERE ts >= {lo} AND ts < {lo + DAY} GROUP BY 1",
                "max(id) over all": f"SELECT max(id) FROM {name}",
            }
            for label, sql in sqls.items():
                times = []
                for _ in range(repeat):
                    plan = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).scalar()[0]
                    times.append(plan["Planning Time"] + plan["Execution Time"])
                say(f"  {name}: {label}: {statistics.median(times):.3f} ms (plan + run)")
    db.dispose()


if __name__ == "__main__":
    main()
