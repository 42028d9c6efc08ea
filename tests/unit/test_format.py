"""How the pages write numbers (layouts/format.py): edge cases beyond the
doctests, and the Alerts page's helpers that delegate to it."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from layouts import alerts_format
from layouts import format as fmt

MISSING = [None, float("nan"), math.nan, "not a number"]


@pytest.mark.parametrize("missing", MISSING)
def test_a_missing_value_is_a_dash_everywhere(missing: object) -> None:
    for writer in (fmt.number, fmt.integer, fmt.duration, fmt.seconds, fmt.percent, fmt.ratio, fmt.size):
        assert writer(missing) == "–", writer.__name__


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 ms"),
        (0.0004, "0.0004 ms"),
        (7.5, "7.5 ms"),
        (850, "850 ms"),
        (999.4, "999 ms"),
        (999.6, "1.0 s"),
        (1234, "1.2 s"),
        (9_960, "10 s"),
        (59_400, "59 s"),
        (59_600, "1 min"),
        (61_000, "1 min 1 s"),
        (1_574_000, "26 min 14 s"),
        (1_546_696.8, "25 min 47 s"),
        (3_599_700, "1 h"),
        (3 * 3_600_000 + 5 * 60_000, "3 h 5 min"),
        (86_400_000, "1 d"),
        (2 * 86_400_000 + 4 * 3_600_000, "2 d 4 h"),
        (400 * 86_400_000, "400 d"),
        (-1500, "-1.5 s"),
        (-1_574_000, "-26 min 14 s"),
        (float("inf"), "∞"),
    ],
)
def test_durations_read_in_human_units(ms: float, text: str) -> None:
    assert fmt.duration(ms) == text


def test_a_huge_duration_counts_days_in_thousands() -> None:
    assert fmt.duration(1e15) == "11,574,074 d 2 h"
    assert fmt.seconds(3.15e9) == "36,458 d 8 h"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.42, "0.42"),
        (1.0, "1"),
        (-3.5, "-3.5"),
        (2034.9305400000067, "2,035"),
        (60096.8, "60,097"),
        (41900.0, "41,900"),
        (-1e6, "-1,000,000"),
        (999.99, "1,000"),
        (1e-9, "0.000000001"),
        (123456789012.3, "123,456,789,012"),
        (1e15, "1e+15"),
        (-2.5e20, "-2.5e+20"),
        (float("-inf"), "-∞"),
        (True, "–"),
    ],
)
def test_numbers_by_magnitude(value: float, text: str) -> None:
    assert fmt.number(value) == text


def test_a_regression_note_reads_in_grouped_whole_numbers() -> None:
    assert f"{fmt.number(4.19e04)} → {fmt.number(5.906e04)}" == "41,900 → 59,060"


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [
        (0, False, "0 %"),
        (0, True, "0 %"),
        (0.0042, False, "0.0042 %"),
        (9.96, False, "10 %"),
        (-0.5, True, "-0.5 %"),
        (140.0, True, "+140 %"),
        (-80.13, False, "-80 %"),
        (12345.6, False, "12,346 %"),
    ],
)
def test_percentages(value: float, signed: bool, text: str) -> None:
    assert fmt.percent(value, signed=signed) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1,023 B"),
        (1024, "1.0 KB"),
        (-2048, "-2.0 KB"),
        (1.5 * 1024**2, "1.5 MB"),
        (2**50, "1.0 PB"),
        (2**60, "1,024 PB"),
    ],
)
def test_sizes_step_by_1024(n: float, text: str) -> None:
    assert fmt.size(n) == text


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [
        (540_000, 780_000, "9–13 min"),
        (590_000, 610_000, "9.8–10.2 min"),  # a narrow band keeps a decimal
        (40_000, 70_000, "40–70 s"),
        (5, 5, "5 ms"),
        (0, 90_000_000, "0–25 h"),
    ],
)
def test_bands_of_durations_share_one_unit(low: float, high: float, text: str) -> None:
    assert fmt.duration_range(low, high) == text


def test_ratios_and_counts() -> None:
    assert (fmt.ratio(2.4187), fmt.ratio(0.19), fmt.ratio(0), fmt.ratio(150.2)) == ("2.4×", "0.19×", "0×", "150×")
    assert (fmt.integer(0), fmt.integer(-12345.4), fmt.integer(1e12)) == ("0", "-12,345", "1,000,000,000,000")


def test_the_alerts_page_writes_values_and_times_as_the_other_pages_do() -> None:
    for v in (5.0, 0.123456, 60096.8, -3, None, float("nan")):
        assert alerts_format.value_text(v) == fmt.number(v)
    assert alerts_format.value_text("scanner-3") == "scanner-3"
    assert alerts_format.when("2026-01-02T03:04:05.678+00:00") == fmt.timestamp("2026-01-02T03:04:05.678+00:00")
    now = datetime(2026, 1, 1, 2, 5, tzinfo=timezone.utc)
    assert alerts_format.ago("2026-01-01T00:00:00+00:00", now) == "2 h 5 min ago"


@pytest.mark.parametrize(
    ("value", "digits", "rounded"),
    [
        (469.5061, 3, 470.0),
        (1234.5678, 3, 1230.0),
        (0.00098765, 3, 0.000988),
        (-2.34567, 2, -2.3),
        (99.96, 3, 100.0),
        (float("inf"), 3, float("inf")),
    ],
)
def test_significant_rounds_to_the_digits_a_histogram_resolves(value: float, digits: int, rounded: float) -> None:
    assert fmt.significant(value, digits) == rounded


@pytest.mark.parametrize("missing", MISSING)
def test_significant_and_by_unit_keep_a_missing_value_missing(missing: object) -> None:
    assert fmt.significant(missing) is None
    for unit in fmt.UNITS:
        assert fmt.by_unit(missing, unit) == "–", unit


@pytest.mark.parametrize(
    ("value", "unit", "digits", "text"),
    [
        (12, "count", 4, "12"),
        (12345, "count", 4, "12,345"),
        (2.5, "count", 4, "2.5"),  # an average count per bucket is not rounded to whole
        (0.0333333, "rate", 4, "0.03333 /min"),
        (99.5, "percent", 4, "100 %"),
        (469.5061, "duration", 3, "470 ms"),
        (61_234.0, "duration", 3, "1 min 1 s"),
        (469.5061, "number", 3, "470"),
        (469.5061, "number", 4, "469.5"),
    ],
)
def test_by_unit_writes_a_value_for_what_it_measures(value: float, unit: str, digits: int, text: str) -> None:
    assert fmt.by_unit(value, unit, digits) == text


def test_axis_settings_suffix_rates_and_percentages_and_start_counts_at_zero() -> None:
    assert fmt.axis("rate")["ticksuffix"] == " /min"
    assert fmt.axis("percent")["ticksuffix"] == " %"
    assert fmt.axis("count")["rangemode"] == "tozero"
    assert "rangemode" not in fmt.axis("number")  # a value may be negative
