"""The time bar's URL -> store and control -> URL steps (callbacks/timebar.py)."""

from __future__ import annotations

from datetime import timedelta

from callbacks.timebar import read, refresh_timer, write
from layouts import ids

LONGEST = timedelta(days=400)


def test_a_page_without_range_parameters_gets_its_default() -> None:
    r = read("", "/explore", LONGEST)
    assert (r["store"]["range"], r["preset"], r["error"], r["has_range"]) == ("24h", "24h", None, True)


def test_an_old_window_link_is_rewritten_as_range() -> None:
    assert read("?window=6h&metric=sum", "/explore", LONGEST)["canonical"] == "?metric=sum&range=6h"
    assert read("?window=24h", "/explore", LONGEST)["canonical"] == ""


def test_a_bad_from_is_shown_as_typed_with_the_error_and_the_default_range_is_used() -> None:
    r = read("?from=yesterday&to=2026-12-01T10:00:00Z&refresh=off", "/", LONGEST)
    assert r["field"] == "from"
    assert "expected a time like 2026-12-01 10:00 (UTC), got 'yesterday'" in r["error"]
    assert (r["from"], r["to"]) == ("yesterday", "2026-12-01 10:00")
    assert (r["store"]["range"], r["store"]["refresh"]) == ("1h", "off")


def test_a_page_without_a_time_range_ignores_a_range_parameter_of_its_own() -> None:
    r = read("?tab=backtest&range=7d&refresh=30s", "/alerts", LONGEST)
    assert (r["has_range"], r["error"], r["store"]["refresh"]) == (False, None, "30s")


def test_a_preset_replaces_from_and_to() -> None:
    search = "?metric=sum&from=2026-12-01T10:00:00Z&to=2026-12-01T11:00:00Z"
    trigger = ids.tb_preset("7d")
    assert write(trigger, search, "/explore", longest=LONGEST) == "?metric=sum&range=7d"
    assert write(ids.tb_preset("24h"), search, "/explore", longest=LONGEST) == "?metric=sum"


def test_typed_times_go_to_the_url_in_iso_utc() -> None:
    got = write(ids.TB_APPLY, "?range=6h", "/", typed=("2026-12-01 10:00", "2026-12-01 11:15"), longest=LONGEST)
    assert got == "?from=2026-12-01T10:00:00Z&to=2026-12-01T11:15:00Z"


def test_a_zoom_sets_from_to_and_a_double_click_returns_to_the_last_preset() -> None:
    zoom = {"from": "2026-12-01T10:03:00Z", "to": "2026-12-01T10:20:00Z"}
    zoomed = write(ids.TB_ZOOM, "?range=6h&refresh=10s", "/", zoom=zoom, longest=LONGEST)
    assert zoomed == "?from=2026-12-01T10:03:00Z&to=2026-12-01T10:20:00Z&refresh=10s"
    assert write(ids.TB_ZOOM, zoomed, "/", zoom={"reset": True}, last="6h", longest=LONGEST) == "?range=6h&refresh=10s"


def test_the_refresh_choice_keeps_the_range_and_an_unchanged_one_writes_nothing() -> None:
    assert write(ids.TB_REFRESH, "?range=6h", "/", refresh="off", longest=LONGEST) == "?range=6h&refresh=off"
    assert write(ids.TB_REFRESH, "?range=6h", "/", refresh="5s", longest=LONGEST) is None


def test_pause_and_off_stop_the_timer_and_a_fixed_range_holds_the_live_chart() -> None:
    assert refresh_timer({"refresh": "1m", "live": True}, False)["interval"] == 60_000
    assert refresh_timer({"refresh": "1m", "live": True}, True)["disabled"] is True
    assert refresh_timer({"refresh": "off", "live": True}, False)["disabled"] is True
    assert refresh_timer({"refresh": "5s", "live": False}, False)["follow"] == "false"
