"""The tool-usage dashboard of a licence server replayed end to end against
``python app.py serve`` (SQLite and PostgreSQL). The licence server's
``add_borrow(tool, user, is_overage, borrow_id)`` and its returns and failures
are sent with Pulseboard's client (``Monitor.log_event``); the dashboard then
reads ``/realtime/stream`` as its ``EventSource`` did (``timestamp``,
``tools``, ``rates``, ``recent_events``, ``buffer_stats`` and ``tool_metrics``
with per tool the per-minute points ``{timestamp, count, users,
overage_count}``), reconnects as a browser refresh does and gets the same
history, selects one tool then another and back, and asks for every time
window it offered (1, 5, 10 and 30 minutes, 1, 3 and 6 hours) through
``/api/entities/history``; the history is exported as CSV with
``/api/query.csv``. Every answer is computed here from what was sent.

The stream counts borrows per tool and minute over the 6 hours the
dashboard kept (``type=`` and ``window=`` change that), and its
``recent_events`` carry every type, as the dashboard's did."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from client.monitor import Monitor

DAVINCI = "Vector - DaVinci Configurator SE"
MATLAB = "MATLAB"
CANOE = "CANoe"
MIN = 60.0
HOUR = 3600.0
SOURCE = "licenses"
WINDOWS = {"1min": 60, "5min": 300, "10min": 600, "30min": 1800, "1h": 3600, "3h": 10800, "6h": 21600}

# (seconds ago, kind, tool, user, overage, borrow id): no event lies near a window's edge.
TRAFFIC = [
    (5.0, "borrow", DAVINCI, "alice", True, "b1"),
    (8.0, "borrow", MATLAB, "bob", False, "b2"),
    (MIN + 10, "return", DAVINCI, "bob", False, "b3"),
    (2 * MIN + 30, "failure", MATLAB, "ivan", False, None),
    (3 * MIN, "borrow", DAVINCI, "bob", False, "b3"),
    (3 * MIN + 2, "borrow", DAVINCI, "carol", True, "b4"),
    (3 * MIN + 4, "borrow", DAVINCI, "bob", True, "b11"),
    (4 * MIN, "return", MATLAB, "alice", False, "b5"),
    (7 * MIN, "borrow", MATLAB, "alice", True, "b5"),
    (20 * MIN, "borrow", DAVINCI, "dave", False, "b6"),
    (45 * MIN, "borrow", DAVINCI, "erin", True, "b7"),
    (1.5 * HOUR, "return", CANOE, "frank", False, "b8"),
    (2 * HOUR, "borrow", CANOE, "frank", False, "b8"),
    (4 * HOUR, "borrow", CANOE, "gina", True, "b9"),
    (7 * HOUR, "borrow", DAVINCI, "hank", False, "b10"),  # past the 6-hour retention
]


def log_usage(mon: Monitor, now: float) -> list[dict[str, Any]]:
    """What the licence server's buffer recorded, as events: entity = tool, attrs.overage."""
    sent = []
    for ago, kind, tool, user, overage, borrow_id in TRAFFIC:
        context: dict[str, Any] = {"overage": overage}
        if borrow_id:
            context["borrow_id"] = borrow_id
        if kind == "failure":
            context["reason"] = "no licence available"
        mon.log_event(kind, None, context, entity=tool, user=user, ts=now - ago)
        sent.append({"ts": now - ago, "type": kind, "tool": tool, "user": user, "overage": overage})
    return sent


def minute_of(ts: float) -> str:
    return datetime.fromtimestamp(ts // 60 * 60, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_history(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The dashboard's aggregation: per tool, per minute, count, unique users, overage count."""
    points: dict[str, dict[str, dict[str, Any]]] = {}
    for e in events:
        point = points.setdefault(e["tool"], {}).setdefault(
            minute_of(e["ts"]), {"count": 0, "users": set(), "overage_count": 0}
        )
        point["count"] += 1
        point["users"].add(e["user"])
        point["overage_count"] += int(e["overage"])
    return {
        tool: [
            {"timestamp": m, "count": p["count"], "users": sorted(p["users"]), "overage_count": p["overage_count"]}
            for m, p in sorted(by_minute.items())
        ]
        for tool, by_minute in sorted(points.items())
    }


def within(events: list[dict[str, Any]], seconds: float, now: float, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] in kinds and e["ts"] >= now - seconds]


def first_frame(url: str, **params: str) -> dict[str, Any]:
    """Open the stream as the dashboard's EventSource does and read one message."""
    with requests.get(url + "/realtime/stream", params=params, stream=True, timeout=60) as r:
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                frame: dict[str, Any] = json.loads(line[5:])
                return frame
    raise AssertionError("the stream closed without a message")


def history(url: str, **params: str) -> dict[str, Any]:
    r = requests.get(url + "/api/entities/history", params=params, timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def usage_server(process_server: Any, db_url: str) -> Any:
    return process_server("--db", db_url, "--log-level", "WARNING")


def test_the_tool_usage_dashboard_reads_per_tool_history_live_and_after_a_refresh(
    usage_server: Any, tmp_path: Path
) -> None:
    url = usage_server.url
    mon = Monitor(url, source=SOURCE, spool_dir=tmp_path / "spool")
    try:
        now = time.time()
        sent = log_usage(mon, now)
        assert mon.flush(timeout=60), mon.stats()
    finally:
        mon.close()
    borrows = ("borrow",)
    every = ("borrow", "return", "failure")

    # The shortest window first, while its two borrows are seconds old.
    asked = time.time()
    one = history(url, window="1min", type="borrow", flag="overage")
    assert one == {"window_seconds": 60, "tool_metrics": expected_history(within(sent, 60, asked, borrows))}
    assert one["tool_metrics"][DAVINCI] == [
        {"timestamp": minute_of(now - 5), "count": 1, "users": ["alice"], "overage_count": 1}
    ]

    # 1. The dashboard opens: the stream's message with the last 6 hours of borrows per tool.
    frame = first_frame(url)
    assert set(frame) >= {"timestamp", "tools", "rates", "recent_events", "buffer_stats", "tool_metrics"}
    at = datetime.fromisoformat(frame["timestamp"]).timestamp()
    live = within(sent, 6 * HOUR, at, borrows)
    assert frame["tool_metrics"] == expected_history(live)
    assert frame["tools"] == sorted({e["tool"] for e in live}) == [CANOE, MATLAB, DAVINCI]
    assert frame["buffer_stats"] == {"window_seconds": 21600, "points": sum(map(len, frame["tool_metrics"].values()))}
    # Asked for every type, the returns and failures count too.
    everything = first_frame(url, type="all", window="30min")
    assert everything["tool_metrics"] == expected_history(within(sent, 30 * MIN, at, every))
    for minutes in (1, 5, 10):
        cutoff = minute_of(at - minutes * MIN)
        counted = sum(1 for e in live if minute_of(e["ts"]) >= cutoff)
        assert frame["rates"][f"per_min_{minutes}m"] == round(counted / minutes, 2), minutes
    newest = frame["recent_events"][0]
    assert (newest["type"], newest["entity"], newest["user"], newest["attrs"]) == (
        "borrow",
        DAVINCI,
        "alice",
        {"overage": True, "borrow_id": "b1"},
    )
    assert [e["ts"] for e in frame["recent_events"]] == sorted((e["ts"] for e in frame["recent_events"]), reverse=True)
    # The three borrows of one minute: one point, two users, two overage borrows (the chart's tooltip).
    burst = next(p for p in frame["tool_metrics"][DAVINCI] if p["timestamp"] == minute_of(now - 3 * MIN - 2))
    assert burst["users"] == sorted(
        {e["user"] for e in live if e["tool"] == DAVINCI and minute_of(e["ts"]) == burst["timestamp"]}
    )
    assert burst["count"] >= 2 and burst["overage_count"] >= 1

    # The browser's window filter over the stream's history, every window it offered.
    for name in ("5min", "10min", "30min", "1h", "3h", "6h"):
        cutoff = at - WINDOWS[name]
        shown = {
            tool: [p for p in points if datetime.fromisoformat(p["timestamp"]).timestamp() >= cutoff]
            for tool, points in frame["tool_metrics"].items()
        }
        wanted = expected_history(e for e in live if datetime.fromisoformat(minute_of(e["ts"])).timestamp() >= cutoff)
        assert {t: p for t, p in shown.items() if p} == wanted, name

    # 2. A refresh reconnects and receives the same history from the server; one source only also works.
    again = first_frame(url)
    assert again["tool_metrics"] == frame["tool_metrics"]
    assert first_frame(url, source=SOURCE)["tool_metrics"] == frame["tool_metrics"]
    assert first_frame(url, source="elsewhere")["tool_metrics"] == {}

    # 3. Selecting a tool, switching to another and back: each one's history is kept.
    asked = time.time()
    expected = expected_history(within(sent, 30 * MIN, asked, borrows))
    for tool in (DAVINCI, MATLAB, DAVINCI):
        chosen = history(url, window="30min", type="borrow", entity=tool)["tool_metrics"]
        assert chosen == {tool: expected[tool]}, tool

    # 4. Every time window the dashboard offered, of borrows only, up to the 6-hour retention.
    for name, seconds in WINDOWS.items():
        if name == "1min":
            continue  # read first, above
        asked = time.time()
        body = history(url, window=name, type="borrow", flag="overage")
        assert body == {
            "window_seconds": seconds,
            "tool_metrics": expected_history(within(sent, seconds, asked, borrows)),
        }
    six = history(url, window="6h", type="borrow")["tool_metrics"]
    assert "hank" not in {u for points in six.values() for p in points for u in p["users"]}  # 7 h old: gone
    assert [p["overage_count"] for p in six[CANOE]] == [1, 0]
    too_long = requests.get(url + "/api/entities/history", params={"window": "7h"}, timeout=30)
    assert too_long.status_code == 400 and "'window'" in too_long.json()["error"]
    failures = history(url, window="30min", type="failure")["tool_metrics"]
    assert failures == {
        MATLAB: [{"timestamp": minute_of(now - 150), "count": 1, "users": ["ivan"], "overage_count": 0}]
    }

    # 5. Export: the borrows per tool and minute of the last 6 hours as CSV.
    params = {"window": "6h", "type": "borrow", "metric": "count", "group_by": "entity", "bucket": "1min"}
    exported = requests.get(url + "/api/query.csv", params=params, timeout=60)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    got = {(r["group"], datetime.fromisoformat(r["bucket"]).astimezone(timezone.utc)): float(r["value"]) for r in rows}
    want = {
        (tool, datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00"))): float(p["count"])
        for tool, points in six.items()
        for p in points
    }
    assert {k: v for k, v in got.items() if v} == want
    assert sum(want.values()) == sum(1 for e in sent if e["type"] == "borrow") - 1  # all borrows but the 7-hour one


def test_overage_can_be_read_from_another_flag_as_the_stream_allows(usage_server: Any, tmp_path: Path) -> None:
    """The stream's ``?flag=`` names the attrs key counted as overage (a licence server calling it otherwise)."""
    mon = Monitor(usage_server.url, source=SOURCE, spool_dir=tmp_path / "spool")
    try:
        now = time.time()
        mon.log_event("borrow", None, {"is_overage": True}, entity=MATLAB, user="zoe", ts=now - 2)
        mon.log_event("borrow", None, {"is_overage": False}, entity=MATLAB, user="yan", ts=now - 2)
        assert mon.flush(timeout=60)
    finally:
        mon.close()
    point = first_frame(usage_server.url, flag="is_overage")["tool_metrics"][MATLAB][-1]
    assert (point["count"], point["users"], point["overage_count"]) == (2, ["yan", "zoe"], 1)
    assert first_frame(usage_server.url)["tool_metrics"][MATLAB][-1]["overage_count"] == 0
