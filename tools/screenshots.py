"""Write a PNG of every page, with demo data, to a folder (``make screenshots``).

Starts ``python app.py serve --demo`` on a free port with a fresh data
directory, waits for the demo backfill, then opens each page in headless
Chromium and waits for its charts before the shot.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
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
PAGES = [
    ("overview", "/", "#activity-chart .main-svg"),
    ("explore", "/explore?window=7d&group_by=source&bucket=6h&chart=area", "#ex-chart .main-svg"),
    (
        "explore-anomalies",
        "/explore?window=7d&metric=p95&field=duration_ms&bucket=1h&type=request&overlays=baseline,anomalies",
        "#ex-chart .main-svg",
    ),
    ("sessions", "/sessions", "#ss-table .ag-row"),
    ("executions", "/executions?script=etl_sync.py", "#xs-trend .main-svg"),
    ("entities", "/entities?window=6h", "#en-chart .main-svg"),
    ("revenue", "/revenue", "#rv-chart .main-svg"),
    ("system", "/system", "#sy-chart .main-svg"),
    ("alerts", "/alerts", "#al-active .card"),
    ("alerts-rules", "/alerts?tab=rules", "#al-rules tr"),
    ("alerts-backtest", "/alerts?tab=backtest&backtest=5&range=7d", "#al-bt-result .main-svg"),
    ("exports", "/exports", "#exp-schedules .ag-row"),
    ("overview-dark", "/", "#activity-chart .main-svg"),
    ("sessions-dark", "/sessions", "#ss-table .ag-row"),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/screenshots")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
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
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                for name, path, ready in PAGES:
                    if name.endswith("-dark"):
                        page.evaluate("localStorage.setItem('theme-store', JSON.stringify('dark'))")
                    page.goto(url + path)
                    page.wait_for_selector(ready, timeout=60_000)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                    print(f"wrote {out / (name + '.png')}")
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
