"""Explore's top groups (reports.explore.run_top): the largest groups by their
total, the rest summed as "other" for counts and sums and left out for
percentiles; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from app import create_app
from core.filters import Filters
from data.ingest import event_row, ingest
from reports import explore
from settings import load_settings

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
# Users u00..u13: u00 has 14 events, u01 13, ... u13 one; all in two hours.
USERS = {f"u{i:02d}": 14 - i for i in range(14)}


@pytest.fixture
def services(db_url: str, tmp_path: Any) -> Iterator[Any]:
    svc = create_app(load_settings({"db": db_url, "data_dir": str(tmp_path)}, environ={})).server.extensions[
        "pulseboard"
    ]
    rows = []
    for user, n in USERS.items():
        for i in range(n):
            ts = NOW - 2 * HOUR + timedelta(minutes=7 * i)
            rows.append(
                event_row(
                    ts, f"app{i % 3}", "request", user=user, duration_ms=10.0 * (i + 1), value=float(i), status="ok"
                )
            )
    ingest(svc.db, rows)
    yield svc
    svc.close()


def query(**kw: Any) -> explore.Query:
    return explore.Query(since=NOW - 2 * HOUR, until=NOW, filters=Filters(type=("request",)), **kw)


def run_top(services: Any, q: explore.Query, n: int = 10) -> tuple[Any, int]:
    with services.db.read() as conn:
        return explore.run_top(conn, q, n)


def test_counts_by_user_keep_the_ten_busiest_and_sum_the_rest_as_other(services: Any) -> None:
    df, hidden = run_top(services, query(metric="count", group_by="user", bucket="none"))
    assert hidden == 4
    assert list(zip(df["group"], df["value"])) == [
        *((f"u{i:02d}", 14 - i) for i in range(10)),
        ("other", 4 + 3 + 2 + 1),
    ]


def test_other_per_bucket_is_the_whole_minus_the_top_groups(services: Any) -> None:
    q = query(metric="count", group_by="user", bucket="1h")
    df, _ = run_top(services, q, n=3)
    with services.db.read() as conn:
        whole = explore.run(conn, explore.Query(since=q.since, until=q.until, filters=q.filters, bucket="1h"))
    assert list(dict.fromkeys(df["group"])) == ["u00", "u01", "u02", "other"]  # largest first, the rest last
    per_bucket = df.groupby("bucket")["value"].sum()
    assert per_bucket.to_dict() == whole.set_index("bucket")["value"].to_dict()
    assert df["value"].dtype.kind == "i"  # counts stay whole


def test_sums_rank_by_their_total_and_a_grouping_kept_in_rollups_works_alike(services: Any) -> None:
    df, hidden = run_top(services, query(metric="sum", field="duration_ms", group_by="source", bucket="none"), n=2)
    assert hidden == 1
    with services.db.read() as conn:
        every = explore.run(conn, query(metric="sum", field="duration_ms", group_by="source", bucket="none"))
    ranked = every.sort_values("value", ascending=False)
    assert list(df["group"]) == [*ranked["group"][:2], "other"]
    assert df["value"].iloc[-1] == pytest.approx(ranked["value"].iloc[2])


def test_percentiles_of_the_rest_are_left_out_not_summed(services: Any) -> None:
    df, hidden = run_top(services, query(metric="p95", field="duration_ms", group_by="user", bucket="1h"))
    assert hidden == 4
    assert sorted(set(df["group"])) == [f"u{i:02d}" for i in range(10)]


def test_fewer_groups_than_the_limit_are_all_drawn_without_other(services: Any) -> None:
    df, hidden = run_top(services, query(metric="count", group_by="source", bucket="none"))
    assert (hidden, sorted(df["group"])) == (0, ["app0", "app1", "app2"])
    df, hidden = run_top(services, query(metric="count", bucket="none"))
    assert (hidden, list(df.columns)) == (0, ["value"])


def test_a_mean_ranks_its_groups_by_their_number_of_events(services: Any) -> None:
    with services.db.read() as conn:
        totals = explore.group_totals(conn, query(metric="avg", group_by="user", bucket="1h"))
    assert totals.to_dict() == {user: float(n) for user, n in USERS.items()}
    assert list(totals.index) == list(USERS)  # largest first


def test_the_group_without_a_value_among_the_top_is_fetched_alone_not_every_group(services: Any) -> None:
    # Besides the 105 requests without an entity: e1 five times, e2 three times, e3 once.
    counts = {"e1": 5, "e2": 3, "e3": 1}
    ingest(
        services.db, [event_row(NOW - HOUR, "app0", "request", entity=e) for e, n in counts.items() for _ in range(n)]
    )
    q = query(metric="count", group_by="entity", bucket="none")
    assert explore.restricted(q, ["(none)", "e1"]).filters.entity == ("", "e1")
    with services.db.read() as conn:
        fetched = explore.run(conn, explore.restricted(q, ["(none)", "e1"]))
    assert list(fetched["group"]) == ["(none)", "e1"]  # only the top groups are read
    df, hidden = run_top(services, q, n=2)
    assert hidden == 2
    assert list(zip(df["group"], df["value"])) == [("(none)", 105), ("e1", 5), ("other", 3 + 1)]


def test_missing_users_among_the_top_come_from_raw_events_alike(services: Any) -> None:
    ingest(services.db, [event_row(NOW - HOUR, "app0", "request") for _ in range(20)])  # no user: the largest group
    q = query(metric="count", group_by="user", bucket="none")
    assert not q.uses_rollups()
    with services.db.read() as conn:
        fetched = explore.run(conn, explore.restricted(q, ["(none)", "u00"]))
    assert list(zip(fetched["group"], fetched["value"])) == [("(none)", 20), ("u00", 14)]
    df, hidden = run_top(services, q, n=2)
    assert hidden == 13
    assert list(zip(df["group"], df["value"])) == [("(none)", 20), ("u00", 14), ("other", sum(USERS.values()) - 14)]
