"""Write a picture of every page, with demo data, to a folder (``make screenshots``).

Starts ``python app.py serve --demo`` on a free port with a fresh data
directory, waits for the demo backfill, then opens each page of the page
registry (and a few deeper views: Explore's anomaly markers, a rule's
backtest, a session, an execution) in headless Chromium and waits for its
charts before the shot. Every view is shot in the light and the dark theme,
at a desktop width (1440x900) and a phone width (390x844), as
``<view>[-dark][-phone].png``; each shot holds the whole page.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from playwright.sync_api import ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layouts import ids  # noqa: E402
from layouts.pages import PAGES  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
VIEWPORTS: dict[str, ViewportSize] = {"": {"width": 1440, "height": 900}, "-phone": {"width": 390, "height": 844}}
THEMES = ("light", "dark")
# Each page of the registry: the view's name, its URL and what shows it is drawn
# (the overview: its activity and the first live events).
SHOWN: dict[str, tuple[str, ...]] = {
    "/": ("overview", "/", f"#{ids.ACTIVITY} .main-svg", f"#{ids.LIVE_CHART} .point"),
    "/explore": ("explore", "/explore?window=7d&group_by=source&bucket=6h&chart=area", f"#{ids.EX_CHART} .main-svg"),
    "/sessions": ("sessions", "/sessions", f"#{ids.SS_TABLE} .ag-row"),
    "/executions": ("executions", "/executions?script=etl_sync.py", f"#{ids.XS_TREND} .main-svg"),
    "/alerts": ("alerts", "/alerts", f"#{ids.AL_ACTIVE} .card"),
    "/entities": ("entities", "/entities?window=6h", f"#{ids.EN_CHART} .main-svg"),
    "/revenue": ("revenue", "/revenue", f"#{ids.RV_CHART} .main-svg"),
    "/system": ("system", "/system", f"#{ids.SY_CHART} .main-svg"),
    "/exports": ("exports", "/exports", f"#{ids.EXP_SCHEDULES} .ag-row"),
    "/boards": ("boards", "/boards", f"#{ids.BD_LIST} .pb-bd-item"),
}
DEEP = [
    (
        "explore-anomalies",
        "/explore?window=7d&metric=p95&field=duration_ms&bucket=1h&type=request&overlays=baseline,anomalies",
        f"#{ids.EX_CHART} .main-svg",
    ),
    ("alerts-rules", "/alerts?tab=rules", f"#{ids.AL_RULES} tr"),
    ("alerts-backtest", "/alerts?tab=backtest&backtest=5&range=7d", f"#{ids.AL_BT_RESULT} .main-svg"),
    ("board", "/boards/device-monitor", '[data-panel="scans-today"] .pb-bd-stat-value', ".pb-bd-panel .main-svg"),
]


def views(url: str) -> list[tuple[str, ...]]:
    """Every page of the registry, then the deeper views; the session and the
    execution shown are the demo's newest."""
    missing = [p.path for p in PAGES if p.path not in SHOWN]
    if missing:
        raise SystemExit(f"no screenshot view for {', '.join(missing)}")
    session = requests.get(url + "/api/sessions?limit=1", timeout=30).json()["sessions"][0]["id"]
    execution = requests.get(url + "/api/executions?limit=1", timeout=30).json()["executions"][0]["id"]
    return [
        *(SHOWN[p.path] for p in PAGES),
        *DEEP,
        ("session", f"/sessions/{session}", f"#{ids.S_SPEED} .main-svg"),
        ("execution", f"/executions/{execution}", f"#{ids.X_DETAIL} .card"),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_demo(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/api/stats/database", timeout=5).json()["total_executions"] > 100:
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(1)
    raise SystemExit("the demo data did not appear in time")


def prepare(url: str, timeout: float = 120) -> None:
    """Wait for the demo's first firing alert; add an export schedule and run it."""
    deadline = time.monotonic() + timeout
    while not requests.get(url + "/api/alerts/active", timeout=10).json()["alerts"]:
        if time.monotonic() > deadline:
            raise SystemExit("no alert fired in time")
        time.sleep(1)
    body = {
        "name": "daily sources",
        "query": "window=24h&metric=count&group_by=source&bucket=1h",
        "cron": "0 6 * * *",
        "keep": 30,
    }
    schedule = requests.post(url + "/api/exports/schedules", json=body, timeout=30)
    schedule.raise_for_status()
    requests.post(f"{url}/api/exports/schedules/{schedule.json()['id']}/run", timeout=60).raise_for_status()


def shoot(url: str, out: Path, only: set[str]) -> None:
    """Every view (or those named in ``only``) in each theme, the theme
    switch's stored choice, at each width."""
    shots = [view for view in views(url) if not only or view[0] in only]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for theme, (suffix, viewport) in itertools.product(THEMES, VIEWPORTS.items()):
            context = browser.new_context(viewport=viewport)
            context.add_init_script(
                f"localStorage.setItem({json.dumps(ids.THEME_STORE)}, {json.dumps(json.dumps(theme))})"
            )
            page = context.new_page()
            for name, path, *ready in shots:
                page.goto(url + path)
                for selector in (f"html[data-bs-theme={theme}]", *ready):
                    page.wait_for_selector(selector, timeout=60_000)
                page.wait_for_load_state("networkidle")
                file = out / f"{name}{'-dark' if theme == 'dark' else ''}{suffix}.png"
                page.screenshot(path=str(file), full_page=True)
                print(f"wrote {file}")
            context.close()
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--only", nargs="*", default=[], help="the views to shoot (default: all)")
    parser.add_argument("--url", help="shoot this running demo server instead of starting one")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.url:
        shoot(args.url.rstrip("/"), out, set(args.only))
        return 0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="pulse-shots-") as data:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "serve", "--demo", "--port", str(port), "--data-dir", data],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_demo(url)
            prepare(url)
            shoot(url, out, set(args.only))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
