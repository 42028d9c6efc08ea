"""analytics.uptime: a component's state over time from its reports and TTL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from analytics.uptime import effective_status, healthy_seconds, uptime_percent

T = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def m(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def test_a_report_older_than_the_ttl_means_offline() -> None:
    assert effective_status("online", T, T + HOUR, HOUR) == "online"
    assert effective_status("online", T, T + HOUR + timedelta(seconds=1), HOUR) == "offline"
    assert effective_status("error", T, m(1), HOUR) == "error"


def test_the_state_before_the_window_carries_into_it() -> None:
    reports = [(m(-90), "online"), (m(30), "down")]
    assert healthy_seconds(reports, m(0), m(60), timedelta(days=1)) == (1800.0, 3600.0)


def test_time_before_the_first_report_is_not_observed() -> None:
    assert healthy_seconds([(m(40), "online")], m(0), m(60), HOUR) == (1200.0, 1200.0)
    assert uptime_percent([], m(0), m(60), HOUR) is None


def test_a_silence_longer_than_the_ttl_is_down_as_a_whole() -> None:
    reports = [(m(0), "online"), (m(50), "online")]
    assert healthy_seconds(reports, m(0), m(60), timedelta(minutes=20)) == (600.0, 3600.0)
    # the last report's silence up to now: up within the TTL, down as a whole past it
    assert healthy_seconds(reports, m(0), m(70), timedelta(minutes=20)) == (1200.0, 4200.0)
    assert healthy_seconds(reports, m(0), m(71), timedelta(minutes=20)) == (0.0, 4260.0)


def heartbeats(every: timedelta, until: datetime, gap: tuple[datetime, datetime] | None = None) -> list[Any]:
    """Reports of ``online`` from ``T`` every ``every`` until ``until``, none strictly inside ``gap``."""
    out, t = [], T
    while t < until:
        if gap is None or not gap[0] < t < gap[1]:
            out.append((t, "online"))
        t += every
    return out


def test_heartbeats_well_under_the_ttl_read_100_percent() -> None:
    day = T + timedelta(hours=24)
    reports = heartbeats(timedelta(seconds=30), day)
    assert len(reports) == 2880
    assert uptime_percent(reports, T, day, timedelta(minutes=5)) >= 99.9
    assert uptime_percent(reports, T, day, timedelta(seconds=60)) == 100.0


def test_one_ten_minute_silence_in_a_day_reads_about_99_3_percent() -> None:
    day = T + timedelta(hours=24)
    reports = heartbeats(timedelta(seconds=30), day, gap=(m(720), m(730)))
    assert reports[1440:1442] == [(m(720), "online"), (m(730), "online")]  # heartbeats 10 minutes apart
    percent = uptime_percent(reports, T, day, timedelta(minutes=5))
    assert percent == round(100.0 * (1 - 10 / 1440), 2) == 99.31


def test_states_are_matched_case_insensitively_and_unknown_ones_are_down() -> None:
    reports = [(m(0), "ONLINE"), (m(20), "starting"), (m(40), "Connected")]
    assert uptime_percent(reports, m(0), m(60), HOUR) == round(100 * 40 / 60, 2)
