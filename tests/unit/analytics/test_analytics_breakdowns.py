"""Outcome by status, breakdowns by dimension and attrs, unique users (analytics.breakdowns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics.breakdowns import (
    StatusMix,
    attr_breakdown,
    breakdown,
    classify_status,
    success_rate,
    unique_users,
)


@pytest.mark.parametrize("status", ["ok", "Success", " completed ", "online", "SUCCEEDED", "200", "204", 201, 299.0])
def test_success_statuses(status: object) -> None:
    assert classify_status(status) == "success"


@pytest.mark.parametrize("status", ["error", "FAILED", "failure", "timeout", "offline", "404", 500, 503.0, "599"])
def test_failure_statuses(status: object) -> None:
    assert classify_status(status) == "failure"


@pytest.mark.parametrize("status", ["pending", "302", "600", "", None, float("nan"), "queued", 199])
def test_neutral_statuses(status: object) -> None:
    assert classify_status(status) == "neutral"


def test_success_rate_ignores_neutral_rows() -> None:
    df = pd.DataFrame({"status": ["ok", "error", "ok", "200", "queued", None]})
    assert success_rate(df) == StatusMix(success=3, failure=1, neutral=2, total=6, success_rate=0.75, failure_rate=0.25)


def test_success_rate_over_a_window() -> None:
    df = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2024-05-01 09:00", "2024-05-01 10:25", "2024-05-01 10:29"], utc=True),
            "status": ["error", "ok", "timeout"],
        }
    )
    mix = success_rate(df, window="10min", now=pd.Timestamp("2024-05-01 10:30", tz="UTC"))
    assert (mix.success, mix.failure, mix.success_rate) == (1, 1, 0.5)


def test_success_rate_on_rollups_uses_counts() -> None:
    rollups = pd.DataFrame({"status": ["200", "500", ""], "count": [90, 10, 5]})
    mix = success_rate(rollups, count_col="count")
    assert (mix.success, mix.failure, mix.neutral, mix.success_rate) == (90, 10, 5, 0.9)


def test_success_rate_without_decided_rows_is_none() -> None:
    assert success_rate(pd.DataFrame({"status": ["queued"]})).success_rate is None
    empty = success_rate(pd.DataFrame({"status": pd.Series([], dtype=object)}))
    assert empty.as_dict() == {
        "success": 0,
        "failure": 0,
        "neutral": 0,
        "total": 0,
        "success_rate": None,
        "failure_rate": None,
    }


def test_breakdown_by_one_column() -> None:
    df = pd.DataFrame({"status": ["ok", "ok", "error", None], "value": [1.0, 2.0, 4.0, 8.0]})
    out = breakdown(df, by="status", value="value")
    expected = pd.DataFrame(
        {
            "status": ["ok", "(none)", "error"],
            "count": np.array([2, 1, 1], dtype="int64"),
            "share": [0.5, 0.25, 0.25],
            "value_sum": [3.0, 8.0, 4.0],
        }
    )
    assert_frame_equal(out, expected, check_dtype=False)
    assert out["count"].dtype == np.int64


def test_breakdown_by_two_columns_with_top_and_other() -> None:
    df = pd.DataFrame({"source": ["a", "a", "a", "b", "b", "c"], "type": ["x", "x", "y", "x", "x", "x"]})
    out = breakdown(df, by=["source", "type"], top=1)
    assert out.to_dict("list") == {
        "source": ["a", "other"],
        "type": ["x", "other"],
        "count": [2, 4],
        "share": [2 / 6, 4 / 6],
    }


def test_breakdown_on_rollups_and_empty() -> None:
    rollups = pd.DataFrame({"entity": ["/a", "/b", "/a"], "count": [5, 3, 1]})
    assert breakdown(rollups, by="entity", count_col="count")["count"].tolist() == [6, 3]
    empty = breakdown(rollups.iloc[0:0], by="entity", count_col="count")
    assert empty.empty and list(empty.columns) == ["entity", "count", "share"]


def test_attr_breakdown_sums_dicts_of_counts() -> None:
    df = pd.DataFrame(
        {
            "attrs": [
                {"degradation_counts": {"smudge": 1, "glare": 2}},
                {"degradation_counts": {"glare": 1, "blur": "3"}},
                None,
                {"other": 1},
            ]
        }
    )
    out = attr_breakdown(df, key="degradation_counts")
    expected = pd.DataFrame(
        {"category": ["blur", "glare", "smudge"], "count": [3.0, 3.0, 1.0], "share": [3 / 7, 3 / 7, 1 / 7]}
    )
    assert_frame_equal(out, expected, check_dtype=False)


def test_attr_breakdown_of_scalars_lists_split_strings_and_nested_keys() -> None:
    df = pd.DataFrame({"attrs": [{"button": "Num5"}, {"button": "Num5"}, {"button": ["Num1", "Num5"]}, {}]})
    assert attr_breakdown(df, key="button")[["category", "count"]].to_dict("list") == {
        "category": ["Num5", "Num1"],
        "count": [3.0, 1.0],
    }
    split = pd.DataFrame({"attrs": [{"degradations": "smudge,glare"}, {"degradations": "glare"}]})
    assert attr_breakdown(split, key="degradations", split=",")["count"].tolist() == [2.0, 1.0]
    nested = pd.DataFrame({"attrs": [{"img": {"kind": "png"}}, {"img": {"kind": "jpg"}}, {"img": 3}]})
    assert sorted(attr_breakdown(nested, key="img.kind")["category"]) == ["jpg", "png"]


def test_attr_breakdown_of_nothing() -> None:
    out = attr_breakdown(pd.DataFrame({"attrs": [None, {}]}), key="x")
    assert out.empty and list(out.columns) == ["category", "count", "share"]


def test_unique_users_in_a_window() -> None:
    ts = pd.to_datetime(
        ["2024-05-01 09:00", "2024-05-01 10:00", "2024-05-01 10:10", "2024-05-01 10:20", "2024-05-01 10:21"], utc=True
    )
    df = pd.DataFrame({"ts": ts, "user": ["carol", "bob", None, "alice", ""]})
    got = unique_users(df, window="30min", now=pd.Timestamp("2024-05-01 10:25", tz="UTC"))
    assert got.as_dict() == {"count": 2, "users": ["alice", "bob"]}
    assert unique_users(df).users == ["alice", "bob", "carol"]


def test_unique_users_of_empty_frame() -> None:
    df = pd.DataFrame({"ts": pd.to_datetime([], utc=True), "user": pd.Series([], dtype=object)})
    assert unique_users(df, window="30min").count == 0


def test_inputs_are_not_mutated() -> None:
    df = pd.DataFrame({"status": ["ok", None], "attrs": [{"k": {"a": 1}}, None]})
    before = df.copy()
    breakdown(df, by="status")
    attr_breakdown(df, key="k")
    success_rate(df)
    assert_frame_equal(df, before)
