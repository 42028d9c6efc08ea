"""Session figures for the macro scenario (analytics.sessions)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics.sessions import session_summary, speed_over_time


def T(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def events(times: list[str], boxes: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.to_datetime(times, utc=True).as_unit("us"), "value": boxes})


SESSION = events(["2024-05-01 10:00", "2024-05-01 10:05", "2024-05-01 10:20"], [6.0, 3.0, 3.0])


def test_summary_from_first_to_last_event() -> None:
    s = session_summary(SESSION, freq="10min")
    assert (s.events, s.total, s.start, s.end) == (3, 12.0, T("2024-05-01 10:00"), T("2024-05-01 10:20"))
    assert s.duration_seconds == 1200.0
    assert s.average_speed == 12.0 / 1200.0
    # Last 10 minutes before the end hold one interaction of 3 boxes.
    assert s.current_speed == 3.0 / 600.0
    expected = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:10", "2024-05-01 10:20"], utc=True).as_unit("us"),
            "value": [9.0 / 600.0, 0.0, 3.0 / 600.0],
        }
    )
    assert_frame_equal(s.speed, expected)


def test_explicit_start_and_end_set_the_duration() -> None:
    s = session_summary(SESSION, start=T("2024-05-01 09:50"), end=T("2024-05-01 10:30"))
    assert s.duration_seconds == 2400.0
    assert s.average_speed == 12.0 / 2400.0
    assert s.current_speed == 3.0 / 600.0


def test_current_speed_uses_now_for_a_live_session() -> None:
    s = session_summary(SESSION, now=T("2024-05-01 10:35"))
    assert s.current_speed == 0.0
    assert session_summary(SESSION, now=T("2024-05-01 10:25")).current_speed == 3.0 / 600.0


def test_young_session_is_measured_since_its_start() -> None:
    df = events(["2024-05-01 10:01"], [60.0])
    s = session_summary(df, start=T("2024-05-01 10:00"), now=T("2024-05-01 10:02"))
    assert s.current_speed == 60.0 / 120.0


def test_empty_session() -> None:
    s = session_summary(events([], []))
    assert (s.events, s.total, s.start, s.end, s.average_speed, s.current_speed) == (0, 0.0, None, None, None, None)
    assert s.speed.empty and list(s.speed.columns) == ["ts", "value"]


def test_single_event_has_no_duration_to_divide_by() -> None:
    s = session_summary(events(["2024-05-01 10:00"], [5.0]))
    assert s.duration_seconds == 0.0 and s.total == 5.0
    assert s.average_speed is None and s.current_speed is None


def test_missing_box_counts_are_ignored() -> None:
    s = session_summary(events(["2024-05-01 10:00", "2024-05-01 10:10"], [4.0, np.nan]))
    assert s.total == 4.0 and s.events == 2


def test_events_outside_explicit_bounds_are_left_out() -> None:
    s = session_summary(SESSION, start=T("2024-05-01 10:04"), end=T("2024-05-01 10:10"))
    assert s.events == 1 and s.total == 3.0


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        session_summary(SESSION, start=T("2024-05-01 11:00"), end=T("2024-05-01 10:00"))


def test_as_dict_is_json_ready() -> None:
    d = session_summary(SESSION, freq="10min").as_dict()
    assert d["start"] == "2024-05-01T10:00:00+00:00"
    assert d["speed"][0] == {"ts": "2024-05-01T10:00:00+00:00", "value": 0.015}
    json.dumps(d)


def test_speed_over_time_picks_a_bucket_size_by_itself() -> None:
    times = pd.date_range("2024-05-01 10:00", periods=120, freq="min", tz="UTC")
    df = pd.DataFrame({"ts": times, "value": 6.0})
    out = speed_over_time(df)
    # 1 h 59 min -> 30 s buckets (238 points): each minute's 6 boxes land in its first half.
    assert len(out) == 239
    assert out["value"].iloc[:4].tolist() == [0.2, 0.0, 0.2, 0.0]


def test_speed_over_time_empty() -> None:
    assert speed_over_time(events([], [])).empty
