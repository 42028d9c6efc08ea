"""Live push in a real browser: frames applied clientside, no loss, no
duplicates, reconnect after a restart, and two processes on one database."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

POINTS = "() => { const g = document.querySelector('#live-chart .js-plotly-plot'); return g && g.data ? g.data[0].x.length : -1; }"


def wait_live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_text("live")
    page.wait_for_function("() => window.pulseboardLive && window.pulseboardLive.ready")


def test_an_event_posted_appears_in_the_feed_and_the_chart(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/")
    wait_live(page)
    r = sqlite_server.post(
        "/api/events", json={"type": "scan", "source": "scanner", "status": "ok", "message": "student 2021001"}
    )
    event_id = r.json()["ids"][0]
    expect(page.locator(f"#feed-event-{event_id}")).to_contain_text("student 2021001")
    page.wait_for_function(f"() => ({POINTS})() === 1")


def test_a_burst_of_1000_events_gives_exactly_1000_points(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/")
    wait_live(page)

    def send() -> None:
        with requests.Session() as http:
            for k in range(50):  # 50 requests of 20 events within about a second
                http.post(
                    sqlite_server.url + "/api/events",
                    json=[{"type": "burst", "value": k * 20 + j} for j in range(20)],
                    timeout=30,
                )

    senders = [threading.Thread(target=send)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    page.wait_for_function(f"() => ({POINTS})() >= 1000", timeout=30_000)
    assert page.evaluate(POINTS) == 1000
    assert page.evaluate("() => window.pulseboardLive.received") == 1000
    ids = page.evaluate(
        "() => { const g = document.querySelector('#live-chart .js-plotly-plot'); return g.data[0].text.map(t => t.split(' ')[0]); }"
    )
    assert len(set(ids)) == 1000


def test_it_reconnects_after_a_restart_and_shows_what_was_sent_meanwhile(page: Page, process_server: Any) -> None:
    server = process_server()
    page.goto(server.url + "/")
    wait_live(page)
    server.stop()
    expect(page.locator("#live-status")).to_have_text("reconnecting")
    server.start()
    missed = requests.post(
        server.url + "/api/events", json={"type": "missed", "message": "sent while the page was away"}, timeout=10
    ).json()["ids"][0]
    expect(page.locator("#live-status")).to_have_text("live", timeout=30_000)
    expect(page.locator(f"#feed-event-{missed}")).to_contain_text("sent while the page was away")


def test_an_ingest_process_and_a_dashboard_process_see_each_others_events(
    page: Page, process_server: Any, tmp_path: Any
) -> None:
    db = str(tmp_path / "shared.db")
    dashboard = process_server("--db", db)
    ingest = process_server("--db", db)
    page.goto(dashboard.url + "/")
    wait_live(page)
    event_id = requests.post(
        ingest.url + "/api/events", json={"type": "remote", "message": "from the ingest process"}, timeout=10
    ).json()["ids"][0]
    expect(page.locator(f"#feed-event-{event_id}")).to_contain_text("from the ingest process")


def test_a_component_that_breaks_raises_a_toast(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/")
    wait_live(page)
    sqlite_server.put("/api/components/cloud", json={"status": "online", "detail": "Connected"})
    sqlite_server.put("/api/components/cloud", json={"status": "error", "detail": "No connectivity"})
    toast = page.locator("#toasts .pb-toast")
    expect(toast).to_have_count(1)
    expect(toast).to_contain_text("cloud is error")
    expect(toast).to_contain_text("No connectivity")
    toast.click()
    expect(toast).to_have_count(0)
