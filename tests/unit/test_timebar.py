"""The time bar's URL -> store and control -> URL steps (callbacks/timebar.py)."""

from __future__ import annotations

from datetime import timedelta

from callbacks.timebar import nav_links, read, refresh_timer, write
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
    r = read("?range=forever&refresh=30s&paused=1", "/no-such-page", LONGEST)
    assert (r["has_range"], r["error"], r["store"]["refresh"], r["paused"]) == (False, None, "30s", True)


def test_alerts_sessions_and_exports_read_the_range() -> None:
    for path, default in (("/alerts", "7d"), ("/sessions", "7d"), ("/exports", "30d")):
        r = read("?range=24h", path, LONGEST)
        assert (r["has_range"], r["store"]["range"], read("", path, LONGEST)["preset"]) == (True, "24h", default)


def test_pause_is_read_from_and_written_to_the_url() -> None:
    assert read("?range=6h&paused=1", "/", LONGEST)["paused"] is True
    assert read("?paused=nope", "/", LONGEST)["field"] == "paused"
    assert read("?paused=nope&refresh=off", "/", LONGEST)["store"]["refresh"] == "off"
    assert write(ids.TB_PAUSE, "?range=6h", "/", longest=LONGEST) == "?range=6h&paused=1"
    assert write(ids.TB_PAUSE, "?range=6h&paused=1", "/", longest=LONGEST) == "?range=6h"
    assert write(ids.tb_preset("24h"), "?paused=1", "/", longest=LONGEST) == "?range=24h&paused=1"


def test_the_navigation_links_carry_the_range_and_mark_the_current_page() -> None:
    search = "?script=etl.py&range=6h&refresh=off&paused=1"
    hrefs, active = nav_links(["/", "/executions", "/alerts"], search, "/executions/exe_1")
    assert hrefs == ["/?range=6h&refresh=off&paused=1", "/executions?range=6h&refresh=off&paused=1"] + [
        "/alerts?range=6h&refresh=off&paused=1"
    ]
    assert active == [False, True, False]
    fixed = "?from=2026-12-01T10:00:00Z&to=2026-12-01T12:00:00Z"
    assert nav_links(["/"], fixed, "/explore")[0] == ["/" + fixed]
    # Nothing chosen: each page opens on its own default range.
    assert nav_links(["/", "/executions"], "?metric=sum", "/") == (["/", "/executions"], [True, False])
    assert nav_links(["/"], "?window=6h", "/explore")[0] == ["/?range=6h"]


def test_a_chosen_preset_stays_in_the_url_even_when_it_is_the_pages_default() -> None:
    assert write(ids.tb_preset("1h"), "?range=6h", "/", longest=LONGEST) == "?range=1h"


def test_a_preset_replaces_from_and_to() -> None:
    search = "?metric=sum&from=2026-12-01T10:00:00Z&to=2026-12-01T11:00:00Z"
    trigger = ids.tb_preset("7d")
    assert write(trigger, search, "/explore", longest=LONGEST) == "?metric=sum&range=7d"
    assert write(ids.tb_preset("24h"), search, "/explore", longest=LONGEST) == "?metric=sum&range=24h"


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
