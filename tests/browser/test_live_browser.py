"""Live push in a real browser: frames applied clientside, no loss, no
duplicates, a skipped frame recovered, reconnect after a restart, and two
processes on one database."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, WebSocketRoute, expect

from layouts.overview import live_config

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


def test_paused_the_live_chart_holds_still_and_resumed_it_draws_what_came(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/")
    wait_live(page)
    page.locator("#tb-pause").click()
    expect(page.locator("#timebar")).to_have_attribute("data-paused", "true")
    event_id = sqlite_server.post("/api/events", json={"type": "scan", "message": "while paused"}).json()["ids"][0]
    expect(page.locator(f"#feed-event-{event_id}")).to_contain_text("while paused")  # the feed goes on
    page.wait_for_function("() => window.pulseboardLive.held && window.pulseboardLive.pending.length === 1")
    assert page.evaluate(POINTS) == 0
    page.locator("#tb-pause").click()
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


def wait_until(page: Page, condition: Callable[[], bool], timeout_ms: float = 30_000) -> None:
    """Wait for a condition that Python-side socket handlers make true (they run
    while Playwright waits, so the wait is spent inside a Playwright call)."""
    waited = 0.0
    while not condition():
        assert waited < timeout_ms, "condition not met in time"
        page.wait_for_timeout(50)
        waited += 50


def relayed_page(page: Page, withhold: list[int], sent: list[dict[str, Any]], dropped: list[dict[str, Any]]) -> None:
    """The page's socket goes through a relay that withholds the next ``withhold[0]``
    realtime_update frames, as the socket component does when frames outrun Dash."""

    def relay(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            sent.append(json.loads(message))
            server.send(message)

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if withhold[0] > 0 and frame.get("type") == "realtime_update":
                withhold[0] -= 1
                dropped.append(frame)
                return
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/ws(\?.*)?$"), relay)


def probe(server: Any, message: str) -> int:
    r = server.post("/api/events", json={"type": "probe", "source": "probe", "message": message})
    return int(r.json()["ids"][0])


def test_a_skipped_frame_is_covered_by_the_next_one(page: Page, sqlite_server: Any) -> None:
    # Frames repeat the frames before them (overlap): one lost frame costs no replay.
    sent: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    withhold = [0]
    relayed_page(page, withhold, sent, dropped)
    page.goto(sqlite_server.url + "/")
    wait_live(page)
    first = probe(sqlite_server, "before the gap")
    expect(page.locator(f"#feed-event-{first}")).to_contain_text("before the gap")
    withhold[0] = 1
    skipped = probe(sqlite_server, "in the skipped frame")
    wait_until(page, lambda: bool(dropped))
    assert [e["id"] for e in dropped[0]["events"]][-1] == skipped
    after = probe(sqlite_server, "after the gap")
    expect(page.locator(f"#feed-event-{skipped}")).to_contain_text("in the skipped frame")
    expect(page.locator(f"#feed-event-{after}")).to_contain_text("after the gap")
    assert [m for m in sent if m.get("type") == "request_update"] == []
    page.wait_for_function(f"() => ({POINTS})() === 3")
    assert page.evaluate("() => [window.pulseboardLive.received, window.pulseboardLive.resyncs]") == [3, 0]
    assert page.locator("#event-feed li[id^='feed-event-']").count() == 3


def test_frames_skipped_past_the_overlap_are_asked_for_again_and_shown(page: Page, sqlite_server: Any) -> None:
    sent: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    withhold = [0]
    relayed_page(page, withhold, sent, dropped)
    page.goto(sqlite_server.url + "/")
    wait_live(page)
    overlap = int(live_config()["overlap"])
    first = probe(sqlite_server, "before the gap")
    expect(page.locator(f"#feed-event-{first}")).to_contain_text("before the gap")
    withhold[0] = overlap  # every frame that could still carry the first lost event
    lost = []
    for k in range(overlap):
        lost.append(probe(sqlite_server, f"lost {k}"))
        wait_until(page, lambda n=k: len(dropped) > n)
    after = probe(sqlite_server, "after the gap")
    for k, event_id in enumerate(lost):
        expect(page.locator(f"#feed-event-{event_id}")).to_contain_text(f"lost {k}")
    expect(page.locator(f"#feed-event-{after}")).to_contain_text("after the gap")
    requests_sent = [m for m in sent if m.get("type") == "request_update"]
    assert [m["after_id"] for m in requests_sent] == [first]
    page.wait_for_function(f"() => ({POINTS})() === {overlap + 2}")
    assert page.locator("#event-feed li[id^='feed-event-']").count() == overlap + 2
