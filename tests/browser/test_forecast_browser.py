"""Forecasts in a real browser: the Explore forecast switch draws the bands
beyond now and keeps them in the URL; the System page says when a growing
disk will be full; the Revenue page gives the next 7 days; the Executions
page draws a script's run-duration forecast beyond its last run."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def traces(page: Page) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = page.locator("#ex-chart .js-plotly-plot").evaluate(
        "el => el.data.map(t => ({name: t.name || '', x: Array.from(t.x || [])}))"
    )
    return data


@pytest.fixture
def explore_server(sqlite_server: Any) -> Any:
    # Three days of hourly counts with a daily cycle: 5 to 25 events an hour.
    events = []
    for hour in range(1, 72):
        ts = (NOW - timedelta(hours=hour)).isoformat()
        n = round(15 + 10 * math.sin(2 * math.pi * (NOW - timedelta(hours=hour)).hour / 24))
        events += [{"ts": ts, "type": "scan", "source": "scanner"}] * n
    r = sqlite_server.post("/api/events", json=events)
    assert r.status_code in (200, 201), r.text
    return sqlite_server


def test_the_forecast_switch_draws_the_band_beyond_now(page: Page, explore_server: Any) -> None:
    page.goto(explore_server.url + "/explore?window=7d&bucket=1h&source=scanner")
    expect(page.locator("#ex-summary")).to_contain_text("rows")
    page.locator("#ex-overlays label", has_text="forecast").click()
    expect(page.locator("#ex-forecast")).to_contain_text("Forecast (")
    expect(page.locator("#ex-forecast")).to_contain_text("80 % and 95 % bands")
    assert parse_qs(urlparse(page.url).query)["overlays"] == ["forecast"]
    expect(page.locator("#ex-chart .legend")).to_contain_text("forecast 95 %")
    drawn = {t["name"]: t["x"] for t in traces(page)}
    assert {"forecast", "forecast 80 %", "forecast 95 %"} <= set(drawn)
    history = drawn["value"]
    ahead = drawn["forecast"]
    assert len(ahead) == round(7 * 24 / 5)  # a fifth of the window
    # The band starts at the bucket in progress (drawn with its count so far) and runs beyond now.
    assert min(ahead) >= max(history) and sorted(history)[-2] < min(ahead)
    assert datetime.fromisoformat(min(ahead).replace("Z", "+00:00")) >= NOW - timedelta(hours=1)

    # The shared URL reloads with the forecast drawn; switching it off removes it.
    page.reload()
    expect(page.locator("#ex-forecast")).to_contain_text("Forecast (")
    page.locator("#ex-overlays label", has_text="forecast").click()
    expect(page.locator("#ex-forecast")).to_be_empty()
    expect(page.locator("#ex-chart .legend")).to_have_count(0)
    assert "overlays" not in parse_qs(urlparse(page.url).query)


def test_a_grouped_view_says_why_it_has_no_forecast(page: Page, explore_server: Any) -> None:
    page.goto(explore_server.url + "/explore?window=24h&bucket=1h&group_by=source&overlays=forecast")
    expect(page.locator("#ex-overlay-note")).to_contain_text(
        "Forecast off: the overlays judge one series; remove the group-by to use them."
    )
    expect(page.locator("#ex-forecast")).to_be_empty()
    expect(page.locator("#ex-overlays input[value='forecast']")).to_be_disabled()


def test_the_system_page_says_when_a_growing_disk_is_full(page: Page, sqlite_server: Any) -> None:
    # Fourteen days of hourly gauges: the disk from 50 % to 85 % (full about 6 days on), the database from 100 to 800 MB.
    hours = 14 * 24
    events = []
    for k in range(hours):
        ts = (NOW - timedelta(hours=hours - k)).isoformat()
        events.append({"ts": ts, "source": "pulseboard", "type": "disk_percent", "value": 50 + 35 * k / hours})
        events.append({"ts": ts, "source": "pulseboard", "type": "db_size_mb", "value": 100 + 700 * k / hours})
    r = sqlite_server.post("/api/events", json=events)
    assert r.status_code in (200, 201), r.text
    page.goto(sqlite_server.url + "/system")
    expect(page.locator("#sy-full")).to_contain_text(re.compile(r"Disk: full in \d+(\.\d)? days"))
    days = float(re.search(r"Disk: full in ([\d.]+) days", page.locator("#sy-full").inner_text()).group(1))  # type: ignore[union-attr]
    assert 4.0 <= days <= 8.0  # 15 points to go at 2.5 points a day
    expect(page.locator("#sy-full")).to_contain_text("Database:")
    expect(page.locator("#sy-growth .legend")).to_contain_text("database MB forecast")


def test_the_revenue_page_gives_the_next_seven_days(page: Page, sqlite_server: Any) -> None:
    events = [
        {
            "ts": (NOW - timedelta(days=d, hours=3)).isoformat(),
            "type": "payment",
            "source": "pay",
            "status": "completed",
            "value": 100.0 + (40.0 if d % 7 in (0, 1) else 0.0),
        }
        for d in range(1, 29)
    ]
    r = sqlite_server.post("/api/events", json=events)
    assert r.status_code in (200, 201), r.text
    page.goto(sqlite_server.url + "/revenue")
    expect(page.locator("#rv-cards")).to_contain_text("next 7 days (forecast)", ignore_case=True)
    expect(page.locator("#rv-forecast")).to_contain_text(
        re.compile(r"Next 7 days: [\d,.]+ expected, [\d,.]+ to [\d,.]+ \(80 %\)")
    )
    expect(page.locator("#rv-chart .legend")).to_contain_text("forecast 80 %")


def test_the_executions_chart_draws_a_script_s_duration_forecast(page: Page, sqlite_server: Any) -> None:
    # Two days of half-hourly runs of about 26 minutes, a little slower each day.
    last = datetime.now(timezone.utc) - timedelta(minutes=70)
    for i in range(96):
        started = last - timedelta(minutes=30 * (95 - i))
        duration = 1_500_000 + 1_000 * i + (30_000 if i % 3 == 0 else -20_000)
        body = {"script": "etl.py", "started_at": started.isoformat(), "duration_ms": duration, "exit_code": 0}
        sqlite_server.post("/api/executions", json=body).raise_for_status()
    page.goto(sqlite_server.url + "/executions?script=etl.py")
    note = page.locator("#xs-steps .pb-duration-forecast")
    expect(note).to_contain_text(
        re.compile(r"^Next runs expected ~2\d min( \d+ s)? \(80 %: [\d.]+–[\d.]+ min\) · median per hour, \S+")
    )
    expect(page.locator("#xs-trend .legend")).to_contain_text("duration forecast 95 %")
    drawn: dict[str, list[str]] = {
        t["name"]: t["x"]
        for t in page.locator("#xs-trend .js-plotly-plot").evaluate(
            "el => el.data.map(t => ({name: t.name || '', x: Array.from(t.x || [])}))"
        )
    }
    assert {"duration forecast", "duration forecast 80 %", "duration forecast 95 %"} <= set(drawn)
    ahead = [datetime.fromisoformat(x.replace("Z", "+00:00")) for x in drawn["duration forecast"]]
    runs = [datetime.fromisoformat(x.replace("Z", "+00:00")) for x in drawn["duration_ms"]]
    assert len(ahead) in (9, 10)  # a fifth of the runs' 47 to 49 hourly buckets
    assert min(ahead) > max(runs)  # beyond the last run
