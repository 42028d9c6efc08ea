"""The time bar's URL parameters: presets, absolute from/to in UTC, refresh,
old links' window=, and the query a page writes keeping them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.errors import InvalidInput
from core.timerange import TimeRange, keep_time, parse_range, store_bounds, with_time

LONGEST = timedelta(days=30)
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(("preset", "seconds"), [("15m", 900), ("1h", 3600), ("24h", 86400), ("30d", 30 * 86400)])
def test_a_preset_follows_now(preset: str, seconds: int) -> None:
    tr = parse_range({"range": preset}, default="1h", longest=LONGEST)
    assert tr.live
    assert tr.bounds(NOW) == (NOW - timedelta(seconds=seconds), NOW)
    assert tr.bounds(NOW + timedelta(hours=1))[1] == NOW + timedelta(hours=1)


def test_no_parameter_means_the_page_default() -> None:
    tr = parse_range({}, default="6h", longest=LONGEST)
    assert (tr.range, tr.length, tr.refresh) == ("6h", timedelta(hours=6), "5s")


def test_an_old_window_link_reads_as_a_range() -> None:
    assert parse_range({"window": "30min"}, default="1h", longest=LONGEST).range == "30min"
    assert parse_range({"window": "30min", "range": "7d"}, default="1h", longest=LONGEST).range == "7d"


def test_absolute_times_are_utc_as_typed_or_with_an_offset() -> None:
    tr = parse_range({"from": "2026-12-01 10:00", "to": "2026-12-01T12:30:00+01:00"}, default="1h", longest=LONGEST)
    assert not tr.live
    assert tr.bounds(NOW) == (utc(2026, 12, 1, 10), utc(2026, 12, 1, 11, 30))
    assert tr.to_store() == {
        "range": None,
        "seconds": 5400.0,
        "since": "2026-12-01T10:00:00Z",
        "until": "2026-12-01T11:30:00Z",
        "live": False,
        "refresh": "5s",
    }


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"from": "tomorrow", "to": "2026-12-01 10:00"}, "from", "expected a time like 2026-12-01 10:00"),
        ({"from": "2026-12-01 10:00", "to": "2026-13-01 10:00"}, "to", "expected a time like"),
        ({"from": "2026-12-01 10:00", "to": "2026-12-01 10:00"}, "to", "must be after 'from'"),
        ({"from": "2026-12-01 10:00"}, "to", "give both 'from' and 'to'"),
        ({"to": "2026-12-01 10:00"}, "from", "give both 'from' and 'to'"),
        ({"from": "2026-01-01 00:00", "to": "2026-12-01 00:00"}, "from", "at most 30 days"),
        ({"range": "90d"}, "range", "between 1 second and 30 days"),
        ({"range": "soon"}, "range", "expected a duration"),
        ({"window": "soon"}, "window", "expected a duration"),
        ({"refresh": "2s"}, "refresh", "must be one of off, 5s, 10s, 30s, 1m, 5m"),
        ({"from": "3000-01-01 00:00", "to": "3000-01-02 00:00"}, "from", "out of range"),
    ],
)
def test_a_bad_parameter_is_named(query: dict[str, str], field: str, says: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_range(query, default="1h", longest=LONGEST)
    assert info.value.field == field
    assert says in str(info.value)


def test_the_longest_range_is_the_setting_not_a_constant() -> None:
    assert parse_range({"range": "90d"}, default="1h", longest=timedelta(days=400)).length == timedelta(days=90)


@pytest.mark.parametrize("refresh", ["off", "5s", "10s", "30s", "1m", "5m"])
def test_every_refresh_choice_is_accepted(refresh: str) -> None:
    assert parse_range({"refresh": refresh}, default="1h", longest=LONGEST).refresh == refresh


def test_the_url_leaves_out_the_defaults() -> None:
    assert TimeRange("1h", timedelta(hours=1)).params("1h") == {}
    assert TimeRange("6h", timedelta(hours=6), refresh="off").params("1h") == {"range": "6h", "refresh": "off"}


def test_the_store_of_a_relative_range_follows_now_and_an_absolute_one_stays() -> None:
    relative = parse_range({"range": "1h"}, default="1h", longest=LONGEST).to_store()
    assert store_bounds(relative, NOW, default=timedelta(hours=6)) == (NOW - timedelta(hours=1), NOW)
    absolute = parse_range({"from": "2026-12-01 10:00", "to": "2026-12-01 11:00"}, default="1h", longest=LONGEST)
    later = NOW + timedelta(days=1)
    assert store_bounds(absolute.to_store(), later, default=timedelta(hours=6)) == (
        utc(2026, 12, 1, 10),
        utc(2026, 12, 1, 11),
    )


def test_setting_the_time_keeps_the_pages_own_parameters_in_order() -> None:
    search = "?metric=p95&window=6h&source=a%2Cb&refresh=off"
    assert with_time(search, {"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T11:00:00Z"}) == (
        "?metric=p95&source=a,b&from=2026-12-01T10:00:00Z&to=2026-12-01T11:00:00Z"
    )


def test_a_page_writing_its_state_keeps_the_time_parameters() -> None:
    current = "?script=etl.py&from=2026-12-01T10:00:00Z&to=2026-12-01T11:00:00Z&refresh=1m"
    assert keep_time("?script=nightly.py", current) == (
        "?script=nightly.py&from=2026-12-01T10:00:00Z&to=2026-12-01T11:00:00Z&refresh=1m"
    )
    # A page whose own range= means something else keeps only the refresh.
    assert keep_time("?tab=backtest&range=7d", "?range=24h&refresh=off", keys=("refresh",)) == (
        "?tab=backtest&range=7d&refresh=off"
    )


@pytest.mark.parametrize(("raw", "paused"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_a_link_can_open_the_view_paused(raw: str, paused: bool) -> None:
    tr = parse_range({"range": "6h", "paused": raw}, default="1h", longest=LONGEST)
    assert tr.paused is paused
    assert tr.params("1h") == ({"range": "6h", "paused": "1"} if paused else {"range": "6h"})
    assert "paused" not in tr.to_store()  # pausing does not re-query the pages


def test_a_bad_paused_is_named() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_range({"paused": "maybe"}, default="1h", longest=LONGEST)
    assert err.value.field == "paused"
