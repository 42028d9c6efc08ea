"""The demo as a new user sees it, in Chromium: with a short component TTL
the Overview's Health card stays green past the TTL (the components send
heartbeats), and the scripted incident shows the cloud offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests.conftest import ProcessServer, wait_until

TTL = 30.0  # seconds (the default is 300): heartbeats come every 7.5 s
INCIDENT_AFTER = 60.0  # seconds after the live demo starts: past the TTL, before any other incident


def server_uptime(server: ProcessServer) -> float:
    return float(requests.get(server.url + "/health", timeout=30).json()["uptime_seconds"])


def test_the_health_card_stays_green_past_the_ttl_and_shows_the_incident(page: Page, tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path), "--demo", "--demo-days", "1", "--component-ttl", str(TTL)]
    server = ProcessServer([*args, "--demo-incident-after", str(INCIDENT_AFTER)]).start(timeout=180)
    try:
        ready_at = server_uptime(server)
        page.goto(server.url + "/")
        health = page.locator("#health")
        badge = health.locator(".pb-health-status")
        expect(badge).to_have_text("Healthy")
        for name in ("camera", "cloud", "sms"):
            expect(health.locator(f"[data-component={name}]")).to_have_attribute("data-status", "online")
        expect(page.locator("#ov-server-uptime")).to_contain_text("Pulseboard server up")

        # Past the TTL since the live demo started, on a freshly drawn page: still green.
        wait_until(lambda: server_uptime(server) > ready_at + 1.2 * TTL, timeout=90, interval=0.5)
        components: Any = requests.get(server.url + "/api/components", timeout=30).json()
        assert components["status"] == "healthy", components
        page.reload()
        expect(badge).to_have_text("Healthy")
        expect(health.locator("[data-status=offline]")).to_have_count(0)
        expect(health.locator(".pb-uptime").first).to_contain_text("%")

        # The scripted incident: the cloud goes offline (red dot), the card says so.
        cloud = health.locator("[data-component=cloud]")
        expect(cloud).to_have_attribute("data-status", "offline", timeout=90_000)
        expect(cloud.locator(".pb-dot-bad")).to_have_count(1)
        expect(badge).to_have_text("Partial")
        expect(health.locator("[data-component=camera]")).to_have_attribute("data-status", "online")
    finally:
        server.stop()
