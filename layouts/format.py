"""How the pages write numbers: durations in human units, numbers by
magnitude with thousands separators, percentages, ratios, byte sizes and
timestamps. Plain functions from values to strings (no components), each
doctested; a missing value (None, NaN) is always written ``–``.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

MISSING = "–"
SIGNIFICANT = 4  # significant digits of a number below 1,000
HUGE = 1e15  # from here on a number is written in scientific notation

_SECOND = 1000.0
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def _real(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not a number.

    >>> _real(3), _real(None), _real(float("nan")), _real("x"), _real(True)
    (3.0, None, None, None, None)
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _plain(text: str) -> str:
    # "1.235e-05" -> "0.00001235": significant digits, never an exponent.
    return f"{Decimal(text):f}" if "e" in text else text


def number(value: Any, digits: int = SIGNIFICANT) -> str:
    """A number by its magnitude: from 1,000 on whole and grouped in
    thousands, below that ``digits`` significant digits without trailing
    zeros; never an exponent below 10^15.

    >>> number(60096.8), number(2034.93054), number(0.42), number(5.0), number(87.5)
    ('60,097', '2,035', '0.42', '5', '87.5')
    >>> number(0), number(-1234.5), number(0.0000123456), number(999.96)
    ('0', '-1,234', '0.00001235', '1,000')
    >>> number(None), number(float("nan")), number(float("inf")), number(3.2e18)
    ('–', '–', '∞', '3.2e+18')
    """
    v = _real(value)
    if v is None:
        return MISSING
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if abs(v) >= HUGE:
        return f"{v:.2g}"
    rounded = float(f"{v:.{digits}g}")
    if rounded == 0:
        return "0"
    if abs(rounded) >= 1000:
        return f"{v:,.0f}"
    return _plain(f"{v:.{digits}g}")


def integer(value: Any) -> str:
    """A count, grouped in thousands.

    >>> integer(1234567), integer(3.0), integer(None)
    ('1,234,567', '3', '–')
    """
    v = _real(value)
    if v is None:
        return MISSING
    return number(v) if math.isinf(v) else f"{round(v):,}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` things, the noun in the plural unless there is one.

    >>> count(1, "notification"), count(0, "silence"), count(1086, "alert"), count(2, "delivery", "deliveries")
    ('1 notification', '0 silences', '1,086 alerts', '2 deliveries')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _two_units(total: float, big: float, big_name: str, small: float, small_name: str) -> str:
    whole = int(total // small)  # in small units, rounded down first so that 59.6 s is never "60 s"
    if total - whole * small >= small / 2:
        whole += 1
    per = int(round(big / small))
    high, low = divmod(whole, per)
    return f"{high:,} {big_name}" + (f" {low} {small_name}" if low else "")


def duration(ms: Any) -> str:
    """A duration given in milliseconds, in the units a person reads: ms
    below a second, seconds below a minute, then minutes and seconds, hours
    and minutes, days and hours.

    >>> duration(850), duration(1234), duration(45_400), duration(1_574_000)
    ('850 ms', '1.2 s', '45 s', '26 min 14 s')
    >>> duration(3 * 3_600_000 + 5 * 60_000), duration(2 * 86_400_000 + 4 * 3_600_000), duration(7_200_000)
    ('3 h 5 min', '2 d 4 h', '2 h')
    >>> duration(0), duration(0.25), duration(-1500), duration(None), duration(float("nan"))
    ('0 ms', '0.25 ms', '-1.5 s', '–', '–')
    >>> duration(59_960), duration(1e15)
    ('1 min', '11,574,074 d 2 h')
    """
    v = _real(ms)
    if v is None:
        return MISSING
    if math.isinf(v):
        return number(v)
    if v < 0:
        return "-" + duration(-v)
    if v == 0:
        return "0 ms"
    if round(v) < _SECOND:
        return f"{number(v, 2) if v < 10 else round(v)} ms"
    if round(v / 100) * 100 < 10 * _SECOND:  # 1.0 s to 9.9 s, one decimal
        return f"{v / _SECOND:.1f} s"
    if round(v / _SECOND) < 60:
        return f"{round(v / _SECOND)} s"
    if round(v / _SECOND) < 3600:
        return _two_units(v, _MINUTE, "min", _SECOND, "s")
    if round(v / _MINUTE) < 24 * 60:
        return _two_units(v, _HOUR, "h", _MINUTE, "min")
    return _two_units(v, _DAY, "d", _HOUR, "h")


def seconds(value: Any) -> str:
    """A duration given in seconds (see :func:`duration`).

    >>> seconds(288), seconds(0.85), seconds(None)
    ('4 min 48 s', '850 ms', '–')
    """
    v = _real(value)
    return MISSING if v is None else duration(v * _SECOND)


_UNITS = (("d", _DAY), ("h", _HOUR), ("min", _MINUTE), ("s", _SECOND), ("ms", 1.0))


def duration_range(low: Any, high: Any) -> str:
    """A band of durations (ms) in one unit: the largest unit that the
    larger end holds at least twice; whole numbers unless the band is
    narrow in that unit.

    >>> duration_range(540_000, 780_000), duration_range(1200, 2500), duration_range(40, 900)
    ('9–13 min', '1.2–2.5 s', '40–900 ms')
    >>> duration_range(590_000, 610_000), duration_range(-200, 900), duration_range(None, 5), duration_range(0, 0)
    ('9.8–10.2 min', '-200–900 ms', '–', '0 ms')
    """
    lo, hi = _real(low), _real(high)
    if lo is None or hi is None or math.isinf(lo) or math.isinf(hi):
        return MISSING
    if lo == hi == 0:
        return "0 ms"
    top = max(abs(lo), abs(hi))
    name, unit = next(((n, u) for n, u in _UNITS if top >= 2 * u), ("ms", 1.0))
    whole = unit == 1.0 and top >= 10 or (top / unit >= 10 and (hi - lo) / unit >= 2)
    a, b = (f"{x / unit:,.0f}" if whole else f"{x / unit:,.1f}" for x in (lo, hi))
    if a.endswith(".0") and b.endswith(".0"):
        a, b = a[:-2], b[:-2]
    return f"{a} {name}" if a == b else f"{a}–{b} {name}"


def percent(value: Any, *, signed: bool = False) -> str:
    """A percentage (given in percent): whole from 10 on, one decimal below
    1 to 10, two significant digits under 1.

    >>> percent(42.4), percent(7.25), percent(0.042), percent(0), percent(100)
    ('42 %', '7.2 %', '0.042 %', '0 %', '100 %')
    >>> percent(40, signed=True), percent(-80.13, signed=True), percent(None)
    ('+40 %', '-80 %', '–')
    """
    v = _real(value)
    if v is None:
        return MISSING
    size = abs(v)
    text = (
        f"{size:,.0f}"
        if size >= 9.95
        else f"{size:.1f}".removesuffix(".0")
        if size >= 0.995
        else "0"
        if size == 0
        else number(size, 2)
    )
    sign = "-" if v < 0 and text != "0" else "+" if signed and v > 0 else ""
    return f"{sign}{text} %"


def ratio(value: Any) -> str:
    """How many times another value, ``2.4×``.

    >>> ratio(2.4187), ratio(12.6), ratio(0.5), ratio(None)
    ('2.4×', '13×', '0.5×', '–')
    """
    v = _real(value)
    if v is None:
        return MISSING
    return f"{number(v, 2) if abs(v) < 10 else number(round(v))}×"


def size(n_bytes: Any) -> str:
    """A size in bytes, in steps of 1,024 (as file managers show it).

    >>> size(0), size(512), size(1536), size(5 * 1024**3), size(3 * 1024**6), size(None)
    ('0 B', '512 B', '1.5 KB', '5.0 GB', '3,072 PB', '–')
    """
    v = _real(n_bytes)
    if v is None:
        return MISSING
    if abs(v) < 1024:
        return f"{v:,.0f} B"
    for unit in ("KB", "MB", "GB", "TB"):
        v /= 1024
        if abs(v) < 1024:
            return f"{v:,.1f} {unit}"
    return f"{v / 1024:,.0f} PB" if abs(v / 1024) >= 10 else f"{v / 1024:,.1f} PB"


def timestamp(iso: str | None) -> str:
    """An ISO timestamp as the pages show it (UTC, to the second).

    >>> timestamp("2026-01-02T03:04:05.678+00:00"), timestamp(None)
    ('2026-01-02 03:04:05', '–')
    """
    return iso[:19].replace("T", " ") if iso else MISSING


def value(v: Any) -> str:
    """Anything a table cell may hold: a number by :func:`number`, a missing
    value as ``–``, anything else as text.

    >>> value(60096.8), value(None), value("batch-01"), value(True), value({"a": 1})
    ('60,097', '–', 'batch-01', 'True', "{'a': 1}")
    """
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return number(v)
    return str(v)


def significant(value: Any, digits: int = 3) -> float | None:
    """``value`` rounded to ``digits`` significant digits: what a number
    known to that precision (a percentile from histogram buckets) may show.

    >>> significant(469.5061), significant(0.0123456), significant(123456.0), significant(0), significant(None)
    (470.0, 0.0123, 123000.0, 0.0, None)
    """
    v = _real(value)
    if v is None or math.isinf(v) or v == 0:
        return v
    return round(v, digits - 1 - math.floor(math.log10(abs(v))))


UNITS = ("count", "rate", "percent", "duration", "number")


def by_unit(value: Any, unit: str, digits: int = SIGNIFICANT) -> str:
    """A value written for its unit (see ``core.charts.unit``): a count
    whole, a rate per minute, a percentage, a duration (ms) in human units,
    any other number to ``digits`` significant digits.

    >>> by_unit(1234, "count"), by_unit(0.42857, "rate"), by_unit(97.123, "percent")
    ('1,234', '0.4286 /min', '97 %')
    >>> by_unit(469.5061, "duration"), by_unit(469.5061, "number", 3), by_unit(None, "count")
    ('470 ms', '470', '–')
    """
    if unit == "count":
        return integer(value) if _real(value) is None or float(value) == round(float(value)) else number(value)
    if unit == "rate":
        text = number(value, digits)
        return text if text == MISSING else f"{text} /min"
    if unit == "percent":
        return percent(value)
    if unit == "duration":
        v = _real(value)
        return duration(v if v is None else significant(v, digits))
    return number(value, digits)


def axis(unit: str) -> dict[str, Any]:
    """Plotly axis settings for values of ``unit`` (durations excepted: their
    ticks depend on the largest value, ``layouts.figures.duration_axis``).

    >>> axis("percent"), axis("number")
    ({'ticksuffix': ' %'}, {'tickformat': ',~r'})
    """
    if unit == "percent":  # not from zero: 92 % to 99 % would be a flat line at the top
        return {"ticksuffix": " %"}
    if unit == "rate":
        return {"ticksuffix": " /min", "rangemode": "tozero", "tickformat": ",~r"}
    if unit == "count":
        return {"rangemode": "tozero", "tickformat": ",~r"}
    return {"tickformat": ",~r"}
