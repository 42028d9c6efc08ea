"""CSV: the one place that writes it. Rows stream out in chunks (constant
memory), and text cells that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with a
single quote. Numbers are written as numbers, timestamps as ISO 8601, missing
values as empty cells.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One CSV cell as text. Numbers of any type (numpy's, Decimal) are numbers,
    never formulas.

    >>> [cell(v) for v in (None, 1.5, float("nan"), "=SUM(A1)", "-x", -3, True, {"a": 1})]
    ['', '1.5', '', "'=SUM(A1)", "'-x", '-3', 'true', '{"a":1}']
    >>> from decimal import Decimal
    >>> [cell(v) for v in (np.int64(-3), np.float64(-0.5), Decimal("-2.50"), np.bool_(False), pd.NaT)]
    ['-3', '-0.5', '-2.50', 'false', '']
    """
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return "" if math.isnan(number) else repr(number)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, (dict, list)):
        text = orjson.dumps(value).decode()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(columns: Sequence[str], chunks: Iterable[Iterable[dict[str, Any]]]) -> Iterator[str]:
    """The header, then one text chunk per chunk of rows (CRLF line ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([cell(c) for c in columns])
    yield buf.getvalue()
    for rows in chunks:
        buf.seek(0)
        buf.truncate()
        for row in rows:
            writer.writerow([cell(row.get(c)) for c in columns])
        if buf.tell():
            yield buf.getvalue()
