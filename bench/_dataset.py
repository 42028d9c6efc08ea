"""A large, realistic Pulseboard SQLite database for the query benchmarks.

The file has the real schema (``data.db.Database(url).migrate()``). Events are
generated with numpy and written with ``sqlite3.executemany`` in large
transactions (no HTTP, no ORM), the event indexes dropped meanwhile and
created again from their own DDL. The per-minute rollups and duration histograms
are computed in SQL from the stored events, with the semantics of
``data.ingest.rollup_deltas`` (key ``(minute, source, type, entity or '',
status or '')``, histogram bucket ``analytics.histogram.bucket_index``), and
checked against ``rollup_deltas`` on a sample of minutes read back from the
file.

The built file is cached: it is written under a temporary name, renamed when
complete, and described by a sidecar ``<db>.json`` holding the parameters;
a later run reuses it when the sidecar matches.

Shape of the data (7 days by default, daily and weekly seasonality):
5 sources, each with 2 event types and 10 entities of its own (50 entities,
10 types), 200 users (skewed), statuses mostly ``success`` with some
``failed``/``error``/``timeout`` and a few missing, ``value`` on ~45 % of
events, ``duration_ms`` (log-normal) on ~75 %, sessions on the macro source,
execution ids on the scripts source, a client ``uid`` on 30 % of events,
``attrs`` on 2 %, a message on failures.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import common  # noqa: F401  (importing it puts the repository on sys.path)
import numpy as np

from analytics.histogram import MAX_BUCKET, MIN_BUCKET, STEPS_PER_OCTAVE
from data.db import Database
from data.ingest import rollup_deltas
from data.models import from_micros

FORMAT = 3  # bump when the generator changes: cached files of another format are rebuilt
DAYS = 7
SEED = 20261122
NOW_HOUR = 20  # the dataset ends at 20:00 UTC: "today" holds 20 h of data

# source -> (weight, its two event types, entity prefix)
SOURCES = {
    "device-monitor": (0.30, ("scan", "sync"), "scanner"),
    "payments": (0.25, ("transaction", "request"), "endpoint"),
    "macro": (0.15, ("interaction", "session_event"), "button"),
    "tools": (0.15, ("borrow", "return"), "tool"),
    "scripts": (0.15, ("execution", "metric"), "script"),
}
# per type: (median duration ms or None, share with a duration, share with a value, value median)
TYPE_SHAPE = {
    "scan": (180.0, 0.9, 0.0, 0.0),
    "sync": (850.0, 1.0, 0.3, 12.0),
    "transaction": (240.0, 0.9, 1.0, 45.0),
    "request": (35.0, 1.0, 0.0, 0.0),
    "interaction": (1200.0, 1.0, 0.8, 14.0),
    "session_event": (None, 0.0, 0.0, 0.0),
    "borrow": (None, 0.0, 1.0, 1.0),
    "return": (None, 0.0, 1.0, 1.0),
    "execution": (4200.0, 1.0, 0.2, 1.0),
    "metric": (None, 0.0, 1.0, 250.0),
}
STATUSES = ("success", "failed", "error", "timeout")
STATUS_P = (0.90, 0.04, 0.025, 0.01)  # the remaining 2.5 % have no status
N_USERS = 200
CHUNK = 250_000


def default_path(n: int) -> Path:
    label = f"{n // 1_000_000}m" if n % 1_000_000 == 0 else str(n)
    return Path(f"/tmp/pulseboard-bench-{label}.db")


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def params(n: int) -> dict[str, Any]:
    return {"format": FORMAT, "events": n, "days": DAYS, "seed": SEED, "now_hour": NOW_HOUR}


def load(path: Path, n: int) -> dict[str, Any] | None:
    """The sidecar of a complete cached build with these parameters, or None."""
    meta_path = sidecar(path)
    if not path.exists() or not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        return None
    if meta.get("params") != params(n) or meta.get("file_size") != path.stat().st_size:
        return None
    return meta


# ------------------------------------------------------------------ generation


def _vocab(values: list[str]) -> list[str]:
    """Sorted vocabulary ('' first) so that code order is string order."""
    return sorted(set(values))


def _skewed(k: int, a: float) -> np.ndarray:
    """Zipf-like probabilities of ``k`` ranks."""
    w = 1.0 / np.arange(1, k + 1) ** a
    return w / w.sum()


def generate(n: int, end_s: int, rng: np.random.Generator) -> dict[str, Any]:
    """Column arrays of ``n`` events sorted by time, ending before ``end_s``."""
    minutes = DAYS * 1440
    start_s = end_s - minutes * 60
    t = np.arange(minutes)
    hour = ((start_s // 60 + t) % 1440) / 60.0
    weekday = ((start_s // 86400 + t // 1440) + 3) % 7  # 0 = Monday
    weight = 1.0 + 0.75 * np.sin(2 * np.pi * (hour - 8.0) / 24.0)  # peak 14:00, trough 02:00
    weight *= np.where(weekday >= 5, 0.6, 1.0)
    per_minute = rng.multinomial(n, weight / weight.sum())
    minute_of_event = np.repeat(t, per_minute)
    offset_us = rng.integers(0, 60_000_000, n)
    ts = (start_s + minute_of_event.astype(np.int64) * 60) * 1_000_000 + offset_us
    ts.sort()

    src_names = list(SOURCES)
    src = rng.choice(len(src_names), n, p=[SOURCES[s][0] for s in src_names])
    which_type = rng.integers(0, 2, n)
    ent_idx = rng.choice(10, n, p=_skewed(10, 0.8))  # a few busy entities per source
    types_all = [ty for s in src_names for ty in SOURCES[s][1]]
    ents_all = [f"{SOURCES[s][2]}-{i:02d}" for s in src_names for i in range(10)]
    type_name = np.array(types_all, dtype=object)[src * 2 + which_type]
    entity = np.array(ents_all, dtype=object)[src * 10 + ent_idx]
    no_entity = rng.random(n) < 0.03
    entity[no_entity] = None

    users = np.array([f"user-{i:03d}" for i in range(N_USERS)], dtype=object)
    user = users[rng.choice(N_USERS, n, p=_skewed(N_USERS, 0.9))]
    user[src == src_names.index("device-monitor")] = None

    u = rng.random(n)
    cum = np.cumsum(STATUS_P)
    status_idx = np.searchsorted(cum, u, side="right")  # len(STATUSES) = missing
    status = np.array([*STATUSES, None], dtype=object)[status_idx]

    value = np.full(n, np.nan)
    duration = np.full(n, np.nan)
    type_codes = src * 2 + which_type
    for code, ty in enumerate(types_all):
        sel = np.flatnonzero(type_codes == code)
        med, p_dur, p_val, v_med = TYPE_SHAPE[ty]
        if med is not None:
            has = sel[rng.random(len(sel)) < p_dur]
            d = rng.lognormal(math.log(med), 0.7, len(has))
            slow = rng.random(len(has)) < 0.02  # a tail of slow calls
            d[slow] *= rng.uniform(5, 20, slow.sum())
            duration[has] = np.round(d, 3)
        has = sel[rng.random(len(sel)) < p_val]
        if p_val and v_med == 1.0:
            value[has] = 1.0  # a count-like value
        elif p_val:
            value[has] = np.round(rng.lognormal(math.log(v_med), 0.8, len(has)), 2)

    session = np.full(n, None, dtype=object)
    macro = np.flatnonzero(src == src_names.index("macro"))
    # one session per user and 2-hour slot
    sess_key = (ts[macro] // 7_200_000_000) * N_USERS + rng.choice(N_USERS, len(macro), p=_skewed(N_USERS, 0.9))
    session[macro] = np.char.add("sess-", sess_key.astype(str)).astype(object)
    execution = np.full(n, None, dtype=object)
    scripts = np.flatnonzero(src == src_names.index("scripts"))
    exec_key = ts[scripts] // 60_000_000 * 10 + ent_idx[scripts]  # one run per script and minute
    execution[scripts] = np.char.add("run-", exec_key.astype(str)).astype(object)

    failed = np.isin(status_idx, (1, 2, 3))
    message = np.full(n, None, dtype=object)
    message[failed] = np.array(
        ["failed: upstream returned 502", "error: connection reset", "timeout after 30 s"], dtype=object
    )[status_idx[failed] - 1]
    attrs = np.full(n, None, dtype=object)
    with_attrs = np.flatnonzero(rng.random(n) < 0.02)
    attrs[with_attrs] = [
        json.dumps({"build": f"1.{i % 7}.0", "region": ("eu", "us", "ap")[i % 3]}) for i in range(len(with_attrs))
    ]
    uid = np.full(n, None, dtype=object)
    with_uid = np.flatnonzero(rng.random(n) < 0.30)
    uid[with_uid] = [f"{x:016x}" for x in rng.integers(0, 2**63, len(with_uid)).tolist()]

    return {
        "ts": ts,
        "source": np.array(src_names, dtype=object)[src],
        "type": type_name,
        "entity": entity,
        "user": user,
        "session_id": session,
        "execution_id": execution,
        "status": status,
        "value": value,
        "duration_ms": duration,
        "message": message,
        "attrs": attrs,
        "uid": uid,
    }


def _nullable(a: np.ndarray) -> list[Any]:
    out = a.tolist()
    if a.dtype.kind == "f":
        return [None if x != x else x for x in out]
    return out


COLUMNS = (
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


def write_events(con: sqlite3.Connection, cols: dict[str, Any], log: Any) -> None:
    n = len(cols["ts"])
    names = ", ".join(f'"{c}"' for c in ("id", *COLUMNS))
    sql = f"INSERT INTO events ({names}) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
    t0 = time.perf_counter()
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        parts = [range(start + 1, stop + 1)] + [_nullable(cols[c][start:stop]) for c in COLUMNS]
        con.execute("BEGIN")
        con.executemany(sql, zip(*parts))
        con.execute("COMMIT")
        if (stop // CHUNK) % 8 == 0 or stop == n:
            rate = stop / (time.perf_counter() - t0)
            log(f"  events {stop:>11,} / {n:,}  ({rate:,.0f} rows/s)")


# --------------------------------------------------------------------- rollups

ROLLUP_COLS = (
    "minute",
    "source",
    "type",
    "entity",
    "status",
    "count",
    "value_count",
    "value_sum",
    "value_min",
    "value_max",
    "dur_count",
    "dur_sum",
    "dur_min",
    "dur_max",
)
HIST_COLS = ("minute", "source", "type", "entity", "status", "bucket", "count")
_KEY = "ts / 60000000 * 60, source, type, coalesce(entity, ''), coalesce(status, '')"
# data.ingest.rollup_deltas in SQL: the same key ('' for a missing entity/status),
# total() is 0.0 over no values as the accumulator starts at 0.0, and the
# histogram bucket is analytics.histogram.bucket_index (floor(log2(ms) * 4),
# clamped to [MIN_BUCKET, MAX_BUCKET], MIN_BUCKET for ms <= 0), both computed
# with the C library's log2. verify_rollups() checks all of it on a sample.
_ROLLUPS_SQL = (
    f"INSERT INTO rollups ({', '.join(ROLLUP_COLS)}) SELECT {_KEY}, count(*), count(value), total(value), "
    "min(value), max(value), count(duration_ms), total(duration_ms), min(duration_ms), max(duration_ms) "
    "FROM events WHERE ts >= ? AND ts < ? GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
)
_HIST_SQL = (
    f"INSERT INTO rollup_hist ({', '.join(HIST_COLS)}) SELECT {_KEY}, "
    f"CASE WHEN duration_ms > 0 THEN max({MIN_BUCKET}, min({MAX_BUCKET}, CAST(floor(log2(duration_ms) * {STEPS_PER_OCTAVE}) AS INTEGER))) "
    f"ELSE {MIN_BUCKET} END, count(*) "
    "FROM events WHERE ts >= ? AND ts < ? AND duration_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
)


def write_rollups(con: sqlite3.Connection, start_s: int, end_s: int, log: Any) -> None:
    """Rollups in time order, a day at a time (as ingest would have written them)."""
    for day in range(start_s, end_s, 86400):
        span = (day * 1_000_000, min(end_s, day + 86400) * 1_000_000)
        con.execute("BEGIN")
        con.execute(_ROLLUPS_SQL, span)
        con.execute(_HIST_SQL, span)
        con.execute("COMMIT")
    log(
        f"  rollups: {con.execute('SELECT max(id) FROM rollups').fetchone()[0]:,} rows, "
        f"histograms: {con.execute('SELECT max(id) FROM rollup_hist').fetchone()[0]:,} rows"
    )
    write_hourly(con, log)


def write_hourly(con: sqlite3.Connection, log: Any) -> None:
    """The hourly tier, from the per-minute rollups (as migration 0002 does)."""
    key = "source, type, entity, status"
    con.execute("BEGIN")
    con.execute("DELETE FROM rollups_hourly")
    con.execute("DELETE FROM rollup_hist_hourly")
    con.execute(
        f"INSERT INTO rollups_hourly (minute, {key}, count, value_count, value_sum, value_min, value_max, dur_count, dur_sum, dur_min, dur_max) "
        f"SELECT minute - minute % 3600, {key}, SUM(count), SUM(value_count), SUM(value_sum), MIN(value_min), MAX(value_max), "
        f"SUM(dur_count), SUM(dur_sum), MIN(dur_min), MAX(dur_max) FROM rollups GROUP BY minute - minute % 3600, {key}"
    )
    con.execute(
        f"INSERT INTO rollup_hist_hourly (minute, {key}, bucket, count) SELECT minute - minute % 3600, {key}, bucket, SUM(count) "
        f"FROM rollup_hist GROUP BY minute - minute % 3600, {key}, bucket"
    )
    con.execute("COMMIT")
    log(f"  hourly rollups: {con.execute('SELECT count(*) FROM rollups_hourly').fetchone()[0]:,} rows")


def verify_rollups(path: Path, sample_minutes: int = 40, seed: int = 1) -> str:
    """Recompute the rollups of a sample of minutes with ``data.ingest.rollup_deltas``
    over the events read back from the file, and compare with the stored rows."""
    con = sqlite3.connect(path)
    lo, hi = con.execute("SELECT min(minute), max(minute) FROM rollups").fetchone()
    rng = np.random.default_rng(seed)
    minutes = sorted({lo, hi, *(lo + 60 * rng.integers(0, (hi - lo) // 60 + 1, sample_minutes)).tolist()})
    total_events, with_dur = con.execute("SELECT count(*), count(duration_ms) FROM events").fetchone()
    rolled = con.execute("SELECT sum(count) FROM rollups").fetchone()[0]
    hist_total = con.execute("SELECT sum(count) FROM rollup_hist").fetchone()[0]
    if (rolled, hist_total) != (total_events, with_dur):
        raise AssertionError(
            f"rollups count {rolled} / histograms {hist_total}, events {total_events} / with duration {with_dur}"
        )
    n_events = n_agg = n_hist = 0
    for m in minutes:
        rows = con.execute(
            "SELECT ts, source, type, entity, status, value, duration_ms FROM events WHERE ts >= ? AND ts < ?",
            (m * 1_000_000, (m + 60) * 1_000_000),
        ).fetchall()
        events = [
            {
                "ts": from_micros(r[0]),
                "source": r[1],
                "type": r[2],
                "entity": r[3],
                "status": r[4],
                "value": r[5],
                "duration_ms": r[6],
            }
            for r in rows
        ]
        want_agg, want_hist = rollup_deltas(events)
        got_agg = con.execute(
            f"SELECT {', '.join(ROLLUP_COLS)} FROM rollups WHERE minute = ? "
            "ORDER BY minute, source, type, entity, status",
            (m,),
        ).fetchall()
        got_hist = con.execute(
            f"SELECT {', '.join(HIST_COLS)} FROM rollup_hist WHERE minute = ? "
            "ORDER BY minute, source, type, entity, status, bucket",
            (m,),
        ).fetchall()
        if got_hist != want_hist:
            raise AssertionError(f"rollup_hist differs from rollup_deltas at minute {m}")
        if len(got_agg) != len(want_agg):
            raise AssertionError(f"rollups at minute {m}: {len(got_agg)} rows, rollup_deltas gives {len(want_agg)}")
        for got, want in zip(got_agg, want_agg):
            for i, (a, b) in enumerate(zip(got, want)):
                same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-9))
                if not same:
                    raise AssertionError(
                        f"rollups minute {m} key {want[:5]}: {ROLLUP_COLS[i]} = {a!r}, rollup_deltas {b!r}"
                    )
        n_events += len(events)
        n_agg += len(want_agg)
        n_hist += len(want_hist)
    con.close()
    return (
        f"totals equal the events; {len(minutes)} sampled minutes, {n_events:,} events, {n_agg:,} rollup rows and {n_hist:,} histogram rows "
        "equal to data.ingest.rollup_deltas (sums to 1e-9 relative)"
    )


# ----------------------------------------------------------------------- build


def build(path: Path, n: int, log: Any = print) -> dict[str, Any]:
    t_start, c_start = time.perf_counter(), time.process_time()
    tmp = path.with_name(path.name + ".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), sidecar(path)):
        p.unlink(missing_ok=True)
    db = Database(f"sqlite:///{tmp}")
    db.migrate()
    db.dispose()

    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    end = now.replace(hour=NOW_HOUR) - timedelta(days=1)  # yesterday 20:00 UTC: always in the past
    end_s = int(end.timestamp())
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    cols = generate(n, end_s, rng)
    t_gen = time.perf_counter() - t0
    log(f"  generated {n:,} events in {t_gen:.1f} s")

    con = sqlite3.connect(tmp, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")  # a build is all-or-nothing (renamed when complete)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    indexes = con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL"
    ).fetchall()
    for (sql,) in indexes:  # the same indexes are created again below, from their own DDL
        con.execute("DROP INDEX " + sql.split()[3 if sql.split()[1].upper() == "UNIQUE" else 2])
    t0, c0 = time.perf_counter(), time.process_time()
    write_events(con, cols, log)
    del cols
    t_events, c_events = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    for (sql,) in indexes:
        con.execute(sql)
    t_index, c_index = time.perf_counter() - t0, time.process_time() - c0
    log(f"  created {len(indexes)} event indexes in {t_index:.1f} s (CPU {c_index:.1f} s)")
    t0, c0 = time.perf_counter(), time.process_time()
    write_rollups(con, end_s - DAYS * 86400, end_s, log)
    t_roll, c_roll = time.perf_counter() - t0, time.process_time() - c0
    log(f"  wrote rollups in {t_roll:.1f} s (CPU {c_roll:.1f} s)")
    n_agg = con.execute("SELECT count(*) FROM rollups").fetchone()[0]
    n_hist = con.execute("SELECT count(*) FROM rollup_hist").fetchone()[0]
    # No ANALYZE: the app never runs it, so the planner works without statistics here too.
    con.execute("PRAGMA journal_mode=WAL")  # as the app runs it
    con.close()

    t0 = time.perf_counter()
    check = verify_rollups(tmp)
    t_verify = time.perf_counter() - t0
    log(f"  verified: {check} ({t_verify:.1f} s)")
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, path)
    meta = {
        "params": params(n),
        "now": end.isoformat(),
        "file_size": path.stat().st_size,
        "rollup_rows": n_agg,
        "hist_rows": n_hist,
        "verified": check,
        "seconds": {
            "generate": round(t_gen, 1),
            "events": round(t_events, 1),
            "indexes": round(t_index, 1),
            "rollups": round(t_roll, 1),
            "verify": round(t_verify, 1),
            "total": round(time.perf_counter() - t_start, 1),
            "cpu": round(time.process_time() - c_start, 1),
            "cpu_events": round(c_events, 1),
            "cpu_indexes": round(c_index, 1),
            "cpu_rollups": round(c_roll, 1),
        },
        "built_at": datetime.now(timezone.utc).isoformat(),
    }
    sidecar(path).write_text(json.dumps(meta, indent=2))
    return meta


def _upgrade(path: Path, log: Any) -> None:
    """A file cached before the hourly tier: migrate it and fill the tier."""
    from data.db import Database

    Database(f"sqlite:///{path}").migrate()
    con = sqlite3.connect(path, isolation_level=None)
    try:
        if con.execute("SELECT count(*) FROM rollups_hourly").fetchone()[0] == 0:
            write_hourly(con, log)
    finally:
        con.close()
    meta = json.loads(sidecar(path).read_text())
    meta["file_size"] = path.stat().st_size
    sidecar(path).write_text(json.dumps(meta, indent=2))


def ensure(path: Path, n: int, *, rebuild: bool = False, log: Any = print) -> tuple[dict[str, Any], bool]:
    """``(meta, built_now)``: the cached dataset, built first when missing or stale."""
    meta = None if rebuild else load(path, n)
    if meta is not None:
        _upgrade(path, log)
        return meta, False
    log(f"building {n:,} events into {path} ...")
    return build(path, n, log), True
