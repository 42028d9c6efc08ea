"""Per-tool per-minute usage history (analytics.usage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from analytics.usage import HISTORY_COLUMNS, history_by_entity, minute_history


def borrows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(
                [
                    "2025-11-04 10:30:05",
                    "2025-11-04 10:30:40",
                    "2025-11-04 10:30:50",
                    "2025-11-04 10:32:10",
                    "2025-11-04 10:30:20",
                ],
                utc=True,
            ).as_unit("us"),
            "entity": ["Vector", "Vector", "Vector", "Vector", "CANoe"],
            "user": ["bob", "alice", "bob", None, "carol"],
            "attrs": [{"overage": True}, None, {"overage": "true"}, {"overage": 0}, {"overage": False}],
        }
    )


def test_history_per_tool_and_minute() -> None:
    out = minute_history(borrows())
    expected = pd.DataFrame(
        {
            "entity": ["CANoe", "Vector", "Vector"],
            "timestamp": ["2025-11-04T10:30:00Z", "2025-11-04T10:30:00Z", "2025-11-04T10:32:00Z"],
            "count": np.array([1, 3, 1], dtype="int64"),
            "users": [["carol"], ["alice", "bob"], []],
            "overage_count": np.array([0, 2, 0], dtype="int64"),
        }
    )
    assert_frame_equal(out, expected, check_dtype=False)
    assert out["count"].dtype == np.int64


def test_complete_history_fills_empty_minutes() -> None:
    out = minute_history(borrows(), complete=True)
    vector = out[out["entity"] == "Vector"]
    assert vector["timestamp"].tolist() == ["2025-11-04T10:30:00Z", "2025-11-04T10:31:00Z", "2025-11-04T10:32:00Z"]
    assert vector["count"].tolist() == [3, 0, 1] and vector["users"].tolist()[1] == []
    assert len(out[out["entity"] == "CANoe"]) == 3


def test_window_limits_history_and_complete_covers_the_window() -> None:
    now = pd.Timestamp("2025-11-04 10:33", tz="UTC")
    out = minute_history(borrows(), window="2min", now=now)
    assert out[["entity", "timestamp", "count"]].to_dict("records") == [
        {"entity": "Vector", "timestamp": "2025-11-04T10:32:00Z", "count": 1}
    ]
    filled = minute_history(borrows(), window="2min", now=now, complete=True)
    assert filled["timestamp"].tolist() == ["2025-11-04T10:31:00Z", "2025-11-04T10:32:00Z", "2025-11-04T10:33:00Z"]


def test_flag_key_is_a_parameter() -> None:
    df = borrows().assign(attrs=[{"late": 1}, {"late": 1}, None, None, None])
    out = minute_history(df, flag_key="late")
    assert out.loc[out["entity"] == "Vector", "overage_count"].tolist() == [2, 0]


def test_empty_history() -> None:
    out = minute_history(borrows().iloc[0:0])
    assert out.empty and list(out.columns) == HISTORY_COLUMNS
    assert history_by_entity(out) == {}


def test_history_by_entity_is_the_scenario_payload() -> None:
    payload = history_by_entity(minute_history(borrows()))
    assert payload["Vector"][0] == {
        "timestamp": "2025-11-04T10:30:00Z",
        "count": 3,
        "users": ["alice", "bob"],
        "overage_count": 2,
    }
    assert list(payload) == ["CANoe", "Vector"]


def test_input_is_not_mutated() -> None:
    df = borrows()
    before = df.copy()
    minute_history(df, complete=True)
    assert_frame_equal(df, before)
