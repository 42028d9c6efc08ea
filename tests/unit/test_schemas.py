"""core/schemas.py: the bodies the API accepts, their limits, and the
field-named errors a ValidationError becomes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.schemas import (
    COMPONENT_NAME,
    MAX_ATTRS_BYTES,
    EventIn,
    EventList,
    ExecutionFinishIn,
    ExecutionIn,
    InteractionIn,
    SessionStartIn,
    field_errors,
    quick_events,
)

UTC = timezone.utc


def errors_of(model: Any, data: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return field_errors(info.value)


def nest(levels: int) -> dict[str, Any]:
    """A dict ``levels`` containers deep: nest(2) == {"k": {"k": 1}}."""
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value  # type: ignore[no-any-return]


# ------------------------------------------------------------- timestamps


def test_a_naive_timestamp_is_utc_and_an_offset_is_converted() -> None:
    naive = EventIn(type="x", ts="2024-05-01T12:00:00").ts  # type: ignore[arg-type]
    assert naive == datetime(2024, 5, 1, 12, tzinfo=UTC)
    converted = EventIn(type="x", ts="2024-05-01T12:00:00-03:00").ts  # type: ignore[arg-type]
    assert converted == datetime(2024, 5, 1, 15, tzinfo=UTC) and converted.tzinfo == UTC  # type: ignore[union-attr]


def test_the_epoch_itself_and_one_day_ahead_are_accepted() -> None:
    assert EventIn(type="x", ts=0).ts == datetime(1970, 1, 1, tzinfo=UTC)  # type: ignore[arg-type]
    soon = datetime.now(UTC) + timedelta(hours=23)
    assert EventIn(type="x", ts=soon).ts == soon


@pytest.mark.parametrize(
    ("ts", "message"),
    [
        ("1969-12-31T23:59:59Z", "timestamp before 1970-01-01"),
        ("0001-01-01T00:00:00+05:00", "timestamp out of range"),
        ("9999-12-31T23:59:59-05:00", "timestamp out of range"),
        ("9999-12-31T23:59:59Z", "timestamp more than one day in the future"),
    ],
)
def test_a_timestamp_out_of_bounds_is_a_value_error_on_ts(ts: str, message: str) -> None:
    assert errors_of(EventIn, {"type": "x", "ts": ts}) == [{"field": "ts", "message": message}]


# ------------------------------------------------------------------ attrs


def test_attrs_may_nest_five_levels_but_not_six() -> None:
    assert EventIn(type="x", attrs=nest(5)).attrs == nest(5)
    assert EventIn(type="x", attrs={"list": [[[[1]]]]}).attrs == {"list": [[[[1]]]]}
    assert errors_of(EventIn, {"type": "x", "attrs": nest(6)}) == [
        {"field": "attrs", "message": "nested deeper than 5 levels"}
    ]
    assert errors_of(EventIn, {"type": "x", "attrs": {"list": [[[[[1]]]]]}})[0]["field"] == "attrs"


def test_attrs_nested_far_too_deep_are_refused_without_exhausting_the_stack() -> None:
    value: Any = 1
    for _ in range(5000):
        value = [value]
    assert errors_of(EventIn, {"type": "x", "attrs": {"a": value}}) == [
        {"field": "attrs", "message": "nested deeper than 5 levels"}
    ]


def test_attrs_are_limited_to_16_kb_of_json() -> None:
    fits = {"b": "x" * (MAX_ATTRS_BYTES - len('{"b":""}'))}
    assert EventIn(type="x", attrs=fits).attrs == fits
    assert errors_of(EventIn, {"type": "x", "attrs": {"b": "x" * MAX_ATTRS_BYTES}}) == [
        {"field": "attrs", "message": f"larger than {MAX_ATTRS_BYTES} bytes as JSON"}
    ]


# ---------------------------------------------------------------- strings


@pytest.mark.parametrize(
    "field", ["type", "source", "entity", "user", "session_id", "execution_id", "status", "message", "uid"]
)
def test_no_event_string_may_contain_nul(field: str) -> None:
    data = {"type": "x", field: "a\x00b"}
    assert errors_of(EventIn, data) == [{"field": field, "message": "must not contain NUL characters"}]


@pytest.mark.parametrize(
    "attrs",
    [{"k": "a\x00b"}, {"a\x00b": 1}, {"k": {"deep": ["x", "y\x00"]}}, {"k": [{"n\x00": 1}]}],
    ids=["value", "key", "nested-value", "nested-key"],
)
def test_nul_anywhere_in_attrs_is_refused_naming_attrs(attrs: dict[str, Any]) -> None:
    assert errors_of(EventIn, {"type": "x", "attrs": attrs}) == [
        {"field": "attrs", "message": "keys and values must not contain NUL characters"}
    ]


def test_nul_in_the_fields_kept_as_attrs_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        SessionStartIn.model_validate({"canvas_mode": "a\x00"}).extra_attrs()
    assert errors_of(InteractionIn, {"session_id": "s", "interaction_type": "t", "degradation_counts": {"k\x00": 1}})


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (EventIn, {"type": "x", "value": 1.7e308}, "value"),
        (EventIn, {"type": "x", "value": -1e16}, "value"),
        (EventIn, {"type": "x", "duration_ms": 1e16}, "duration_ms"),
        (ExecutionIn, {"script": "s", "metrics": {"m": 1e300}}, "metrics.m"),
        (InteractionIn, {"session_id": "s", "interaction_type": "t", "execution_time_ms": 1e300}, "execution_time_ms"),
    ],
)
def test_numbers_past_1e15_are_refused_naming_the_field(model: Any, data: dict[str, Any], field: str) -> None:
    errors = errors_of(model, data)
    assert [e["field"] for e in errors] == [field], errors
    assert "1e+15" in errors[0]["message"] or "1000000000000000" in errors[0]["message"]


def test_numbers_up_to_1e15_are_accepted() -> None:
    assert EventIn(type="x", value=-1e15, duration_ms=1e15).value == -1e15


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("type", 100),
        ("source", 100),
        ("entity", 200),
        ("user", 200),
        ("session_id", 100),
        ("execution_id", 100),
        ("uid", 100),
        ("status", 50),
        ("message", 10_000),
    ],
)
def test_event_strings_fit_their_columns(field: str, limit: int) -> None:
    assert getattr(EventIn.model_validate({"type": "x", field: "a" * limit}), field) == "a" * limit
    assert errors_of(EventIn, {"type": "x", field: "a" * (limit + 1)})[0]["field"] == field


# ---------------------------------------------------------- field errors


def test_batch_errors_carry_the_item_index() -> None:
    with pytest.raises(ValidationError) as info:
        EventList.validate_python([{"type": "ok"}, {"type": "ok", "value": "abc"}, {"nope": 1}])
    assert [(e["index"], e["field"]) for e in field_errors(info.value, batch=True)] == [
        (1, "value"),
        (2, "type"),
        (2, "nope"),
    ]


def test_nested_errors_name_the_path() -> None:
    assert errors_of(ExecutionIn, {"script": "x", "metrics": {"rows": "many"}})[0]["field"] == "metrics.rows"
    assert (
        errors_of(InteractionIn, {"session_id": "s", "interaction_type": "t", "degradation_counts": {"a": "b"}})[0][
            "field"
        ]
        == "degradation_counts.a"
    )


def test_messages_drop_pydantics_value_error_prefix() -> None:
    assert not errors_of(EventIn, {"type": "x", "ts": "1960-01-01T00:00:00Z"})[0]["message"].startswith("Value error")


# --------------------------------------------------------------- sessions


def test_a_session_start_takes_the_macro_field_names_and_keeps_extras_in_attrs() -> None:
    data = SessionStartIn.model_validate(
        {"session_id": "s1", "username": "ann", "canvas_mode": "wide", "attrs": {"desk": 4}}
    )
    assert (data.session_id, data.user) == ("s1", "ann")
    assert data.extra_attrs() == {"canvas_mode": "wide", "desk": 4}
    assert SessionStartIn.model_validate({"id": "s2", "user": "bob"}).extra_attrs() is None


def test_session_extras_past_the_attrs_limits_raise_value_error() -> None:
    with pytest.raises(ValueError, match="larger than"):
        SessionStartIn.model_validate({"blob": "b" * 20_000}).extra_attrs()
    with pytest.raises(ValueError, match="deeper"):
        SessionStartIn.model_validate({"tree": nest(6)}).extra_attrs()


def test_interaction_extras_and_degradations_become_attrs() -> None:
    data = InteractionIn.model_validate(
        {
            "session_id": "s",
            "interaction_type": "t",
            "degradation_assignments": "smudge",
            "degradation_counts": {"smudge": 1},
            "zoom": 2,
        }
    )
    assert data.extra_attrs() == {"zoom": 2, "degradation_assignments": "smudge", "degradation_counts": {"smudge": 1.0}}
    assert InteractionIn.model_validate({"session_id": "s", "interaction_type": "t"}).extra_attrs() is None
    with pytest.raises(ValueError, match="deeper"):
        InteractionIn.model_validate({"session_id": "s", "interaction_type": "t", "tree": nest(6)}).extra_attrs()


# ------------------------------------------------------------- executions


def test_a_run_duration_is_bounded_so_that_times_stay_in_range() -> None:
    assert ExecutionIn(script="x", duration_ms=366 * 86_400_000).duration_ms == 366 * 86_400_000
    assert errors_of(ExecutionIn, {"script": "x", "duration_ms": 1e300})[0]["field"] == "duration_ms"
    assert errors_of(ExecutionFinishIn, {"duration_ms": 1e300})[0]["field"] == "duration_ms"


def test_a_script_fits_the_entity_column_of_its_events() -> None:
    assert ExecutionIn(script="s" * 200).script == "s" * 200
    assert errors_of(ExecutionIn, {"script": "s" * 201})[0]["field"] == "script"


@pytest.mark.parametrize("metric", ["NaN", "inf", "-Infinity", "abc", None])
def test_metrics_must_be_finite_numbers(metric: Any) -> None:
    assert errors_of(ExecutionIn, {"script": "x", "metrics": {"m": metric}})[0]["field"] == "metrics.m"


# ------------------------------------------------------------- components


@pytest.mark.parametrize("name", ["camera", "cam-1", "printer.2", "db:main", "A_b", "x" * 100])
def test_good_component_names_match(name: str) -> None:
    assert COMPONENT_NAME.match(name)


@pytest.mark.parametrize("name", ["", "-cam", ".cam", "cam era", "cam/1", "x" * 101, "caméra", "cam\n"])
def test_bad_component_names_do_not_match(name: str) -> None:
    assert not COMPONENT_NAME.match(name)


# ------------------------------------------------------------- quick_events: the one-pass path


NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def careful(raw: bytes) -> list[dict[str, Any]] | None:
    """What the careful path makes of a body: rows as quick_events gives them, or None when it refuses."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    items = body if isinstance(body, list) else [body]
    try:
        rows = [e.model_dump() for e in EventList.validate_python(items)]
    except ValidationError:
        return None
    return [r | {"ts": r["ts"] or NOW} for r in rows]


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types (True is not 1, 1 is not 1.0)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b and getattr(a, "tzinfo", None) == getattr(b, "tzinfo", None)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
texts = st.one_of(st.text(max_size=6), st.sampled_from(["", "a\x00b", "x" * 101, "é", "\\u0000"]))
times = st.one_of(
    st.sampled_from(["2026-06-01T10:00:00", "2026-06-01T10:00:00+05:00", "1969-12-31T23:59:59Z", "0001-01-01T00:00"]),
    st.sampled_from(["3026-01-01T00:00:00Z", "not a time", "2026-06-01T10:00:00.123456Z"]),
    st.integers(min_value=-10, max_value=2_000_000_000),
    st.floats(min_value=0, max_value=2e9),
)
events = st.fixed_dictionaries(
    {"type": texts},
    optional={
        "ts": times,
        "source": texts,
        "entity": texts,
        "status": texts,
        "uid": texts,
        "session_id": texts,
        "value": st.one_of(scalars, st.just(2e15)),
        "duration_ms": st.one_of(scalars, st.just(-1.0)),
        "message": texts,
        "attrs": st.one_of(
            st.none(),
            st.dictionaries(st.text(max_size=4), scalars, max_size=4),
            st.dictionaries(st.text(max_size=2), st.lists(scalars, max_size=2), max_size=2),
            st.just({"big": "x" * MAX_ATTRS_BYTES}),
            st.just([1]),
        ),
        "extra": scalars,
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(events, st.lists(events, max_size=4)), st.booleans())
def test_quick_events_accepts_only_what_the_careful_path_accepts_with_the_same_values(body: Any, ascii: bool) -> None:
    raw = json.dumps(body, ensure_ascii=ascii).encode()
    quick = quick_events(raw, NOW)
    if quick is not None:
        assert same(quick, careful(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"type": "x", "attrs": {"a": 1e400}}]',  # infinity in JSON's clothes: orjson refuses it
        b'[{"type": "x", "attrs": {"a": NaN}}]',
        b'[{"type": "x\\u0000"}]',
        b'[{"type": "x", "attrs": {"a": 123456789012345678901234567890123456789}}]',
        b'{"events": [{"type": "x"}]}',
        b"[]",
        b'"x"',
    ],
)
def test_quick_events_leaves_bodies_it_does_not_check_itself_to_the_careful_path(raw: bytes) -> None:
    quick = quick_events(raw, NOW)
    assert quick is None or same(quick, careful(raw))


def test_quick_events_reads_a_flat_batch_in_one_pass_with_every_field() -> None:
    raw = (
        b'[{"type": "t", "ts": "2026-06-01T10:00:00-02:00", "value": 3, "attrs": {"ok": true, "n": 2}}, {"type": "u"}]'
    )
    rows = quick_events(raw, NOW)
    assert rows is not None and same(rows, careful(raw))
    assert rows[0]["ts"] == datetime(2026, 6, 1, 12, tzinfo=UTC) and rows[1]["ts"] == NOW
    assert rows[0]["attrs"] == {"ok": True, "n": 2} and rows[0]["value"] == 3.0 and rows[1]["source"] == "default"
