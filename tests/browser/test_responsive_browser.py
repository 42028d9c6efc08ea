"""Every page at phone width (390x844) and in both themes, in a real browser:
the menu collapses behind its toggler, no page scrolls sideways, and every
dropdown, select and input (and every open dropdown menu) is readable, its
text against its effective background at WCAG AA (4.5:1) or better."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from layouts import ids
from layouts.pages import PAGES

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
AA = 4.5

# What each page shows once its data has arrived (checked against PAGES, so a new page needs one).
READY = {
    "/": f"#{ids.kpi('events_today')}",
    "/explore": f"#{ids.EX_TABLE} .ag-row",
    "/sessions": f"#{ids.SS_TABLE} .ag-row",
    "/executions": f"#{ids.XS_TABLE} .ag-row",
    "/alerts": f"#{ids.AL_COUNTS}",
    "/entities": f"#{ids.EN_USERS}:has-text('users')",
    "/revenue": f"#{ids.RV_TIMINGS} .ag-row",
    "/system": f"#{ids.SY_CARDS} .pb-card-value",
    "/exports": f"#{ids.EXP_FILES}:has-text('No files yet')",
    "/boards": f"#{ids.BD_LIST} > *",
}
PATHS = [p.path for p in PAGES]

# Every visible text in ``root`` (text nodes and form controls), with its colour and the background
# colours from its element up to the first opaque one.
TEXTS = """
(root) => {
  const alpha = (c) => { const m = c.match(/rgba?\\(([^)]*)\\)/); if (!m) return 1; const p = m[1].split(','); return p.length > 3 ? parseFloat(p[3]) : 1; };
  const backgrounds = (el) => {
    const out = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      out.push(bg);
      if (alpha(bg) >= 1) break;
    }
    return out;
  };
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !shown(el) || el.closest('select, option, script, style')) continue;
    out.push({text: n.textContent.trim().slice(0, 40), color: getComputedStyle(el).color, backgrounds: backgrounds(el)});
  }
  const controls = root.matches('input, select, textarea') ? [root] : [...root.querySelectorAll('input, select, textarea')];
  for (const el of controls) {
    if (!shown(el) || ['hidden', 'checkbox', 'radio', 'range'].includes(el.type)) continue;
    const empty = !el.value && el.placeholder;
    const color = getComputedStyle(el, empty ? '::placeholder' : null).color;
    out.push({text: (empty ? el.placeholder : el.value || el.tagName).slice(0, 40), color, backgrounds: backgrounds(el)});
    for (const o of el.tagName === 'SELECT' ? el.options : []) {
      out.push({text: o.text.slice(0, 40), color: getComputedStyle(o).color, backgrounds: [getComputedStyle(o).backgroundColor, ...backgrounds(el)]});
    }
  }
  return out;
}
"""


def rgba(css: str) -> tuple[float, float, float, float]:
    """An ``rgb()``/``rgba()`` computed colour as four floats."""
    m = re.fullmatch(r"rgba?\(([^)]*)\)", css.strip())
    assert m, f"not an rgb() colour: {css}"
    parts = [float(p) for p in re.split(r"[,\s/]+", m.group(1).strip()) if p]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0)


def over(top: tuple[float, float, float, float], below: tuple[float, float, float]) -> tuple[float, float, float]:
    a = top[3]
    return (top[0] * a + below[0] * (1 - a), top[1] * a + below[1] * (1 - a), top[2] * a + below[2] * (1 - a))


def luminance(c: tuple[float, float, float]) -> float:
    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(color: str, backgrounds: list[str]) -> float:
    """The WCAG contrast ratio of a text colour over its stack of backgrounds
    (innermost first; a page with no opaque background is white)."""
    bg: tuple[float, float, float] = (255.0, 255.0, 255.0)
    for layer in reversed(backgrounds):
        bg = over(rgba(layer), bg)
    fg = over(rgba(color), bg)
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_contrast_ratio_is_the_wcag_one() -> None:
    assert contrast("rgb(0, 0, 0)", ["rgb(255, 255, 255)"]) == pytest.approx(21.0)
    assert contrast("rgb(119, 119, 119)", ["rgba(0, 0, 0, 0)"]) == pytest.approx(4.48, abs=0.01)
    # faint grey text on white, the dark theme's dropdown before it was themed
    assert contrast("rgba(222, 226, 230, 0.75)", ["rgb(255, 255, 255)"]) < 1.5


@pytest.fixture(scope="module")
def seeded(make_shared_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server with a little of every scenario: events of several sources,
    tools borrowed by users, payments and requests, script runs and a session."""
    server = make_shared_server(f"sqlite:///{tmp_path_factory.mktemp('responsive') / 'pulse.db'}")
    now = datetime.now(timezone.utc)
    events = [
        {
            "ts": (now - timedelta(minutes=5 * i)).isoformat(),
            "type": "borrow",
            "source": "tools",
            "entity": ("MATLAB", "CANoe")[i % 2],
            "user": f"user{i % 4}",
            "status": ("ok", "failed")[i % 5 == 0],
        }
        for i in range(40)
    ]
    events += [
        {"type": "payment", "source": "pay", "status": "completed", "value": 20.0 + i, "user": f"user{i}"}
        for i in range(5)
    ]
    events += [{"type": "request", "source": "pay", "entity": "/api/checkout", "duration_ms": 80, "status": "200"}]
    server.post("/api/events", json=events).raise_for_status()
    for i in range(6):
        server.post(
            "/api/executions",
            json={
                "script": ("etl.py", "backup.sh")[i % 2],
                "started_at": (now - timedelta(hours=6 - i)).isoformat(),
                "duration_ms": 1000 + 10 * i,
                "exit_code": 0,
                "metrics": {"rows": 100 + i},
            },
        ).raise_for_status()
    server.post("/session/start", json={"session_id": "sess_20261122_101500", "username": "ann"}).raise_for_status()
    return server


@contextmanager
def opened(browser: Browser, server: Any, path: str, viewport: dict[str, int], theme: str) -> Iterator[Page]:
    """Page ``path`` in a fresh context of ``viewport`` and ``theme``, its data shown; no JavaScript error on it."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.add_init_script(f"localStorage.setItem({ids.THEME_STORE!r}, JSON.stringify({theme!r}))")
    pg = context.new_page()
    pg.set_default_timeout(45_000)
    errors: list[Any] = []
    pg.on("pageerror", lambda exc: errors.append(exc))
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    try:
        pg.goto(server.url + path)
        expect(pg.locator("html")).to_have_attribute("data-bs-theme", theme)
        expect(pg.locator(READY[path]).first).to_be_attached()
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def unreadable(pg: Page, selector: str) -> list[str]:
    """The texts in every visible element of ``selector`` below AA contrast."""
    found = []
    for handle in pg.locator(selector).element_handles():
        if not handle.is_visible():
            continue
        for t in handle.evaluate(TEXTS):
            ratio = contrast(t["color"], t["backgrounds"])
            if ratio < AA:
                found.append(f"{t['text']!r}: {ratio:.2f} ({t['color']} on {t['backgrounds']})")
    return found


def check_every_control(pg: Page) -> None:
    """Every dropdown, select and input reads at AA, and so does each dropdown's open menu."""
    bad = unreadable(pg, ".dash-dropdown, select, input, textarea")
    assert not bad, f"unreadable controls on {pg.url}: {bad}"
    dropdowns = pg.locator(".dash-dropdown")
    for i in range(dropdowns.count()):
        dropdown = dropdowns.nth(i)
        if not dropdown.is_visible():
            continue
        dropdown.click()
        menu = pg.locator(".dash-dropdown-content")
        expect(menu).to_be_visible()
        bad = unreadable(pg, ".dash-dropdown-content")
        assert not bad, f"unreadable open menu of dropdown {i} on {pg.url}: {bad}"
        pg.keyboard.press("Escape")
        expect(menu).to_have_count(0)


@pytest.mark.parametrize("path", PATHS)
def test_at_phone_width_the_menu_opens_from_its_toggler_and_nothing_scrolls_sideways(
    browser: Browser, seeded: Any, path: str
) -> None:
    assert set(READY) == set(PATHS)
    with opened(browser, seeded, path, PHONE, "light") as pg:
        links = pg.locator(f"#{ids.NAV_COLLAPSE} .nav-link")
        expect(links).to_have_count(sum(p.nav for p in PAGES))
        for i in range(links.count()):
            expect(links.nth(i)).to_be_hidden()
        expect(pg.locator(f"#{ids.THEME_TOGGLE}")).to_be_hidden()
        pg.locator(f"#{ids.NAV_TOGGLER}").click()
        for i in range(links.count()):
            expect(links.nth(i)).to_be_visible()
        expect(pg.locator(f"#{ids.THEME_TOGGLE}")).to_be_visible()
        widths = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{path} scrolls sideways: {widths[0]} px wide in {widths[1]} px"


def test_a_link_in_the_open_menu_goes_there_and_closes_the_menu(browser: Browser, seeded: Any) -> None:
    with opened(browser, seeded, "/", PHONE, "light") as pg:
        pg.locator(f"#{ids.NAV_TOGGLER}").click()
        pg.locator(f"#{ids.NAV_COLLAPSE} .nav-link", has_text="Executions").click()
        expect(pg).to_have_url(seeded.url + "/executions")
        expect(pg.locator(f"#{ids.NAV_COLLAPSE} .nav-link").first).to_be_hidden()


def test_at_desktop_width_the_menu_is_open_without_a_toggler(browser: Browser, seeded: Any) -> None:
    with opened(browser, seeded, "/", DESKTOP, "light") as pg:
        expect(pg.locator(f"#{ids.NAV_TOGGLER}")).to_be_hidden()
        expect(pg.locator(f"#{ids.NAV_COLLAPSE} .nav-link").first).to_be_visible()


def test_a_table_on_a_phone_scrolls_sideways_with_its_key_column_pinned(browser: Browser, seeded: Any) -> None:
    with opened(browser, seeded, "/executions", PHONE, "light") as pg:
        expect(pg.locator(f"#{ids.XS_TABLE} .ag-pinned-left-cols-container .ag-row").first).to_contain_text("exe_")
        scroller = pg.locator(f"#{ids.XS_TABLE} .ag-center-cols-viewport")
        assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")
        # no column squeezed to an ellipsis: each keeps its minimum width
        widths = pg.locator(f"#{ids.XS_TABLE} .ag-header-cell").evaluate_all(
            "cells => cells.map(c => c.getBoundingClientRect().width)"
        )
        assert min(widths) >= 90, widths
    with opened(browser, seeded, "/executions", DESKTOP, "light") as pg:
        expect(pg.locator(f"#{ids.XS_TABLE} .ag-center-cols-container .ag-row").first).to_contain_text("exe_")
        expect(pg.locator(f"#{ids.XS_TABLE} .ag-pinned-left-cols-container .ag-row")).to_have_count(0)


def test_an_executions_comparison_on_a_phone_scrolls_sideways_with_its_metric_column_pinned(
    browser: Browser, seeded: Any
) -> None:
    run_id = seeded.get("/api/executions", params={"script": "etl.py"}).json()["executions"][0]["id"]
    context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    try:
        pg = context.new_page()
        pg.goto(seeded.url + f"/executions/{run_id}")
        pinned = pg.locator(f"#{ids.X_COMPARISON} .ag-pinned-left-cols-container .ag-row")
        expect(pinned.first).to_contain_text("duration")
        scroller = pg.locator(f"#{ids.X_COMPARISON} .ag-center-cols-viewport")
        assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")
        widths = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"the execution's page scrolls sideways: {widths}"
    finally:
        context.close()


@pytest.mark.parametrize("path", PATHS)
def test_in_dark_mode_at_phone_width_every_dropdown_menu_and_select_is_readable(
    browser: Browser, seeded: Any, path: str
) -> None:
    with opened(browser, seeded, path, PHONE, "dark") as pg:
        check_every_control(pg)
        pg.locator(f"#{ids.NAV_TOGGLER}").click()
        expect(pg.locator(f"#{ids.THEME_TOGGLE}")).to_be_visible()
        bad = unreadable(pg, f"#{ids.NAV_COLLAPSE}")
        assert not bad, f"unreadable menu on {path}: {bad}"


@pytest.mark.parametrize("path", PATHS)
def test_in_light_mode_at_desktop_width_every_dropdown_menu_and_select_is_readable(
    browser: Browser, seeded: Any, path: str
) -> None:
    with opened(browser, seeded, path, DESKTOP, "light") as pg:
        check_every_control(pg)
