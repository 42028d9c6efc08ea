"""data.ingest.insert_events: small batches (one prepared statement) and large
ones (COPY on PostgreSQL) store the same rows and rollups; uids already stored
map to their ids; a driver error arrives as SQLAlchemy's own kind."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from data.ingest import COPY_FROM, event_row, ingest, insert_batches, rollup_deltas
from data.models import EVENTS, ROLLUPS, ROLLUPS_HOURLY

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def rows(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        event_row(
            T0 + timedelta(seconds=7 * i),
            "w",
            "tick",
            entity=f"e{i % 3}",
            user="ann" if i % 2 else None,
            session_id="s1",
            status="ok" if i % 4 else "error",
            value=float(i),
            duration_ms=1.5 * i,
            message=f"tab\there, quote ' and \\ {i}",
            attrs={"i": i, "nested": {"k": [1, "x"]}, "text": "a\nb"},
            uid=f"{tag}-{i}",
        )
        for i in range(n)
    ]


def stored(db: Any, tag: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        found = conn.execute(select(EVENTS).where(EVENTS.c.uid.like(f"{tag}-%")).order_by(EVENTS.c.id)).mappings()
        return [dict(r) for r in found]


@pytest.mark.parametrize("n", [3, COPY_FROM + 7])
def test_a_batch_is_stored_field_for_field_with_ids_in_input_order(db: Any, n: int) -> None:
    sent = rows(n, f"b{n}")
    result = ingest(db, sent)
    got = stored(db, f"b{n}")
    assert [r["id"] for r in got] == result.ids and len(set(result.ids)) == n
    for want, row in zip(sent, got):
        assert {k: row[k] for k in want} == want
    assert [r["id"] for r in result.stored] == result.ids


def test_large_and_small_batches_add_the_same_rollups(db: Any) -> None:
    many = rows(COPY_FROM + 7, "big")
    ingest(db, many)
    for start in range(0, len(many), 4):
        ingest(db, [dict(r, uid=f"small-{start + j}") for j, r in enumerate(many[start : start + 4])])
    agg, _ = rollup_deltas(many)
    with db.read() as conn:
        minute = {tuple(r[:5]): r[5] for r in conn.execute(select(*list(ROLLUPS.c)[1:7]))}
        hour = conn.execute(select(func.sum(ROLLUPS_HOURLY.c.count))).scalar()
        value_sum = conn.execute(select(func.sum(ROLLUPS.c.value_sum))).scalar()
    assert minute == {tuple(a[:5]): 2 * a[5] for a in agg}
    assert hour == 2 * len(many) and value_sum == 2 * sum(r["value"] for r in many)


def test_uids_stored_before_or_repeated_in_the_batch_map_to_the_stored_ids(db: Any) -> None:
    first = ingest(db, rows(COPY_FROM, "u"))
    again = rows(COPY_FROM + 2, "u")  # the first COPY_FROM stored, two new
    again.append(dict(again[-1]))  # and one repeated inside the batch
    result = ingest(db, again)
    assert result.ids[:COPY_FROM] == first.ids
    assert result.duplicates == COPY_FROM + 1 and len(result.stored) == 2
    assert result.ids[-1] == result.ids[-2] == result.stored[-1]["id"]
    assert len(stored(db, "u")) == COPY_FROM + 2


@pytest.mark.parametrize("n", [1, COPY_FROM])
def test_a_row_the_database_refuses_fails_the_batch_whole_as_an_integrity_error(db: Any, n: int) -> None:
    bad = rows(n, f"bad{n}")
    bad[-1]["type"] = None  # NOT NULL: refused by the database itself, as a taken uid would be
    with pytest.raises(IntegrityError):
        ingest(db, bad)
    assert stored(db, f"bad{n}") == []
    assert len(ingest(db, rows(n, f"good{n}")).stored) == n  # the connection is usable after


def test_batches_written_together_come_out_as_if_written_one_after_another(db: Any) -> None:
    ingest(db, rows(2, "t"))  # t-0, t-1 stored before
    first = rows(4, "t")[1:]  # t-1 stored, t-2 and t-3 new
    second = [*rows(5, "t")[3:], *rows(1, "other")]  # t-3 new in the first batch, t-4 and other-0 new
    with db.write() as conn:
        a, b = insert_batches(conn, [first, second])
    assert (len(a.stored), a.duplicates, len(b.stored), b.duplicates) == (2, 1, 2, 1)
    assert a.ids[2] == b.ids[0] == a.stored[1]["id"]  # t-3: stored once, by the first
    assert [r["uid"] for r in b.stored] == ["t-4", "other-0"] and b.ids[1:] == [r["id"] for r in b.stored]
    assert len(stored(db, "t")) == 5
