"""POST /api/events: shapes, idempotency, atomic batches and bad input.

Most tests share one server per database (``shared_server``): each checks the
rows it wrote (unique uids and markers) or compares table totals around a
rejected request.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from sqlalchemy import func, or_, select

from data.db import Database
from data.models import EVENTS
from tests.factories import JSON, count, event, nested, stored_event, stored_events, totals, uid

UTC = timezone.utc


def post(server: Any, body: Any) -> requests.Response:
    return server.post("/api/events", json=body)  # type: ignore[no-any-return]


def post_raw(server: Any, data: bytes | str, headers: dict[str, str] | None = None) -> requests.Response:
    return server.post("/api/events", data=data, headers=JSON if headers is None else headers)  # type: ignore


# ------------------------------------------------------------------ shapes


def test_it_stores_one_event_and_returns_its_id(server: Any) -> None:
    r = server.post("/api/events", json={"type": "scan", "source": "scanner", "status": "ok", "value": 2})
    assert r.status_code == 201
    body = r.json()
    assert body["accepted"] == 1 and body["stored"] == 1 and body["duplicates"] == 0
    assert len(body["ids"]) == 1
    assert count(server) == 1
    row = stored_event(server, body["ids"][0])
    assert (row["type"], row["source"], row["status"], row["value"]) == ("scan", "scanner", "ok", 2.0)


def test_it_stores_every_field_as_sent(shared_server: Any) -> None:
    sent = event(
        "payment",
        ts="2024-05-01T12:30:15.250000Z",
        source="shop",
        entity="/api/checkout",
        user="ann",
        session_id="sess_20240501_120000",
        execution_id="exe-1",
        status="completed",
        value=19.9,
        duration_ms=84.5,
        message="paid",
        attrs={"cart": {"items": [1, 2]}, "coupon": None, "vip": True},
        uid=uid(),
    )
    r = post(shared_server, sent)
    assert r.status_code == 201, r.text
    row = stored_event(shared_server, r.json()["ids"][0])
    assert row["ts"] == datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=UTC)
    assert {k: row[k] for k in sent if k != "ts"} == {k: v for k, v in sent.items() if k != "ts"}


def test_it_defaults_the_source_and_stamps_the_time_of_arrival(shared_server: Any) -> None:
    before = datetime.now(UTC)
    r = post(shared_server, {"type": "ping"})
    after = datetime.now(UTC)
    row = stored_event(shared_server, r.json()["ids"][0])
    assert row["source"] == "default"
    assert before <= row["ts"] <= after
    assert row["entity"] is None and row["attrs"] is None and row["value"] is None


def test_it_accepts_a_json_list_and_returns_ids_in_input_order(shared_server: Any) -> None:
    markers = [uid("m") for _ in range(5)]
    r = post(shared_server, [event("batch", entity=m) for m in markers])
    assert r.status_code == 201
    body = r.json()
    assert body == {"accepted": 5, "stored": 5, "duplicates": 0, "ids": body["ids"]}
    assert [stored_event(shared_server, i)["entity"] for i in body["ids"]] == markers


def test_it_accepts_an_events_envelope(shared_server: Any) -> None:
    markers = [uid("m") for _ in range(3)]
    r = post(shared_server, {"events": [event("envelope", entity=m) for m in markers]})
    assert r.status_code == 201
    assert [stored_event(shared_server, i)["entity"] for i in r.json()["ids"]] == markers


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00+00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T07:00:00-05:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T17:30:00.123456+05:30", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),  # naive means UTC
        (1714564800, datetime(2024, 5, 1, 12, tzinfo=UTC)),  # epoch seconds
        (1714564800.5, datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
    ],
    ids=["Z", "+00:00", "+02:00", "-05:00", "+05:30-micros", "naive", "epoch", "epoch-float"],
)
def test_it_reads_iso_8601_and_epoch_timestamps_as_utc(shared_server: Any, ts: Any, expected: datetime) -> None:
    r = post(shared_server, event("timed", ts=ts))
    assert r.status_code == 201, r.text
    stored = stored_event(shared_server, r.json()["ids"][0])["ts"]
    assert stored == expected and stored.utcoffset() == timedelta(0)


def test_it_accepts_strings_and_attrs_at_their_limits(shared_server: Any) -> None:
    five_deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    sent = event("t" * 100, source="s" * 100, entity="e" * 200, user="u" * 200, message="m" * 10_000, attrs=five_deep)
    r = post(shared_server, sent)
    assert r.status_code == 201, r.text
    row = stored_event(shared_server, r.json()["ids"][0])
    assert (len(row["type"]), len(row["entity"]), len(row["message"])) == (100, 200, 10_000)
    assert row["attrs"] == five_deep


def test_it_stores_sql_and_html_in_string_fields_verbatim(shared_server: Any) -> None:
    nasty = {
        "type": "x'); DROP TABLE events; --",
        "entity": "<script>alert('pwned')</script>",
        "user": "Robert'); DELETE FROM rollups WHERE ('1'='1",
        "status": "%s %(x)s ?",
        "message": "<img src=x onerror=alert(1)> \" ' \\ ; -- /* */ ü 🎉",
        "attrs": {"sql": "1 OR 1=1", "html": "<b>&amp;</b>", "quote's": '"double"'},
    }
    r = post(shared_server, event(**nasty))  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    row = stored_event(shared_server, r.json()["ids"][0])
    assert {k: row[k] for k in nasty} == nasty
    assert count(shared_server) > 0  # the tables are still there


def test_a_2xx_means_the_events_are_committed(shared_server: Any) -> None:
    marker = uid()
    r = post(shared_server, [event("durable", uid=marker), event("durable", entity=marker)])
    assert r.status_code == 201
    other = Database(shared_server.services.db.url)  # a separate engine: sees committed rows only
    try:
        with other.read() as conn:
            n = conn.execute(
                select(func.count()).select_from(EVENTS).where(or_(EVENTS.c.uid == marker, EVENTS.c.entity == marker))
            ).scalar()
    finally:
        other.dispose()
    assert n == 2


# ------------------------------------------------------------- idempotency


def test_a_retried_event_with_the_same_uid_is_stored_once(shared_server: Any) -> None:
    sent = event("payment", value=5, uid=uid())
    first = post(shared_server, sent)
    retry = post(shared_server, sent)
    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json() == {"accepted": 1, "stored": 0, "duplicates": 1, "ids": first.json()["ids"]}
    assert count(shared_server, EVENTS, EVENTS.c.uid == sent["uid"]) == 1


def test_a_uid_repeated_inside_one_batch_is_stored_once(shared_server: Any) -> None:
    a, b = uid(), uid()
    r = post(shared_server, [event("x", uid=a), event("x", uid=b), event("x", uid=a), event("x")])
    assert r.status_code == 201
    body = r.json()
    assert (body["accepted"], body["stored"], body["duplicates"]) == (4, 3, 1)
    ids = body["ids"]
    assert ids[0] == ids[2] and len(set(ids)) == 3
    assert count(shared_server, EVENTS, EVENTS.c.uid == a) == 1


def test_a_batch_mixing_stored_and_new_uids_stores_only_the_new_ones(shared_server: Any) -> None:
    old, new = uid(), uid()
    first_id = post(shared_server, event("x", uid=old)).json()["ids"][0]
    r = post(shared_server, [event("x", uid=new), event("x", uid=old)])
    body = r.json()
    assert r.status_code == 201
    assert (body["stored"], body["duplicates"]) == (1, 1)
    assert body["ids"][1] == first_id
    assert stored_event(shared_server, body["ids"][0])["uid"] == new


# ------------------------------------------------------------ atomic batches


def test_it_rejects_a_batch_with_one_bad_item_and_stores_nothing(shared_server: Any) -> None:
    batch = [event("ok", uid=uid()) for _ in range(5)]
    batch[3]["ts"] = "not a time"
    before = totals(shared_server)
    r = post(shared_server, batch)
    assert r.status_code == 422
    body = r.json()
    assert body["error"].startswith("event 3: field 'ts': ")
    assert body["error"].endswith("nothing was stored")
    assert body["errors"][0]["index"] == 3 and body["errors"][0]["field"] == "ts"
    assert totals(shared_server) == before
    # The good items were not half-written: sending them again stores them.
    del batch[3]
    assert post(shared_server, batch).json()["stored"] == 4


def test_it_names_every_bad_item_of_a_batch(shared_server: Any) -> None:
    batch = [event("ok"), {"type": 7}, event("ok"), event("ok", value="abc"), event("ok")]
    r = post(shared_server, batch)
    assert r.status_code == 422
    body = r.json()
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "type"), (3, "value")]
    assert "(and 1 more)" in body["error"]


FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()

BAD_EVENTS: list[tuple[str, Any, str, str]] = [
    # id, the bad item (object or raw JSON text), field named, words in the message
    ("ts-year-1", {"type": "x", "ts": "0001-01-01T00:00:00Z"}, "ts", "1970"),
    ("ts-year-1-offset", {"type": "x", "ts": "0001-01-01T00:00:00+05:00"}, "ts", "range"),
    ("ts-year-9999", {"type": "x", "ts": "9999-12-31T23:59:59Z"}, "ts", "future"),
    ("ts-year-9999-offset", {"type": "x", "ts": "9999-12-31T23:59:59-05:00"}, "ts", "range"),
    ("ts-2-days-ahead", {"type": "x", "ts": FUTURE}, "ts", "future"),
    ("ts-before-1970", {"type": "x", "ts": -86400}, "ts", "1970"),
    ("ts-epoch-too-big", {"type": "x", "ts": 1e20}, "ts", "datetime"),
    ("ts-words", {"type": "x", "ts": "yesterday"}, "ts", "datetime"),
    ("type-missing", {"source": "x"}, "type", "required"),
    ("type-empty", {"type": ""}, "type", "at least 1"),
    ("type-too-long", {"type": "t" * 101}, "type", "at most 100"),
    ("type-number", {"type": 42}, "type", "string"),
    ("source-too-long", {"type": "x", "source": "s" * 101}, "source", "at most 100"),
    ("entity-too-long", {"type": "x", "entity": "e" * 201}, "entity", "at most 200"),
    ("user-too-long", {"type": "x", "user": "u" * 201}, "user", "at most 200"),
    ("session-id-too-long", {"type": "x", "session_id": "s" * 101}, "session_id", "at most 100"),
    ("execution-id-too-long", {"type": "x", "execution_id": "e" * 101}, "execution_id", "at most 100"),
    ("status-too-long", {"type": "x", "status": "s" * 51}, "status", "at most 50"),
    ("message-too-long", {"type": "x", "message": "m" * 10_001}, "message", "at most 10000"),
    ("uid-empty", {"type": "x", "uid": ""}, "uid", "at least 1"),
    ("value-string", {"type": "x", "value": "abc"}, "value", "number"),
    ("value-list", {"type": "x", "value": [1]}, "value", "number"),
    ("duration-negative", {"type": "x", "duration_ms": -1}, "duration_ms", "greater than or equal to 0"),
    ("attrs-list", {"type": "x", "attrs": [1, 2]}, "attrs", "dictionary"),
    ("attrs-6-deep", {"type": "x", "attrs": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}, "attrs", "deeper than 5"),
    ("attrs-1000-deep", '{"type": "x", "attrs": {"a": ' + nested(1000) + "}}", "attrs", "deeper than 5"),
    ("attrs-too-large", {"type": "x", "attrs": {"blob": "b" * 17_000}}, "attrs", "16384 bytes"),
    ("unknown-field", {"type": "x", "colour": "red"}, "colour", "extra"),
    ("nul-in-type", {"type": "a\x00b"}, "type", "NUL"),
    ("nul-in-message", {"type": "x", "message": "a\x00b"}, "message", "NUL"),
    ("not-an-object", 42, "(body)", "dictionary"),
]


@pytest.mark.parametrize(("bad", "field", "words"), [c[1:] for c in BAD_EVENTS], ids=[c[0] for c in BAD_EVENTS])
def test_it_rejects_an_invalid_event_with_422_naming_index_and_field(
    shared_server: Any, bad: Any, field: str, words: str
) -> None:
    good = json.dumps({"type": "fine", "uid": uid()})
    body = "[" + good + ", " + (bad if isinstance(bad, str) else json.dumps(bad)) + "]"
    before = totals(shared_server)
    r = post_raw(shared_server, body)
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["error"].startswith(f"event 1: field '{field}': ")
    assert out["errors"][0]["index"] == 1 and out["errors"][0]["field"] == field
    assert words.lower() in out["errors"][0]["message"].lower()
    assert totals(shared_server) == before


# ------------------------------------------------------------- bad bodies

BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("malformed", b'{"type": "x",}', "malformed JSON"),
    ("truncated", b'{"type": "x"', "malformed JSON"),
    ("single-quotes", b"{'type': 'x'}", "malformed JSON"),
    ("nan", b'{"type": "x", "value": NaN}', "malformed JSON"),
    ("infinity", b'{"type": "x", "value": Infinity}', "malformed JSON"),
    ("minus-infinity", b'[{"type": "x", "value": -Infinity}]', "malformed JSON"),
    ("nan-in-attrs", b'{"type": "x", "attrs": {"a": NaN}}', "malformed JSON"),
    ("number-overflowing-to-infinity", b'{"type": "x", "value": 1e400}', "malformed JSON"),
    ("invalid-utf8", b'{"type": "\xff\xfe"}', "UTF-8"),
    ("lone-surrogate", b'{"type": "\\ud800"}', "malformed JSON"),
    ("depth-bomb", nested(100_000).encode(), "depth"),
    ("empty", b"", "empty"),
    ("whitespace", b" \r\n\t ", "empty"),
    ("empty-list", b"[]", "no events"),
    ("empty-envelope", b'{"events": []}', "no events"),
]


@pytest.mark.parametrize(("data", "words"), [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_it_rejects_a_bad_body_with_400_and_stores_nothing(shared_server: Any, data: bytes, words: str) -> None:
    before = totals(shared_server)
    r = post_raw(shared_server, data)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert words.lower() in r.json()["error"].lower()
    assert totals(shared_server) == before


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}],
    ids=["text-plain", "form", "none"],
)
def test_it_refuses_a_body_not_sent_as_json_with_415(shared_server: Any, headers: dict[str, str]) -> None:
    before = totals(shared_server)
    r = post_raw(shared_server, b'{"type": "x"}', headers=headers)
    assert r.status_code == 415
    assert "Content-Type: application/json" in r.json()["error"]
    assert totals(shared_server) == before


# ------------------------------------------------------------------ limits


@pytest.fixture(scope="module")
def limited(make_shared_server: Any, module_db_url: str) -> Any:
    return make_shared_server(module_db_url, max_body_mb=0.01, max_batch=5)


def test_it_refuses_more_events_than_max_batch_with_413(limited: Any) -> None:
    before = totals(limited)
    r = post(limited, [event("x") for _ in range(6)])
    assert r.status_code == 413
    assert r.json()["error"] == "6 events in one request; at most 5 are accepted"
    assert totals(limited) == before
    assert post(limited, [event("x") for _ in range(5)]).status_code == 201


def test_it_refuses_a_body_over_the_limit_with_413(limited: Any) -> None:
    before = totals(limited)
    r = post(limited, [event("x", message="m" * 4000) for _ in range(3)])  # ~12 KB > 0.01 MB
    assert r.status_code == 413
    assert r.json()["error"] == "request body larger than 0.01 MB"
    assert totals(limited) == before


def test_it_refuses_a_chunked_body_over_the_limit_with_413(limited: Any) -> None:
    data = json.dumps([event("x", message="m" * 4000) for _ in range(3)]).encode()
    chunks = (data[i : i + 1000] for i in range(0, len(data), 1000))  # no Content-Length: sent chunked
    before = totals(limited)
    r = post_raw(limited, chunks)  # type: ignore[arg-type]
    assert r.status_code == 413
    assert totals(limited) == before


def test_it_accepts_a_chunked_body_under_the_limit(limited: Any) -> None:
    marker = uid()
    r = post_raw(limited, iter([b'{"type": "chunked", ', f'"uid": "{marker}"}}'.encode()]))  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    assert stored_events(limited, EVENTS.c.uid == marker)[0]["type"] == "chunked"


# ------------------------------------------------------------------ routes


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nope"),
        ("POST", "/api/nope"),
        ("PUT", "/api/events/1/nope"),
        ("DELETE", "/api/events"),
        ("POST", "/api/v2/events"),
    ],
)
def test_an_unknown_api_route_answers_404_json(shared_server: Any, method: str, path: str) -> None:
    r = shared_server.http.request(method, shared_server.url + path, json={"type": "x"}, timeout=30)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json"
    assert "no such API route" in r.json()["error"]
