"""GET /api/query (Explore) and its CSV forms: metrics, group-by, buckets,
rollups vs raw events, CSV equal to JSON, and bad parameters.

Data: payments (``PAYMENTS_TODAY``: in the 3 hours before ``NOW``, values 10,
20, 50, 5, 30, 15, statuses completed x4, failed, pending, users ann, ben, cid,
ann, dee, eve; plan "pro" when the value is 30 or more), the earlier payments,
request timings and tool borrows of :mod:`tests.read_factories`, and two
``signup`` events whose attrs hold text a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analytics.histogram import RELATIVE_ERROR
from tests.read_factories import (
    DAY,
    HOUR,
    MIN,
    PAYMENTS_EARLIER,
    PAYMENTS_TODAY,
    event,
    fixed_now,
    freeze,
    payments,
    post_events,
    request_timings,
    shared_server,
    tool_borrows,
)

NOW = fixed_now()
TODAY = {"type": "payment", "since": (NOW - 3 * HOUR).isoformat(), "until": NOW.isoformat()}
WEEK = {"type": "payment", "since": (NOW - 8 * DAY).isoformat(), "until": NOW.isoformat()}
PAYERS = "ann,ben,cid,dee,eve,fay,gus,hal,ian,jon"  # every payment's user: a filter that forces raw events


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def explore(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        payments(server, NOW)
        request_timings(server, NOW)
        tool_borrows(server, NOW)
        post_events(
            server,
            [
                event(NOW - 2 * MIN, "signup", source="shop", value=-3, attrs={"plan": '=HYPERLINK("http://x","y")'}),
                event(NOW - 2 * MIN, "signup", source="shop", value=2.5, attrs={"plan": 'free, "trial"\nplan'}),
            ],
        )
        freeze(server, NOW)
        yield server


def query(server: Any, **params: Any) -> dict[str, Any]:
    r = server.get("/api/query", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(
    ("metric", "expected", "source"),
    [
        ("count", 6, "rollups"),
        ("rate", 6 / 180, "rollups"),  # per minute over 3 hours
        ("sum", 130.0, "rollups"),
        ("avg", 130.0 / 6, "rollups"),
        ("min", 5.0, "rollups"),
        ("max", 50.0, "rollups"),
        ("success_rate", 80.0, "rollups"),  # 4 completed of 5 decided; pending is neutral
        ("unique_users", 5, "events"),  # ann paid twice
        ("p95", 45.0, "events"),  # exact: 30 + 0.75 x (50 - 30) between the two largest values
    ],
)
def test_each_metric_of_todays_payments(explore: Any, metric: str, expected: float, source: str) -> None:
    body = query(explore, metric=metric, bucket="none", **TODAY)
    assert body["query"] == {
        "since": TODAY["since"],
        "until": TODAY["until"],
        "metric": metric,
        "field": "value",
        "group_by": None,
        "bucket": "none",
        "top": None,
        "source": source,
    }
    assert body["columns"] == ["value"]
    [row] = body["rows"]
    assert row["value"] == pytest.approx(expected)
    if metric in ("count", "unique_users"):
        assert type(row["value"]) is int  # on PostgreSQL too, whose SUM of integers is NUMERIC


def test_p95_of_durations_from_rollups_is_within_the_histogram_error(explore: Any) -> None:
    body = query(explore, metric="p95", field="duration_ms", type="request", bucket="none", window="3h")
    assert body["query"]["source"] == "rollups"
    durations = sorted([10.0 * (i + 1) for i in range(100)] + [40.0, 60.0])
    true_p95 = durations[math.ceil(0.95 * len(durations)) - 1]
    assert abs(body["rows"][0]["value"] - true_p95) <= RELATIVE_ERROR * true_p95
    # Grouped by user (which rollups do not keep), the same percentile is exact, from raw events.
    exact = query(
        explore, metric="p95", field="duration_ms", type="request", bucket="none", group_by="user", window="3h"
    )
    assert exact["query"]["source"] == "events"
    assert exact["rows"] == [{"group": "(none)", "value": pytest.approx(float(np.percentile(durations, 95)))}]


def test_group_by_a_dimension_or_an_attrs_key(explore: Any) -> None:
    body = query(explore, metric="count", bucket="none", group_by="status", **TODAY)
    assert (body["query"]["source"], body["columns"]) == ("rollups", ["group", "value"])
    assert body["rows"] == [
        {"group": "completed", "value": 4},
        {"group": "failed", "value": 1},
        {"group": "pending", "value": 1},
    ]
    body = query(explore, metric="sum", bucket="none", group_by="attrs.plan", **TODAY)
    assert body["query"]["source"] == "events"
    assert body["rows"] == [{"group": "basic", "value": 50.0}, {"group": "pro", "value": 80.0}]
    body = query(explore, metric="count", bucket="none", group_by="user", **TODAY)
    assert body["rows"] == [
        {"group": u, "value": n} for u, n in (("ann", 2), ("ben", 1), ("cid", 1), ("dee", 1), ("eve", 1))
    ]


def test_a_missing_group_value_has_the_same_label_from_rollups_and_events(explore: Any) -> None:
    since, until = TODAY["since"], TODAY["until"]
    rollups = query(explore, metric="count", bucket="none", group_by="entity", source="shop", since=since, until=until)
    events = query(
        explore, metric="count", bucket="none", group_by="entity", source="shop", user=PAYERS, since=since, until=until
    )
    assert rollups["query"]["source"] == "rollups" and events["query"]["source"] == "events"
    assert rollups["rows"] == [{"group": "(none)", "value": 8}]  # 6 payments and 2 signups, no entity
    assert events["rows"] == [{"group": "(none)", "value": 6}]  # signups have no user


def test_attr_filters_read_raw_events(explore: Any) -> None:
    body = query(explore, metric="sum", bucket="none", attr_key="plan", attr_value="pro", **TODAY)
    assert (body["query"]["source"], body["rows"]) == ("events", [{"value": 80.0}])
    body = query(explore, metric="count", bucket="none", attr_key="plan", type="payment,signup", window="3h")
    assert body["rows"] == [{"value": 8}]


@pytest.mark.parametrize(
    ("bucket", "freq", "rows"),
    [
        ("1h", "1h", [(NOW - 3 * HOUR, 2), (NOW - 2 * HOUR, 2), (NOW - HOUR, 2)]),
        ("1min", "1min", [(NOW + off, 1) for off, *_ in PAYMENTS_TODAY]),
        ("D", "D", [(NOW.replace(hour=0), 6)]),
        ("auto", "1min", [(NOW + off, 1) for off, *_ in PAYMENTS_TODAY]),  # 3 hours in 1-minute buckets: 180 points
    ],
)
def test_buckets_from_rollups(explore: Any, bucket: str, freq: str, rows: list[tuple[Any, int]]) -> None:
    body = query(explore, metric="count", bucket=bucket, **TODAY)
    assert (body["query"]["bucket"], body["query"]["source"], body["columns"]) == (freq, "rollups", ["bucket", "value"])
    assert body["rows"] == [{"bucket": ts.isoformat(), "value": n} for ts, n in rows]


def test_sub_minute_auto_buckets_are_counted_by_the_database(explore: Any) -> None:
    body = query(explore, metric="count", type="borrow", window="1h")  # auto: 30-second buckets
    assert (body["query"]["bucket"], body["query"]["source"]) == ("30s", "event counts")
    assert body["rows"] == [
        {"bucket": (NOW - 45 * MIN).isoformat(), "value": 1},
        {"bucket": (NOW - 10 * MIN).isoformat(), "value": 1},
        {"bucket": (NOW - 3 * MIN).isoformat(), "value": 2},  # 11:57:00 and 11:57:20
        {"bucket": (NOW - 2.5 * MIN).isoformat(), "value": 1},  # 11:57:40
        {"bucket": (NOW - MIN / 2).isoformat(), "value": 1},
    ]


@pytest.mark.parametrize("metric", ["count", "rate"])
@pytest.mark.parametrize("group_by", [None, "user", "status"])
@pytest.mark.parametrize("bucket", ["auto", "10s"])
def test_counts_by_the_database_equal_counts_of_the_raw_events(
    explore: Any, metric: str, group_by: str | None, bucket: str
) -> None:
    from datetime import timedelta

    from reports import explore as report

    q = report.Query(
        since=NOW - timedelta(hours=1),
        until=NOW + timedelta(seconds=1),
        metric=metric,
        group_by=group_by,
        bucket=bucket,
    )
    assert q.counts_in_sql() and not q.uses_rollups()
    with explore.services.db.read() as conn:
        counted = report.run(conn, q)
        raw = report._from_events(conn, q)  # the pandas path over the rows
    cols = list(counted.columns)
    raw = raw[cols].sort_values(cols[:-1]).reset_index(drop=True)
    assert len(counted) > 0
    pd.testing.assert_frame_equal(counted, raw, check_dtype=False)


def test_hourly_counts_from_rollups_equal_a_pandas_count_of_the_posted_events(explore: Any) -> None:
    body = query(explore, metric="count", bucket="1h", **WEEK)
    assert body["query"]["source"] == "rollups"
    ts = pd.Series([NOW + off for off, *_ in PAYMENTS_TODAY + PAYMENTS_EARLIER])
    expected = ts.dt.floor("h").value_counts().sort_index()
    assert body["rows"] == [{"bucket": t.isoformat(), "value": int(n)} for t, n in expected.items()]


@pytest.mark.parametrize("metric", ["count", "rate", "sum", "avg", "min", "max", "success_rate"])
@pytest.mark.parametrize("bucket", ["1h", "D", "W", "none"])
def test_rollups_and_raw_events_give_equal_results(explore: Any, metric: str, bucket: str) -> None:
    rollups = query(explore, metric=metric, bucket=bucket, group_by="status", **WEEK)
    events = query(explore, metric=metric, bucket=bucket, group_by="status", user=PAYERS, **WEEK)
    assert (rollups["query"]["source"], events["query"]["source"]) == ("rollups", "events")
    assert rollups["columns"] == events["columns"]
    assert len(rollups["rows"]) == len(events["rows"]) > 0
    for a, b in zip(rollups["rows"], events["rows"]):
        assert a == pytest.approx(b)


# -------------------------------------------------------------------- CSV


def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return header, rows


def as_cell(value: Any) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize(
    "params",
    [
        {"metric": "sum", "bucket": "1h", "group_by": "status", **WEEK},
        {"metric": "avg", "bucket": "none", "group_by": "attrs.plan", **TODAY},
        {"metric": "p95", "field": "duration_ms", "bucket": "D", "type": "request,payment", "since": WEEK["since"]},
    ],
)
def test_csv_rows_equal_the_json_rows(explore: Any, params: dict[str, str]) -> None:
    body = query(explore, **params)
    r = explore.get("/api/query.csv", params=params)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.csv"')
    assert r.content.endswith(b"\r\n") and b"\n" not in r.content.replace(b"\r\n", b"")
    header, rows = parse_csv(r.text)
    assert header == body["columns"]
    assert len(rows) == len(body["rows"]) > 0
    for cells, row in zip(rows, body["rows"]):
        for cell, column in zip(cells, header):
            value = row[column]
            if isinstance(value, float):
                assert float(cell) == value
            else:
                assert cell == as_cell(value)
    negotiated = explore.get("/api/query", params=params, headers={"Accept": "text/csv"})
    assert negotiated.headers["Content-Type"].startswith("text/csv")
    assert negotiated.content == r.content


def test_csv_of_counts_is_the_same_bytes_on_every_database(explore: Any) -> None:
    r = explore.get("/api/query.csv", params={"metric": "count", "bucket": "1h", "group_by": "status", **TODAY})
    hours = [(NOW - h * HOUR).isoformat() for h in (3, 2, 1)]
    assert r.content.decode() == (
        "bucket,group,value\r\n"
        f"{hours[0]},completed,2\r\n"
        f"{hours[1]},failed,1\r\n"
        f"{hours[1]},pending,1\r\n"
        f"{hours[2]},completed,2\r\n"
    )


def test_csv_neutralises_formulas_and_quotes_text(explore: Any) -> None:
    params = {"metric": "sum", "bucket": "none", "group_by": "attrs.plan", "type": "signup", "window": "1h"}
    body = query(explore, **params)
    assert body["rows"] == [
        {"group": '=HYPERLINK("http://x","y")', "value": -3.0},
        {"group": 'free, "trial"\nplan', "value": 2.5},
    ]
    text = explore.get("/api/query.csv", params=params).content.decode()
    assert text == 'group,value\r\n"\'=HYPERLINK(""http://x"",""y"")",-3.0\r\n"free, ""trial""\nplan",2.5\r\n'
    assert parse_csv(text)[1] == [['\'=HYPERLINK("http://x","y")', "-3.0"], ['free, "trial"\nplan', "2.5"]]


@pytest.mark.parametrize("params", [{"metric": "bad"}, {"group_by": "attrs."}, {"since": "later"}])
def test_bad_parameters_of_the_csv_route_are_400_json(explore: Any, params: dict[str, str]) -> None:
    for r in (
        explore.get("/api/query.csv", params=params),
        explore.get("/api/query", params=params, headers={"Accept": "text/csv"}),
    ):
        assert r.status_code == 400
        assert r.headers["Content-Type"] == "application/json"
        assert f"'{next(iter(params))}'" in r.json()["error"]


def test_json_is_the_default_answer(explore: Any) -> None:
    for accept in ("*/*", "application/json", "application/json, text/csv;q=0.5"):
        r = explore.get("/api/query", params={"bucket": "none", **TODAY}, headers={"Accept": accept})
        assert r.headers["Content-Type"] == "application/json", accept


def test_an_empty_result_is_a_header_only_csv(explore: Any) -> None:
    params = {"metric": "count", "bucket": "1h", "type": "nothing", "window": "1h"}
    assert query(explore, **params)["rows"] == []
    assert explore.get("/api/query.csv", params=params).content == b"bucket,value\r\n"


# ------------------------------------------------------------ top groups


def per_user(rows: list[tuple[Any, float, str, str]], measure: str) -> dict[str, float]:
    """Each payer's count or sum of the factory's payments, computed here."""
    out: dict[str, float] = {}
    for _, amount, _, user in rows:
        out[user] = out.get(user, 0) + (1 if measure == "count" else amount)
    return out


@pytest.mark.parametrize("metric", ["count", "sum"])
def test_top_keeps_the_largest_groups_and_sums_the_rest_as_other(explore: Any, metric: str) -> None:
    totals = per_user(PAYMENTS_TODAY + PAYMENTS_EARLIER, metric)
    ranked = sorted(totals, key=lambda u: (-totals[u], u))
    top, rest = ranked[:3], ranked[3:]
    body = query(explore, metric=metric, bucket="none", group_by="user", top=3, **WEEK)
    assert body["query"]["top"] == 3
    assert body["rows"] == [
        *({"group": u, "value": pytest.approx(totals[u])} for u in top),
        {"group": "other", "value": pytest.approx(sum(totals[u] for u in rest))},
    ]
    csv_rows = parse_csv(
        explore.get(
            "/api/query.csv", params={"metric": metric, "bucket": "none", "group_by": "user", "top": 3, **WEEK}
        ).text
    )[1]
    assert [r[0] for r in csv_rows] == [*top, "other"]
    assert float(csv_rows[-1][1]) == pytest.approx(sum(totals[u] for u in rest))


def test_top_per_bucket_leaves_the_buckets_totals_as_they_are(explore: Any) -> None:
    whole = query(explore, metric="sum", bucket="D", **WEEK)["rows"]
    top = query(explore, metric="sum", bucket="D", group_by="user", top=2, **WEEK)["rows"]
    assert {r["group"] for r in top} <= {"jon", "fay", "other"}  # the two largest payers, and the rest
    per_day: dict[str, float] = {}
    for r in top:
        per_day[r["bucket"]] = per_day.get(r["bucket"], 0.0) + r["value"]
    assert per_day == {r["bucket"]: pytest.approx(r["value"]) for r in whole if r["value"]}


def test_top_of_a_mean_leaves_the_rest_out(explore: Any) -> None:
    body = query(explore, metric="avg", bucket="none", group_by="user", top=2, **WEEK)
    assert [r["group"] for r in body["rows"]] == ["ann", "ben"]  # ranked by their number of events
    assert body["rows"][0]["value"] == pytest.approx((10.0 + 5.0) / 2)


@pytest.mark.parametrize("top", ["0", "51", "x", "2.5"])
def test_a_bad_top_is_400_naming_it(explore: Any, top: str) -> None:
    for r in (
        explore.get("/api/query", params={"group_by": "user", "top": top}),
        explore.get("/api/query.csv", params={"group_by": "user", "top": top}),
    ):
        assert r.status_code == 400, r.text
        assert "'top'" in r.json()["error"]


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"metric": "bad"}, "metric"),
        ({"metric": "p42"}, "metric"),
        ({"bucket": "bad"}, "bucket"),
        ({"bucket": "30s"}, "bucket"),
        ({"group_by": "bad"}, "group_by"),
        ({"group_by": "attrs."}, "group_by"),
        ({"field": "price"}, "field"),
        ({"window": "abc"}, "window"),
        ({"window": "0"}, "window"),
        ({"since": NOW.isoformat(), "until": (NOW - HOUR).isoformat()}, "since"),
        ({"since": "2024-02-30"}, "since"),
        ({"since": (NOW - 401 * DAY).isoformat()}, "since"),
        ({"until": "nan"}, "until"),
        ({"entity": ",".join(["x" * 301])}, "entity"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(explore: Any, params: dict[str, str], name: str) -> None:
    r = explore.get("/api/query", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert f"'{name}'" in r.json()["error"]
