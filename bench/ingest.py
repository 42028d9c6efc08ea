"""Ingest benchmark (``make bench``): Pulseboard's HTTP ingest against its
baselines in the same run (DESIGN.md, Targets). It measures and prints; it
does not assert, and exits 0 whatever the figures.

1. Batch ingest over real HTTP: ``python app.py serve`` in a subprocess, N
   events as 1,000-event JSON POSTs to /api/events from a few keep-alive clients.
2. Baseline (a): raw ``sqlite3.executemany`` of the same rows into the same
   ``events`` table and indexes (Pulseboard's migrations on a fresh file).
3. Baseline (b): a seed-style service (Flask + SQLAlchemy ORM, one
   ``session.add(); session.commit()`` per event) under the same server
   (gunicorn gthread, 1 worker, 64 threads), same batches, fewer events.
4. Single-event POSTs from 32 keep-alive clients for a fixed time, in
   alternating rounds: Pulseboard, the seed-style service, and a Flask no-op
   POST on the same server kind (the floor no storage can beat); server CPU
   per event beside the floor's; then single events at a fixed rate, half
   the capacity just measured, for ``--fixed-seconds``: latency from when
   each request was due.
5. PostgreSQL (a throw-away server, as the tests start one): batch ingest
   over HTTP beside ``COPY`` of the same rows into the same table and indexes.

    .venv/bin/python bench/ingest.py            # ~2 min on 2 idle cores
    .venv/bin/python bench/ingest.py --quick    # ~30 s
    .venv/bin/python bench/ingest.py --py-spy /tmp/prof --keep   # where the server's time goes

Each figure is printed beside its baseline with the wall-clock ratio and the
same ratio per CPU-second the servers used (steadier when other work shares
the machine; the summary says how much did). The load generator runs in this
process (threads, http.client); its CPU is printed beside the server's, so a
client-bound run shows as one. Phases 1 and 3 stop at a time cap, and rates
are computed from what was sent by then.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from common import (
    PYTHON,
    Figure,
    Load,
    MachineLoad,
    Server,
    arg_parser,
    banner,
    free_port,
    human,
    pulseboard,
    py_spy,
    run_clients,
    run_fixed_rate,
    run_main,
    show,
    started,
    table,
    timed,
    workspace,
)
from sqlalchemy import JSON, DateTime, Float, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


# ---------------------------------------------------------------- events

# Each source has its own 2 types and 10 entities, as in the five scenarios
# (a scanner's devices scan and sync; a runner's scripts execute): 5 sources,
# 10 types, 50 entities, so ~100 series per minute in the rollups.
SCENARIOS = {
    "payments": (["transaction", "request"], [f"endpoint-{i:02d}" for i in range(10)]),
    "scanner": (["scan", "sync"], [f"device-{i:02d}" for i in range(10)]),
    "tools": (["borrow", "return"], [f"tool-{i:02d}" for i in range(10)]),
    "runner": (["execution", "metric"], [f"script-{i:02d}" for i in range(10)]),
    "macro": (["interaction", "session"], [f"button-{i:02d}" for i in range(10)]),
}
SOURCES = list(SCENARIOS)
STATUSES = ["ok"] * 90 + ["error"] * 5 + ["timeout"] * 2 + ["retry"] * 3
REGIONS = ["eu-west", "us-east", "ap-south"]


def make_events(
    n: int, *, seed: int, uid_prefix: str | None, now: datetime, shuffle: bool = False
) -> list[dict[str, Any]]:
    """``n`` realistic events over the last hour: 5 sources, 10 types, 50
    entities, 500 users, mostly ok, value, duration and a small attrs object.
    In time order, as a live feed arrives (``shuffle``: any order, a backfill)."""
    rnd = random.Random(seed)
    offsets = [rnd.uniform(0, 3600) for _ in range(n)]
    if not shuffle:
        offsets.sort(reverse=True)
    out = []
    for i, offset in enumerate(offsets):
        source = rnd.choice(SOURCES)
        types, entities = SCENARIOS[source]
        status = rnd.choice(STATUSES)
        ev: dict[str, Any] = {
            "ts": (now - timedelta(seconds=offset)).isoformat(),
            "source": source,
            "type": rnd.choice(types),
            "entity": rnd.choice(entities),
            "user": f"user-{rnd.randrange(500):03d}",
            "status": status,
            "value": round(rnd.lognormvariate(3, 1), 2),
            "duration_ms": round(rnd.lognormvariate(4, 0.8), 2),
            "attrs": {
                "host": f"host-{rnd.randrange(8)}",
                "region": rnd.choice(REGIONS),
                "attempt": 1 + (status == "retry"),
            },
        }
        if rnd.random() < 0.3:
            ev["session_id"] = f"sess-{rnd.randrange(200):03d}"
        if status != "ok":
            ev["message"] = f"{status} talking to upstream after {ev['duration_ms']:.0f} ms"
        if uid_prefix is not None:
            ev["uid"] = f"{uid_prefix}-{i}"
        out.append(ev)
    return out


def batches(events: list[dict[str, Any]], size: int) -> list[bytes]:
    return [dumps(events[i : i + size]) for i in range(0, len(events), size)]


def feeder(bodies: list[bytes]) -> Any:
    """next_body for run_clients: the bodies in order, shared by all clients."""
    it = iter(bodies)

    def next_body(_cid: int, _i: int) -> bytes | None:
        return next(it, None)  # next() on a list iterator is atomic under the GIL

    return next_body


def single_events(events: list[dict[str, Any]], with_uid: bool, tag: str) -> Any:
    """next_body for run_clients: one event per request, each with its own uid."""
    templates = [dumps({k: v for k, v in e.items() if k != "uid"}) for e in events]

    def next_body(cid: int, i: int) -> bytes:
        body = templates[(cid * 7919 + i) % len(templates)]
        return b'{"uid":"%s-%d-%d",' % (tag.encode(), cid, i) + body[1:] if with_uid else body

    return next_body


# ---------------------------------------------------------------- baseline (a): raw sqlite3


def raw_rows(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as Pulseboard stores them: ts in UTC microseconds, attrs as JSON text."""
    from data.models import to_micros

    return [
        (
            to_micros(datetime.fromisoformat(e["ts"])),
            e["source"],
            e["type"],
            e.get("entity"),
            e.get("user"),
            e.get("session_id"),
            None,
            e.get("status"),
            e.get("value"),
            e.get("duration_ms"),
            e.get("message"),
            dumps(e["attrs"]).decode(),
            e.get("uid"),
        )
        for e in events
    ]


def raw_insert(path: Path, rows: list[tuple[Any, ...]], batch: int) -> tuple[float, float]:
    """Rows per second and per CPU-second of plain executemany into Pulseboard's
    schema, one transaction per batch."""
    from data.db import Database

    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    sql = (
        'INSERT INTO events (ts, source, type, entity, "user", session_id, execution_id, status, value, '
        "duration_ms, message, attrs, uid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    t0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(0, len(rows), batch):
        con.execute("BEGIN")
        con.executemany(sql, rows[i : i + batch])
        con.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    stored = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    assert stored == len(rows), (stored, len(rows))
    return len(rows) / elapsed, len(rows) / max(cpu, 1e-9)


# ---------------------------------------------------------------- baseline (b): the seed-style service


class SeedBase(DeclarativeBase):
    pass


class SeedEvent(SeedBase):
    """The seed dashboards' kind of table: one ORM class, an index on time and session."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime, index=True)
    source: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str | None] = mapped_column(String(200))
    user: Mapped[str | None] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str | None] = mapped_column(String(50))
    value: Mapped[float | None] = mapped_column(Float)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    attrs: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def seed_app(db_path: str) -> Any:
    """How the five replaced dashboards ingested: Flask, SQLAlchemy ORM, a
    commit per event. Given WAL + synchronous=NORMAL like Pulseboard, so the
    comparison is at equal durability (the seeds' defaults were slower)."""
    from flask import Flask, jsonify, request
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import scoped_session, sessionmaker

    engine = create_engine(f"sqlite:///{db_path}", connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    SeedBase.metadata.create_all(engine)
    Session = scoped_session(sessionmaker(engine))
    app = Flask("seed")

    @app.post("/api/events")
    def post_events() -> Any:
        data = request.get_json()
        items = data.get("events", [data]) if isinstance(data, dict) else data
        session = Session()
        try:
            for item in items:
                ts = item.get("ts")
                session.add(
                    SeedEvent(
                        timestamp=datetime.fromisoformat(ts) if ts else datetime.now(timezone.utc),
                        source=item.get("source", "default"),
                        event_type=item["type"],
                        entity=item.get("entity"),
                        user=item.get("user"),
                        session_id=item.get("session_id"),
                        status=item.get("status"),
                        value=item.get("value"),
                        duration_ms=item.get("duration_ms"),
                        message=item.get("message"),
                        attrs=item.get("attrs"),
                    )
                )
                session.commit()
        finally:
            Session.remove()
        return jsonify({"status": "success", "count": len(items)}), 201

    @app.post("/api/noop")
    def noop() -> Any:  # the floor: HTTP + Flask + JSON parse, no storage
        data = request.get_json()
        return jsonify({"status": "success", "count": len(data) if isinstance(data, list) else 1}), 201

    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "healthy"})

    return app


def serve_seed(db_path: str, port: int, threads: int) -> None:
    """Serve the seed-style app the way ``app.py serve`` serves Pulseboard."""
    from gunicorn.app.base import BaseApplication

    app = seed_app(db_path)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            config = {
                "bind": f"127.0.0.1:{port}",
                "worker_class": "gthread",
                "workers": 1,
                "threads": threads,
                "timeout": 120,
                "graceful_timeout": 5,
                "loglevel": "warning",
                "accesslog": None,
                "control_socket_disable": True,
            }
            for key, value in config.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    _Server().run()


def seed_server(tmp: Path) -> Server:
    port = free_port()
    argv = [PYTHON, str(Path(__file__).resolve()), "--serve-seed", str(tmp / "seed.db"), "--port", str(port)]
    return Server("seed-style service", argv, port, tmp / "seed.log")


# ---------------------------------------------------------------- the run


SELF = "pulseboard"  # the source of Pulseboard's own (self-monitoring) events: not the ones sent


def stored_count(path: Path) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT count(*) FROM events WHERE source != ?", (SELF,)).fetchone()[0])
    finally:
        con.close()


def describe(name: str, load: Load, events: int) -> None:
    per_k = 1e6 * load.server_cpu / events if events else float("nan")
    print(
        f"  {name}: {load.requests:,} requests, {load.errors} errors, {load.elapsed:.2f} s; latency p50 "
        f"{1000 * load.p(50):.1f} ms p99 {1000 * load.p(99):.1f} ms; server CPU {load.server_cpu:.1f} s "
        f"({per_k:,.0f} us per event), client CPU {load.client_cpu:.1f} s",
        flush=True,
    )
    if load.errors:
        print(f"  ! first error: {load.first_error}", flush=True)


def say(text: str) -> None:
    print(text, flush=True)


Events = list[dict[str, Any]]


def batch_phase(args: argparse.Namespace, pulse: Server, seed: Server, events: Events) -> tuple[list[Figure], int]:
    """Phases 1-3: Pulseboard's batch ingest over HTTP, raw executemany, the seed-style service."""
    uid = "w" if args.uid else None
    with timed("encode"):
        bodies = batches(events, args.batch)
        seed_bodies = batches(events[: args.seed_events], args.batch)
        warm = batches(make_events(args.batch * 3, seed=2, uid_prefix=uid, now=args.now), args.batch)
        rows = raw_rows(events)

    say("\n1. batch ingest over HTTP (Pulseboard)")
    run_clients(pulse, "/api/events", args.clients, feeder(warm))
    with py_spy(pulse, args.py_spy and args.py_spy / "batch.txt"):
        load = run_clients(
            pulse, "/api/events", args.clients, feeder(bodies), keep_bodies=True, seconds=args.batch_seconds
        )
    stored = sum(json.loads(b)["stored"] for b in load.bodies if b)
    sent = args.batch * load.requests
    rate, cpu_rate = stored / load.elapsed, stored / max(load.server_cpu, 1e-9)
    describe("pulseboard", load, stored)
    in_db = stored_count(args.tmp / "pulse" / "pulseboard.db") - len(warm) * args.batch
    capped = f" (stopped at the {args.batch_seconds:g} s cap)" if sent < len(events) else ""
    say(f"  stored {stored:,} of {sent:,} sent{capped}; rows in the database: {in_db:,}: {human(rate, 'events/s')}")
    if stored != sent or in_db != sent:
        say("  ! not every event was stored")

    say("\n2. baseline (a): raw sqlite3.executemany, same rows, same table and indexes, 1,000-row transactions")
    runs = [raw_insert(args.tmp / f"raw{i}.db", rows[:sent], args.batch) for i in range(args.raw_repeats)]
    raw, raw_cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    each = ", ".join(human(r[0], "rows/s") for r in runs)
    say(f"  raw: {each} (median {human(raw, 'rows/s')}; {human(raw_cpu, 'rows')} per CPU-second)")
    figures = [
        show(
            Figure(
                "batch ingest HTTP, events/s",
                rate,
                "",
                f"raw executemany {human(raw, 'rows/s')}",
                rate / raw,
                ">= 0.3x raw",
                rate / raw >= 0.3,
                cpu_rate / raw_cpu,
            )
        ),
        show(Figure("batch ingest HTTP, absolute", rate, "events/s", "-", None, ">= 100k events/s", rate >= 100_000)),
    ]

    say("\n3. baseline (b): seed-style service (ORM, commit per event), same batches")
    run_clients(seed, "/api/events", args.clients, feeder(warm[:1]))
    sload = run_clients(seed, "/api/events", args.clients, feeder(seed_bodies), seconds=args.seed_seconds)
    seed_events = args.batch * (sload.requests - sload.errors)
    seed_rate, seed_cpu = seed_events / sload.elapsed, seed_events / max(sload.server_cpu, 1e-9)
    describe("seed-style", sload, seed_events)
    say(f"  {human(seed_rate, 'events/s')}")
    figures.append(
        show(
            Figure(
                "batch ingest HTTP vs seed-style",
                rate,
                "events/s",
                f"seed-style {human(seed_rate, 'events/s')}",
                rate / seed_rate,
                ">= 15x",
                rate / seed_rate >= 15,
                cpu_rate / seed_cpu,
            )
        )
    )
    return figures, load.errors + sload.errors


def single_phase(args: argparse.Namespace, pulse: Server, seed: Server, events: Events) -> tuple[list[Figure], int]:
    """Phase 4: one event per POST from many keep-alive clients, in alternating rounds."""
    rounds = max(1, args.rounds)
    say(
        f"\n4. single-event POSTs, {args.single_clients} keep-alive clients, {args.single_seconds:g} s per server "
        f"in {rounds} alternating rounds"
    )
    pool = events[: min(len(events), 5000)]
    targets = {"pulseboard": (pulse, "/api/events"), "seed-style": (seed, "/api/events")}
    if args.floor:
        targets["no-op floor"] = (seed, "/api/noop")
    results = {name: Load() for name in targets}
    for name, (server, path) in targets.items():
        run_clients(server, path, args.single_clients, single_events(pool, args.uid, f"w{name[0]}"), seconds=1.0)
    for r in range(rounds):
        for name, (server, path) in targets.items():
            body = single_events(pool, args.uid, f"s{name[0]}{r}")
            with py_spy(server, args.py_spy and args.py_spy / f"single-{name.split()[0]}-{r}.txt"):
                load = run_clients(server, path, args.single_clients, body, seconds=args.single_seconds / rounds)
            results[name].merge(load)
    for name, load in results.items():
        describe(name, load, load.requests)
    p, s = results["pulseboard"], results["seed-style"]
    cpu_ratio = (p.requests / max(p.server_cpu, 1e-9)) / (s.requests / max(s.server_cpu, 1e-9))
    figures = [
        show(
            Figure(
                "single events, requests/s",
                p.rate,
                "",
                f"seed-style {human(s.rate, 'req/s')}",
                p.rate / s.rate,
                ">= 2x",
                p.rate / s.rate >= 2,
                cpu_ratio,
            )
        ),
        show(
            Figure(
                "single events, p50 latency",
                1000 * p.p(50),
                "ms",
                f"seed-style {1000 * s.p(50):.1f} ms",
                None,
                "-",
                None,
            )
        ),
        show(
            Figure(
                "single events, p99 latency",
                1000 * p.p(99),
                "ms",
                f"seed-style {1000 * s.p(99):.1f} ms",
                None,
                "-",
                None,
            )
        ),
    ]
    if "no-op floor" in results:
        f = results["no-op floor"]
        floor = Figure("floor: Flask no-op POST, req/s", f.rate, "", "same server, no storage", None, "-", None)
        figures.append(show(floor))
        per, floor_per = cpu_per_request(p), cpu_per_request(f)
        figures.append(
            show(
                Figure(
                    "single events, server CPU per event",
                    per,
                    "us",
                    f"no-op floor {floor_per:,.0f} us",
                    per / floor_per,
                    "<= 1.5x floor",
                    per / floor_per <= 1.5,
                )
            )
        )
    figures += fixed_rate_phase(args, pulse, pool, p.rate / 2)
    return figures, sum(r.errors for r in results.values())


def cpu_per_request(load: Load) -> float:
    return 1e6 * load.server_cpu / max(load.requests, 1)


def fixed_rate_phase(args: argparse.Namespace, pulse: Server, pool: Events, rate: float) -> list[Figure]:
    """Single events at ``rate`` a second (half the capacity measured) for ``--fixed-seconds``."""
    say(f"\n   fixed rate: single events at {rate:,.0f}/s (half the capacity above) for {args.fixed_seconds:g} s")
    load = run_fixed_rate(pulse, "/api/events", rate, args.fixed_seconds, single_events(pool, args.uid, "fixed"))
    say(
        f"  pulseboard: {load.requests:,} requests ({load.requests / max(load.elapsed, 1e-9):,.0f}/s), {load.errors} "
        f"errors; latency from when due p50 {1000 * load.p(50):.1f} ms p99 {1000 * load.p(99):.1f} ms; "
        f"server CPU {cpu_per_request(load):,.0f} us per event"
    )
    if load.errors:
        say(f"  ! first error: {load.first_error}")
    p99 = 1000 * load.p(99)
    return [
        show(Figure("fixed rate, p50 latency", 1000 * load.p(50), "ms", f"{rate:,.0f} events/s", None, "-", None)),
        show(Figure("fixed rate, p99 latency", p99, "ms", f"{rate:,.0f} events/s", None, "<= 25 ms", p99 <= 25)),
    ]


# ---------------------------------------------------------------- 5. PostgreSQL


def postgres_cpu(pg: Any) -> float:
    """CPU-seconds used so far by the PostgreSQL server's processes (postmaster and backends)."""
    import psutil

    try:
        pid = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except (OSError, ValueError, IndexError, psutil.Error):
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def copy_insert(pg: Any, rows: list[tuple[Any, ...]], batch: int) -> tuple[float, float]:
    """Rows per second and per CPU-second (this process and PostgreSQL's) of ``COPY``
    into Pulseboard's schema, one transaction per batch."""
    import psycopg

    name = pg.new_database().rsplit("/", 1)[1]
    columns = (
        'ts, source, type, entity, "user", session_id, execution_id, status, value, duration_ms, message, attrs, uid'
    )
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname={name}") as conn:
        t0, cpu0, pg0 = time.perf_counter(), time.process_time(), postgres_cpu(pg)
        for i in range(0, len(rows), batch):
            with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY events ({columns}) FROM STDIN") as copy:
                for row in rows[i : i + batch]:
                    copy.write_row(row)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0 + postgres_cpu(pg) - pg0
        stored = conn.execute("SELECT count(*) FROM events").fetchone()
    assert stored is not None and stored[0] == len(rows), (stored, len(rows))
    return len(rows) / elapsed, len(rows) / max(cpu, 1e-9)


def postgres_phase(args: argparse.Namespace, stack: Any, events: Events) -> tuple[list[Figure], int, float]:
    """Phase 5: batch ingest over HTTP into PostgreSQL beside COPY of the same rows;
    also the CPU-seconds its servers used."""
    say("\n5. PostgreSQL: batch ingest over HTTP beside COPY of the same rows, same table and indexes")
    try:
        from tests.conftest import PostgresServer

        pg = PostgresServer()
    except RuntimeError as exc:  # not installed
        say(f"  skipped: {exc}")
        return [], 0, 0.0
    stack.callback(pg.stop)
    with timed("start PostgreSQL"):
        pg.start()
    pulse = started(stack, pulseboard(args.tmp / "pulse-pg", "--db", pg.new_database()))
    pulse.wait_ready()
    bodies = batches(events, args.batch)
    run_clients(
        pulse,
        "/api/events",
        args.clients,
        feeder(batches(make_events(args.batch * 3, seed=3, uid_prefix="pw", now=args.now), args.batch)),
    )
    pg0 = postgres_cpu(pg)
    load = run_clients(pulse, "/api/events", args.clients, feeder(bodies), keep_bodies=True, seconds=args.batch_seconds)
    pg_used = postgres_cpu(pg) - pg0
    stored = sum(json.loads(b)["stored"] for b in load.bodies if b)
    rate, cpu_rate = stored / load.elapsed, stored / max(load.server_cpu + pg_used, 1e-9)
    describe("pulseboard on PostgreSQL", load, stored)
    say(
        f"  stored {stored:,} of {args.batch * load.requests:,} sent: {human(rate, 'events/s')}; PostgreSQL CPU {pg_used:.1f} s"
    )
    sent = args.batch * load.requests
    runs = [copy_insert(pg, raw_rows(events[:sent]), args.batch) for _ in range(args.raw_repeats)]
    copy, copy_cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    say(
        f"  COPY: {', '.join(human(r[0], 'rows/s') for r in runs)} (median {human(copy, 'rows/s')}; {human(copy_cpu, 'rows')} per CPU-second)"
    )
    figure = Figure(
        "PostgreSQL batch ingest HTTP, events/s",
        rate,
        "",
        f"COPY {human(copy, 'rows/s')}",
        rate / copy,
        ">= 0.3x COPY",
        rate / copy >= 0.3,
        cpu_rate / copy_cpu,
    )
    return [show(figure)], load.errors + (stored != sent), pulse.cpu_seconds() + postgres_cpu(pg)


def run(args: argparse.Namespace) -> int:
    args.now = datetime.now(timezone.utc)
    busy = MachineLoad()
    say(banner("ingest"))
    say(
        f"  {args.events:,} events (at most {args.batch_seconds:g} s) in batches of {args.batch} from {args.clients} "
        f"clients; seed-style {args.seed_events:,} (at most {args.seed_seconds:g} s); single events "
        f"{args.single_clients} clients x {args.single_seconds:g} s; uid {'on' if args.uid else 'off'}, "
        f"{'shuffled' if args.shuffle else 'time-ordered'} timestamps"
    )
    with workspace(args.keep) as (tmp, stack):
        args.tmp = tmp
        pulse = started(stack, pulseboard(tmp / "pulse"))
        seed = started(stack, seed_server(tmp))
        with timed("generate events"):  # while the servers start
            uid = "b" if args.uid else None
            events = make_events(args.events, seed=1, uid_prefix=uid, now=args.now, shuffle=args.shuffle)
        say(f"  pulseboard ready in {pulse.wait_ready():.1f} s, seed-style in {seed.wait_ready():.1f} s")
        figures, errors = batch_phase(args, pulse, seed, events)
        more, more_errors = single_phase(args, pulse, seed, events)
        pg_cpu = 0.0
        if args.postgres:
            pg_figures, pg_errors, pg_cpu = postgres_phase(args, stack, events)
            more, more_errors = more + pg_figures, more_errors + pg_errors
        own = sum(os.times()[:2]) + pulse.cpu_seconds() + seed.cpu_seconds() + pg_cpu
    say("")
    say(table(figures + more, "Summary (ratios are the figures that count; the machine is shared and noisy)"))
    say(f"  {busy.report(own)}")
    if errors + more_errors:
        say(f"  ! {errors + more_errors} requests failed (see above)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    opt = parser.add_argument
    opt("--quick", action="store_true", help="a ~30 s run with fewer events")
    opt("--events", type=int, help="events for the batch test (default 200,000; --quick 30,000)")
    opt("--batch-seconds", type=float, help="cap on Pulseboard's batch test (default 90; --quick 15)")
    opt("--seed-events", type=int, help="events sent to the seed-style service (default 20,000; --quick 5,000)")
    opt("--seed-seconds", type=float, help="cap on the seed-style batch test (default 20; --quick 6)")
    opt("--batch", type=int, default=1000, help="events per request in the batch tests")
    opt("--clients", type=int, default=4, help="concurrent keep-alive clients in the batch tests")
    opt("--single-clients", type=int, default=32, help="concurrent keep-alive clients in the single-event test")
    opt("--single-seconds", type=float, help="seconds per server in the single-event test (default 10; --quick 3)")
    opt("--rounds", type=int, default=2, help="alternating rounds of the single-event test (drift hits all alike)")
    opt("--no-floor", dest="floor", action="store_false", help="skip the Flask no-op floor in the single-event test")
    opt("--fixed-seconds", type=float, default=10.0, help="seconds of the fixed-rate single-event run (default 10)")
    opt("--no-postgres", dest="postgres", action="store_false", help="skip the PostgreSQL phase")
    opt("--raw-repeats", type=int, default=3, help="runs of the raw executemany baseline (median)")
    opt("--no-uid", dest="uid", action="store_false", help="send events without a client uid (no idempotency check)")
    opt("--shuffle", action="store_true", help="timestamps in random order (a backfill), not time order (a live feed)")
    opt("--py-spy", type=Path, metavar="DIR", help="sample the servers with py-spy into DIR/*.txt (collapsed stacks)")
    opt("--keep", action="store_true", help="keep the temp dir (databases, server logs)")
    opt("--serve-seed", metavar="DB", help=argparse.SUPPRESS)  # the seed-style service's own process
    opt("--port", type=int, help=argparse.SUPPRESS)
    opt("--threads", type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_seed:
        serve_seed(args.serve_seed, args.port, args.threads)
        return 0
    args.events = args.events or (30_000 if args.quick else 200_000)
    args.seed_events = min(args.seed_events or (5_000 if args.quick else 20_000), args.events)
    args.single_seconds = args.single_seconds or (3.0 if args.quick else 10.0)
    args.seed_seconds = args.seed_seconds or (6.0 if args.quick else 20.0)
    args.batch_seconds = args.batch_seconds or (15.0 if args.quick else 90.0)
    return run_main(run, args, "interrupted; servers stopped and temp files removed")


if __name__ == "__main__":
    sys.exit(main())
