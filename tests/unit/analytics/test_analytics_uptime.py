"""analytics.uptime: a component's state over time from its reports and TTL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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


def test_silence_past_the_ttl_counts_as_down_until_the_next_report() -> None:
    reports = [(m(0), "online"), (m(50), "online")]
    assert healthy_seconds(reports, m(0), m(60), timedelta(minutes=20)) == (1800.0, 3600.0)


def test_states_are_matched_case_insensitively_and_unknown_ones_are_down() -> None:
    reports = [(m(0), "ONLINE"), (m(20), "starting"), (m(40), "Connected")]
    assert uptime_percent(reports, m(0), m(60), HOUR) == round(100 * 40 / 60, 2)
