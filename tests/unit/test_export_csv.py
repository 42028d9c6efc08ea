"""data/export.py: CSV byte for byte (the Datasette way)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from data.export import cell, csv_lines

COLUMNS = ["name", "value", "when", "note"]
ROWS = [
    {"name": "plain", "value": 1, "when": datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc), "note": None},
    {"name": "with, comma", "value": -3, "when": None, "note": 'say "hi"'},
    {
        "name": "two\nlines",
        "value": 2.5,
        "when": datetime(2024, 5, 1, 10, 0, 30, 250000, tzinfo=timezone.utc),
        "note": "=1+2",
    },
    {"name": "+SUM(A1:A2)", "value": -0.5, "when": None, "note": "-cmd"},
    {"name": "@import", "value": float("nan"), "when": None, "note": "\tTAB"},
    {"name": "\rCR", "value": None, "when": None, "note": "ok=fine"},
]
EXPECTED = (
    "name,value,when,note\r\n"
    "plain,1,2024-05-01T10:00:00+00:00,\r\n"
    '"with, comma",-3,,"say ""hi"""\r\n'
    '"two\nlines",2.5,2024-05-01T10:00:30.250000+00:00,\'=1+2\r\n'
    "'+SUM(A1:A2),-0.5,,'-cmd\r\n"
    "'@import,,,'\tTAB\r\n"
    '"\'\rCR",,,ok=fine\r\n'
)


def test_it_writes_a_small_table_byte_for_byte() -> None:
    assert "".join(csv_lines(COLUMNS, [ROWS])).encode() == EXPECTED.encode()


def test_chunks_do_not_change_the_bytes() -> None:
    chunks = [ROWS[:1], [], ROWS[1:4], ROWS[4:]]
    out = list(csv_lines(COLUMNS, chunks))
    assert out[0] == "name,value,when,note\r\n"
    assert len(out) == 4  # the header, then one string per non-empty chunk
    assert "".join(out) == EXPECTED


def test_it_reads_back_with_the_csv_module() -> None:
    rows = list(csv.reader(io.StringIO(EXPECTED, newline="")))
    assert rows[0] == COLUMNS
    assert [r[0] for r in rows[1:]] == ["plain", "with, comma", "two\nlines", "'+SUM(A1:A2)", "'@import", "'\rCR"]
    assert [r[1] for r in rows[1:]] == ["1", "-3", "2.5", "-0.5", "", ""]


def test_an_empty_table_is_its_header_only() -> None:
    assert list(csv_lines(["bucket", "value"], [])) == ["bucket,value\r\n"]


def test_missing_columns_are_empty_cells() -> None:
    assert "".join(csv_lines(["a", "b"], [[{"a": 1}]])) == "a,b\r\n1,\r\n"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (float("nan"), ""),
        (pd.NaT, ""),
        (np.float64("nan"), ""),
        (-3, "-3"),
        (-3.25, "-3.25"),
        (1e-07, "1e-07"),
        (np.int64(-3), "-3"),
        (np.float64(-0.5), "-0.5"),
        (Decimal("-2.50"), "-2.50"),
        (True, "true"),
        (np.bool_(False), "false"),
        (datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T12:00:00+02:00"),
        (pd.Timestamp("2024-05-01 10:00", tz="UTC"), "2024-05-01T10:00:00+00:00"),
        ({"a": [1, "x"]}, '{"a":[1,"x"]}'),
        ("-3", "'-3"),  # text that looks like a formula stays text
        ("=A1", "'=A1"),
        ("+1", "'+1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_cells(value: object, text: str) -> None:
    assert cell(value) == text
