"""The demo package: backfill shapes and incidents, determinism, and the
live simulator (steps and its thread), on real SQLite databases."""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text

import demo
from alerts import manage as alert_manage
from analytics.anomalies import detect_anomalies
from app import create_app
from data import queries, records
from data.queries import Filters
from demo import rules as demo_rules
from demo.backfill import advance_all, make_scenarios, plan_incidents
from demo.model import BACKFILL, FINISH, SESSION_END, Incidents, Mode, live_mode
from demo.service import DemoRunner
from demo.simulator import THREAD_NAME
from reports import overview
from reports.explore import Query, run
from reports.sessions import session_metrics
from settings import load_settings
from tests.conftest import wait_until

# A Thursday afternoon: Y (the day before) is Wednesday 18th, D2 Tuesday 17th.
NOW = datetime(2026, 11, 19, 16, 30, tzinfo=timezone.utc)
DAYS = 3
SINCE = NOW - timedelta(days=DAYS)
Y = datetime(2026, 11, 18, tzinfo=timezone.utc)
D2 = datetime(2026, 11, 17, tzinfo=timezone.utc)


def make_app(path: Path) -> Any:
    return create_app(load_settings({"db": str(path)}, environ={}))


def make_services(path: Path) -> Any:
    return make_app(path).server.extensions["pulseboard"]


@pytest.fixture(scope="module")
def filled_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, int]]]:
    app = make_app(tmp_path_factory.mktemp("demo") / "d.db")
    services = app.server.extensions["pulseboard"]
    started = time.perf_counter()
    counts = demo.backfill(services, days=DAYS, now=NOW, seed=7)
    print(f"demo backfill: {sum(counts.values())} events over {DAYS} days in {time.perf_counter() - started:.1f} s")
    yield app, counts
    services.close()


@pytest.fixture
def filled(filled_app: tuple[Any, dict[str, int]]) -> tuple[Any, dict[str, int]]:
    app, counts = filled_app
    return app.server.extensions["pulseboard"], counts


def events(services: Any, **filters: tuple[str, ...]) -> pd.DataFrame:
    with services.db.read() as conn:
        return queries.events_frame(conn, filters=Filters(**filters))


def hourly(services: Any, q: Query) -> pd.DataFrame:
    """An hourly ``ts, value`` series with the empty hours as zeros."""
    with services.db.read() as conn:
        df = run(conn, q)
    index = pd.date_range(q.since.replace(minute=0), q.until, freq="h", tz="UTC")
    values = df.set_index("bucket")["value"].reindex(index, fill_value=0.0) if len(df) else pd.Series(0.0, index=index)
    return pd.DataFrame({"ts": index, "value": values.to_numpy(dtype=float)})


# ------------------------------------------------------------------ backfill


def test_backfill_fills_every_scenario(filled: tuple[Any, dict[str, int]]) -> None:
    services, counts = filled
    assert set(counts) == set(demo.SOURCES) == {"macro", "scanner", "payments", "tools", "runner"}
    assert all(n > 0 for n in counts.values()), counts
    assert 40_000 < sum(counts.values()) < 120_000  # ~3/7 of a week's ~160k
    with services.db.read() as conn:
        tables = queries.table_counts(conn)
        first, last = queries.time_span(conn)
        components = {c["name"]: c for c in queries.list_components(conn)}
    assert tables["events"] == sum(counts.values())
    assert tables["sessions"] >= 3 and tables["executions"] >= 100
    assert tables["metrics"] == 3 * tables["executions"]
    assert first is not None and last is not None
    assert first >= SINCE and last <= NOW  # nothing in the future
    assert set(components) == {"camera", "cloud", "sms"}
    assert all(c["status"] == "online" for c in components.values())  # incidents are over


def test_every_source_has_its_event_types(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    with services.db.read() as conn:
        totals = queries.rollup_totals(conn, since=SINCE, until=NOW + timedelta(minutes=1), group_by=("source", "type"))
    types = totals.groupby("source")["type"].agg(set).to_dict()
    assert {"macro_execution", "session_start", "session_end"} <= types["macro"]
    assert {"scan", "photo", "sync", "sms", "warning", "error", "queue_size", "component"} <= types["scanner"]
    assert {"payment", "request", "user_activity", "cpu_percent", "memory_percent", "disk_percent"} <= types["payments"]
    assert {"borrow", "return", "failure"} <= types["tools"]
    assert types["runner"] == {"execution_started", "execution_finished"}


def test_working_hours_are_busier(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    for source, type_ in (("payments", "request"), ("tools", "borrow"), ("scanner", "scan")):
        q = Query(since=SINCE, until=NOW, metric="count", bucket="1h", filters=Filters(source=(source,), type=(type_,)))
        series = hourly(services, q)
        by_hour = series.groupby(series["ts"].dt.hour)["value"].mean()
        busy = {"payments": [11, 19, 20], "tools": [10, 11, 14, 15], "scanner": [7, 15]}[source]
        assert by_hour.loc[busy].mean() > 4 * by_hour.loc[[1, 2, 3, 4]].mean(), source


def test_macro_sessions_follow_the_document(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    with services.db.read() as conn:
        sessions = queries.list_sessions(conn, limit=1000)
    assert sessions and all(re.fullmatch(r"sess_\d{8}_\d{6}", s["id"]) for s in sessions)
    assert all(s["ended_at"] is not None and s["ended_at"] <= NOW for s in sessions)
    df = events(services, source=("macro",), type=("macro_execution",))
    assert set(df["entity"]) <= {f"Num{i}" for i in range(1, 10)} and len(set(df["entity"])) == 9
    assert (df["value"] >= 1).all() and (df["duration_ms"] > 0).all() and df["session_id"].notna().all()
    attrs = df["attrs"].iloc[0]
    assert set(attrs) == {"degradation_assignments", "degradation_counts"}
    assert sorted(attrs["degradation_counts"]) == sorted(filter(None, attrs["degradation_assignments"].split(",")))
    with services.db.read() as conn:
        metrics = session_metrics(conn, sessions[0]["id"], NOW)
    assert metrics is not None and metrics["total_boxes"] > 0 and metrics["categories"]


def test_scanner_sync_outage(filled: tuple[Any, dict[str, int]]) -> None:
    """W (Wednesday) 07:20-08:35: cloud offline, syncs fail, the queue passes 50 then drains."""
    services, _ = filled
    start, end = Y + timedelta(hours=7, minutes=20), Y + timedelta(hours=8, minutes=35)
    comp = events(services, source=("scanner",), type=("component",))
    cloud = comp[comp["entity"] == "cloud"].set_index("ts")["status"]
    changes = cloud[cloud != cloud.shift()]
    assert list(changes.items())[-2:] == [(start, "offline"), (end, "online")]
    assert (cloud[(cloud.index >= start) & (cloud.index < end)] == "offline").all()  # its heartbeats say so
    syncs = events(services, source=("scanner",), type=("sync",))
    during = syncs[(syncs["ts"] >= start) & (syncs["ts"] < end)]
    assert (during["status"] == "failed").sum() > 50 and (during["status"] == "ok").sum() == 0
    queue = events(services, source=("scanner",), type=("queue_size",))
    high = queue[queue["value"] > 50]
    assert high["ts"].min() > start and high["ts"].max() < end + timedelta(minutes=40)
    assert queue.iloc[-1]["value"] < 5  # drained


def test_tool_overage_comes_with_peak_hours(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    df = events(services, source=("tools",), type=("borrow",))
    overage = df["attrs"].map(lambda a: bool(a["overage"]))
    hour = df["ts"].dt.hour
    assert overage[(hour >= 10) & (hour < 16)].mean() > 0.1
    assert overage[(hour < 7) | (hour >= 20)].mean() < 0.02
    failures = events(services, source=("tools",), type=("failure",))
    start, end = Y + timedelta(hours=10, minutes=30), Y + timedelta(hours=10, minutes=50)
    outage = failures[(failures["ts"] >= start) & (failures["ts"] < end)]
    assert len(outage) >= 5 and set(outage["message"]) == {"License server not reachable (FlexNet: -15)"}


def test_executions_have_metrics_and_a_failing_streak(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    with services.db.read() as conn:
        runs = queries.executions_frame(conn, newest_first=False)
        metrics = queries.metrics_frame(conn)
    assert set(metrics["name"]) == {"rows", "peak_rss_mb", "cpu_s"}
    assert {"etl_sync.py", "backup.sh", "nightly-report.py", "cleanup_tmp.sh"} <= set(runs["script"])
    assert (runs["status"] == "success").mean() > 0.9
    backup = runs[runs["script"] == "backup.sh"].reset_index(drop=True)
    failed = backup[backup["status"] == "failed"]
    # Y 00:30, 06:30 and 12:30 fail on every attempt, consecutively; 18:30 succeeds.
    assert len(failed) == 9 and failed.index.tolist() == list(range(failed.index[0], failed.index[0] + 9))
    assert failed["attempt"].tolist() == [1, 2, 3] * 3
    assert backup.loc[failed.index[-1] + 1, "status"] == "success"


def test_etl_sync_regression_is_detected(filled: tuple[Any, dict[str, int]]) -> None:
    from analytics.regressions import detect_regressions

    services, _ = filled
    with services.db.read() as conn:
        runs = queries.executions_frame(conn, newest_first=False)
    steps = detect_regressions(runs[runs["status"] == "success"])
    assert steps["script"].tolist() == ["etl_sync.py"]  # the one regression, no false ones
    step = steps.iloc[0]
    assert step["kind"] == "regression" and 30 < step["size_pct"] < 50
    assert abs(step["start_ts"] - (NOW - timedelta(days=2))) < timedelta(hours=1)


def test_failed_payment_spike_is_an_anomaly(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    q = Query(
        since=SINCE,
        until=NOW,
        metric="count",
        bucket="1h",
        filters=Filters(source=("payments",), type=("payment",), status=("failed",)),
    )
    scored = detect_anomalies(hourly(services, q))
    flagged = scored[scored["is_anomaly"]]
    assert flagged["ts"].tolist() == [pd.Timestamp(Y + timedelta(hours=14))]


def test_vectorize_latency_spike_is_an_anomaly(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    q = Query(
        since=SINCE,
        until=NOW,
        metric="p95",
        field="duration_ms",
        bucket="1h",
        filters=Filters(source=("payments",), type=("request",), entity=("/api/vectorize",)),
    )
    scored = detect_anomalies(hourly(services, q), min_history=12)
    top = scored.loc[scored["anomaly_score"].idxmax()]
    assert top["is_anomaly"] and top["ts"] == pd.Timestamp(D2 + timedelta(hours=19))


def test_the_demo_rules_raise_a_firing_alert_on_the_backfill(filled: tuple[Any, dict[str, int]]) -> None:
    """The etl_sync.py regression is ongoing at the end of the backfill: its rule fires at once."""
    services, _ = filled
    assert demo_rules.install(services) == len(demo_rules.DEMO_RULES)
    assert demo_rules.install(services) == 0  # by name: a second start adds nothing
    summary = services.alerts.evaluate(now=NOW)
    assert summary["errors"] == []
    with services.db.read() as conn:
        firing = {a["rule"]: a for a in alert_manage.active_alerts(conn) if a["state"] == "firing"}
    assert "etl_sync slower than its budget" in firing
    assert firing["etl_sync slower than its budget"]["value"] > 50_000


def test_a_second_backfill_stores_nothing(filled: tuple[Any, dict[str, int]]) -> None:
    services, counts = filled
    assert demo.has_demo_data(services)
    with services.db.read() as conn:
        before = queries.count_events(conn)
    assert before >= sum(counts.values())  # (alert notifications add events of their own)
    assert demo.backfill(services, days=DAYS, now=NOW + timedelta(hours=1)) == {}
    with services.db.read() as conn:
        assert queries.count_events(conn) == before


def test_routes_answer_on_demo_data(filled_app: tuple[Any, dict[str, int]]) -> None:
    app, _ = filled_app
    with app.server.extensions["pulseboard"].db.read() as conn:
        session_id = queries.list_sessions(conn, limit=1)[0]["id"]
    client = app.server.test_client()
    for path in (
        "/api/status",
        "/api/overview",
        "/api/scripts",
        "/api/executions",
        f"/metrics/{session_id}",
        "/api/timings?window=7d",
        "/api/revenue?period=day&window=7d",
        "/api/entities/history?window=6h",
        "/api/metrics/history?script_path=etl_sync.py&metric_name=duration_ms&days=7",
    ):
        assert client.get(path).status_code == 200, path


# ----------------------------------------------------------- determinism


def test_backfill_is_deterministic_given_the_seed() -> None:
    """Same seed and ``now``: the same actions (events, sessions, executions
    with their ids, component changes); another seed: other data."""

    def generate(seed: int) -> list[tuple[float, str, str]]:
        scenarios = make_scenarios(seed, BACKFILL)
        incidents = Incidents(plan_incidents(NOW))
        t1 = NOW.timestamp()
        acts = advance_all(scenarios, t1 - 6 * 3600.0, t1, incidents)
        return [(a.t, a.kind, repr(sorted(a.data.items()))) for a in acts]

    a, b, c = generate(7), generate(7), generate(8)
    assert len(a) > 3_000 and a == b
    assert a != c
    assert max(t for t, _, _ in a) < NOW.timestamp()


# ------------------------------------------------------------- simulator


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    svc = make_services(tmp_path / "live.db")
    yield svc
    svc.close()


def test_simulator_steps_write_several_sources_and_publish(services: Any) -> None:
    published: list[dict[str, Any]] = []
    services.listeners.append(published.extend)
    sim = demo.Simulator(services, seed=3, scale=10.0)
    start = datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)
    last = start
    for i in range(1, 121):  # one simulated minute, half-second ticks
        last = start + timedelta(seconds=0.5 * i)
        sim.step(last)
    df = events(services)
    assert len(df) == sim.stored == len(published) > 100
    assert {"payments", "scanner", "tools"} <= set(df["source"])  # sessions and runs come less often
    assert df["ts"].max() <= last
    assert sim.step(last) == 0  # nothing new at the same instant


def test_simulator_rate_bursts_and_live_incidents(services: Any) -> None:
    """The morning rush at school, ten times the history's rates: every live incident in turn."""
    sim = demo.Simulator(services, seed=5, scale=10.0, tick=5.0, incident_every=150.0, first_incident_after=10.0)
    start = datetime(2026, 11, 19, 7, 25, tzinfo=timezone.utc)
    for i in range(1, 181):  # 15 minutes
        sim.step(start + timedelta(seconds=5.0 * i))
    requests = events(services, source=("payments",), type=("request",))
    per_slot = requests.groupby(requests["ts"].dt.floor("30s")).size()
    assert per_slot.max() > 2 * per_slot.median()  # bursts
    kinds = {i.kind for i in sim.incidents.items}
    assert {"sync_outage", "payment_failures", "license_outage", "latency_spike", "runner_failures"} <= kinds
    cloud = events(services, source=("scanner",), type=("component",))
    assert {"offline", "online"} <= set(cloud[cloud["entity"] == "cloud"]["status"])
    assert [i.kind for i in sorted(sim.incidents.items, key=lambda i: i.start)][1] == "sync_outage"  # the first
    queue = events(services, source=("scanner",), type=("queue_size",))
    assert queue["value"].max() > 50
    assert (events(services, source=("payments",), type=("payment",))["status"] == "failed").sum() > 10


def test_simulator_runs_go_from_running_to_finished(services: Any) -> None:
    sim = demo.Simulator(services, seed=4, tick=30.0, incident_every=0)
    start = datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)
    for i in range(1, 361):  # three hours of the scripts' schedules
        sim.step(start + timedelta(seconds=30.0 * i))
    with services.db.read() as conn:
        runs = queries.executions_frame(conn)
        metrics = queries.metrics_frame(conn)
    finished = runs[runs["status"] != "running"]
    assert len(finished) >= 5 and finished["finished_at"].notna().all() and finished["duration_ms"].gt(0).all()
    assert set(metrics["name"]) == {"rows", "peak_rss_mb", "cpu_s"}
    types = events(services, source=("runner",))["type"].value_counts()
    assert types["execution_started"] >= types["execution_finished"] >= len(finished)


def test_simulator_tidies_what_a_previous_run_left_open(services: Any) -> None:
    start = datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)
    with services.db.write() as conn:  # a session and a run a previous simulator left open, and somebody else's
        for session_id, attrs in (("sess_demo", {"generator": "demo"}), ("sess_real", None)):
            records.start_session(conn, session_id=session_id, source="macro", user="u", started_at=start, attrs=attrs)
        for run_id, attrs in (("exe_demo", {"generator": "demo"}), ("exe_real", None)):
            fields = {"id": run_id, "script": "etl_sync.py", "source": "runner", "started_at": start, "attrs": attrs}
            records.record_execution(conn, fields, start)
    second = demo.Simulator(services, seed=2, incident_every=0)
    second.step(start + timedelta(seconds=40))
    with services.db.read() as conn:
        open_ids = [s["id"] for s in queries.list_sessions(conn, open_only=True)]
        interrupted, untouched = queries.get_execution(conn, "exe_demo"), queries.get_execution(conn, "exe_real")
    assert "sess_demo" not in open_ids and "sess_real" in open_ids
    assert interrupted is not None and interrupted["status"] == "failed" and interrupted["exit_code"] == 143
    assert untouched is not None and untouched["status"] == "running"


def test_simulator_thread_starts_and_stops_promptly(services: Any) -> None:
    sim = demo.Simulator(services, seed=1, scale=20.0, tick=0.05)
    sim.start()
    sim.start()  # idempotent
    try:
        wait_until(lambda: sim.stored > 0, message="the simulator thread to store an event")
        assert sim.running
    finally:
        assert sim.stop(timeout=5.0)  # True: the thread ended within the timeout
    assert not sim.running
    assert THREAD_NAME not in [t.name for t in threading.enumerate()]
    with services.db.read() as conn:
        assert int(conn.execute(text("SELECT count(*) FROM events")).scalar()) == sim.stored
    assert sim.stop() is True  # stopping twice is fine


def test_simulator_rejects_bad_settings(services: Any) -> None:
    with pytest.raises(ValueError):
        demo.Simulator(services, scale=0)
    with pytest.raises(ValueError):
        demo.Simulator(services, tick=0)
    with pytest.raises(ValueError):
        demo.Simulator(services, heartbeat=0)


# ------------------------------------------------- rates, heartbeats, incident


def _source(act: Any) -> str:
    """The scenario an action belongs to (a run's finish and a session's end name only their record)."""
    if act.kind == FINISH:
        return "runner"
    if act.kind == SESSION_END:
        return "macro"
    return str(act.data.get("source") or act.data["fields"]["source"])


def _per_minute(mode: Mode, since: datetime, hours: float, step: float) -> dict[str, float]:
    """Events per minute of each scenario over ``hours`` from ``since`` (each action writes one event)."""
    scenarios, t0 = make_scenarios(7, mode), since.timestamp()
    t1 = t0 + hours * 3600.0
    counts: collections.Counter[str] = collections.Counter()
    a = t0
    while a < t1:
        counts.update(_source(act) for act in advance_all(scenarios, a, min(a + step, t1), Incidents()))
        a += step
    return {source: counts[source] / (hours * 60.0) for source in demo.SOURCES}


def test_live_and_backfill_rates_match_per_scenario() -> None:
    """Two weekdays of each: the live stream continues the history at its
    rate (no cliff where the backfill ends), for every scenario."""
    since = datetime(2026, 11, 17, tzinfo=timezone.utc)  # a Tuesday
    history = _per_minute(BACKFILL, since, 48.0, 3600.0)
    live = _per_minute(live_mode(7), since, 48.0, 60.0)
    for source in demo.SOURCES:
        assert history[source] > 0, source
        assert live[source] == pytest.approx(history[source], rel=0.2), (source, history, live)
    office_hours = _per_minute(live_mode(7), since + timedelta(hours=9), 2.0, 30.0)
    night = _per_minute(live_mode(7), since + timedelta(hours=2), 2.0, 30.0)
    assert office_hours["tools"] > 3 * night["tools"]  # live follows the time of day too
    doubled = _per_minute(live_mode(7, scale=2.0), since, 48.0, 60.0)
    assert doubled["tools"] == pytest.approx(2 * live["tools"], rel=0.15)


def _component_reports(services: Any) -> pd.DataFrame:
    return events(services, source=("scanner",), type=("component",))


def test_components_send_heartbeats_well_under_the_ttl(services: Any) -> None:
    sim = demo.Simulator(services, seed=1, heartbeat=5.0, incident_every=0)
    start = datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)
    for i in range(1, 121):  # a minute in half-second ticks
        sim.step(start + timedelta(seconds=0.5 * i))
    reports = _component_reports(services)
    for name in ("camera", "cloud", "sms"):
        ts = reports[reports["entity"] == name]["ts"]
        assert len(ts) >= 11, name
        assert ts.diff().dropna().max() <= timedelta(seconds=5), name
    with services.db.read() as conn:  # 20 s after the last tick: under a 20-second TTL, still up
        state = overview.system_state(conn, start + timedelta(seconds=75), 20.0, uptime=True)
    assert state["status"] == "healthy"
    assert all(c["uptime"]["24h"] == 100.0 for c in state["components"])


def test_the_first_live_incident_takes_the_cloud_offline_then_back(services: Any) -> None:
    sim = demo.Simulator(services, seed=1, heartbeat=5.0, first_incident_after=0.0, tick=2.0)
    start = datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)
    seen: dict[str, set[str]] = collections.defaultdict(set)
    for i in range(1, 151):  # five minutes in 2-second ticks
        now = start + timedelta(seconds=2.0 * i)
        sim.step(now)
        with services.db.read() as conn:
            state = overview.system_state(conn, now, 20.0)
        seen[state["cloud_status"]].add(state["status"])
        assert state["camera_status"] == state["sms_status"] == "online"
    assert seen["offline"] == {"partial"}  # the card shows the cloud offline during the incident
    assert state["cloud_status"] == "online" and state["status"] == "healthy"  # then it recovers
    reports = _component_reports(services)
    offline = reports[(reports["entity"] == "cloud") & (reports["status"] == "offline")]["ts"]
    assert offline.min() - start <= timedelta(seconds=4) and offline.max() - offline.min() >= timedelta(minutes=3)


def test_backfilled_components_read_about_100_percent_up(filled: tuple[Any, dict[str, int]]) -> None:
    services, _ = filled
    with services.db.read() as conn:
        state = overview.system_state(conn, NOW, 300.0, uptime=True)
    up = {c["name"]: c["uptime"] for c in state["components"]}
    assert state["status"] == "healthy"
    assert up["sms"]["24h"] == up["sms"]["7d"] == 100.0
    assert up["camera"]["24h"] == 100.0 and 99.5 < up["camera"]["7d"] < 100.0  # D2's 4-minute camera fault
    assert 90.0 < up["cloud"]["7d"] < 99.9  # W's 75-minute sync outage


def test_the_demo_runner_is_ready_once_the_backfill_is_done(tmp_path: Path) -> None:
    settings = load_settings(
        {"db": str(tmp_path / "r.db"), "demo_days": 1, "component_ttl": 40.0, "demo_incident_after": 0.0},
        environ={},
    )
    services = create_app(settings).server.extensions["pulseboard"]
    runner = DemoRunner(services)
    try:
        assert services.starting() == ["demo backfill"] and runner.heartbeat == 10.0
        runner.start()
        wait_until(lambda: not services.starting(), timeout=120, message="the demo backfill to finish")
        assert runner.simulator is not None and runner.simulator.running
        with services.db.read() as conn:
            first, last = queries.time_span(conn)
        assert first is not None and last is not None and last - first > timedelta(hours=23)
    finally:
        runner.stop()
        services.close()
