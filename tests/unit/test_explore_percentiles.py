"""Percentiles from the rollups' histograms, per time bucket and group: all
groups at once give what ``percentiles_from_hist`` gives for each one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.histogram import percentiles_from_hist
from reports.explore import grouped_percentile


def histogram_rows(seed: int, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "time": rng.integers(0, 12, rows) * 300,
            "entity": rng.choice(["a", "b", "c", ""], rows),
            "bucket": rng.integers(-40, 101, rows),
            "count": rng.integers(0, 30, rows),  # a count of 0 too: a group may count nothing
        }
    )


@pytest.mark.parametrize("keys", [["time"], ["entity"], ["time", "entity"]])
@pytest.mark.parametrize("pct", [50.0, 95.0, 99.0])
def test_every_group_gets_the_percentile_of_its_own_rows(keys: list[str], pct: float) -> None:
    hist = histogram_rows(7)
    hist.loc[hist.index[:5], "count"] = 0
    hist.loc[(hist["time"] == 0) & (hist["entity"] == "a"), "count"] = 0  # a group that counts nothing
    got = grouped_percentile(hist, keys, pct)
    want = [
        (*(key if isinstance(key, tuple) else (key,)), percentiles_from_hist(part, [pct])[pct])
        for key, part in hist.groupby(keys, sort=True)
    ]
    assert list(got.columns) == [*keys, "value"]
    assert len(got) == len(want)
    for row, expected in zip(got.itertuples(index=False), want):
        assert tuple(row)[:-1] == expected[:-1]
        value, reference = row[-1], expected[-1]
        assert (math.isnan(value) and reference is None) or value == reference


def test_no_keys_is_one_row_and_nothing_counted_is_nan() -> None:
    hist = histogram_rows(3)
    assert grouped_percentile(hist, [], 90.0)["value"].tolist() == [percentiles_from_hist(hist, [90.0])[90.0]]
    assert math.isnan(grouped_percentile(hist.assign(count=0), [], 90.0)["value"].iloc[0])


def test_rows_of_a_missing_key_belong_to_no_group() -> None:
    hist = pd.DataFrame({"entity": ["a", None, "a"], "bucket": [0, 40, 4], "count": [1, 100, 1]})
    got = grouped_percentile(hist, ["entity"], 99.0)
    assert got["entity"].tolist() == ["a"]
    assert got["value"].tolist() == [percentiles_from_hist(hist.iloc[[0, 2]], [99.0])[99.0]]
