"""``alerts.form``: the rule form's values become a rule (through the real
rule model) and come back unchanged; a broken advanced box is an error on
that box that says what is wrong; a bad duration, in the rule form or the
silence form, names its field as the form labels it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts import manage
from alerts.form import (
    FORM_DEFAULTS,
    FormError,
    dump_advanced,
    error_text,
    form_spec,
    form_values,
    invalid_flags,
    parse_advanced,
    silence_error,
    silence_spec,
)
from alerts.rules import RuleError, parse_rule
from app import create_app
from settings import load_settings

# Every control of the form away from its default, as form_values writes them.
EVERYTHING = FORM_DEFAULTS | {
    "name": "sync health",
    "description": "Low success",
    "kind": "threshold",
    "severity": "error",
    "metric": "success_rate",
    "field": "value",
    "window": "today",
    "op": "<",
    "threshold": "80.5",
    "min_samples": "10",
    "source": "north, south",
    "type": "sync",
    "entity": "",
    "status": "ok",
    "group_by": ["source", "entity"],
    "for": "2m",
    "keep_firing_for": "5m",
    "repeat_interval": "1h",
    "targets": ["log"],
    "webhook": "http://127.0.0.1:9/a, http://127.0.0.1:9/b",
    "advanced": "filter:\n  attrs:\n    site: north\n  user:\n  - ana\nlabels:\n  team: ops\nsamples_filter:\n  type:\n  - scan\n",
}


def round_trip(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values saved as a rule (validated and normalised as the API does) and shown again."""
    return form_values(parse_rule(form_spec(values)).spec())


def test_every_form_field_survives_form_to_rule_to_form() -> None:
    back = round_trip(EVERYTHING)
    assert parse_advanced(back.pop("advanced")) == parse_advanced(EVERYTHING["advanced"])
    assert back == {k: v for k, v in EVERYTHING.items() if k != "advanced"}


def test_the_rule_keeps_what_the_form_said() -> None:
    rule = parse_rule(form_spec(EVERYTHING))
    assert (rule.metric, rule.op, rule.threshold, rule.min_samples, rule.window) == (
        "success_rate",
        "<",
        80.5,
        10,
        "today",
    )
    assert rule.filter.source == ["north", "south"] and rule.filter.status == ["ok"]
    assert rule.filter.attrs == {"site": "north"} and rule.filter.user == ["ana"]
    assert rule.group_by == ["source", "entity"] and rule.labels == {"team": "ops"}
    assert [(t.type, t.url) for t in rule.targets] == [
        ("log", None),
        ("webhook", "http://127.0.0.1:9/a"),
        ("webhook", "http://127.0.0.1:9/b"),
    ]


def test_an_empty_form_round_trips_to_the_defaults() -> None:
    assert round_trip(FORM_DEFAULTS | {"name": "n", "threshold": "1"}) == FORM_DEFAULTS | {
        "name": "n",
        "threshold": "1",
    }


def test_the_advanced_box_shows_only_what_differs_from_the_rule_s_defaults() -> None:
    spec = parse_rule({"name": "a", "kind": "anomaly", "bucket": "5m", "history": "7d"}).spec()
    assert form_values(spec)["advanced"] == ""
    spec = parse_rule({"name": "a", "kind": "anomaly", "bucket": "10m", "history": "7d"}).spec()
    assert parse_advanced(form_values(spec)["advanced"]) == {"bucket": "10m"}
    assert dump_advanced({"labels": {"équipe": "ops"}}) == "labels:\n  équipe: ops\n"  # readable, not \u escapes


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("labels: {team: ops", "not valid YAML"),
        ("labels:\n  team: ops\n bad: indent", "line 3"),
        ("- just\n- a list", "key: value lines"),
        ("a: &x [1, 2]\nlabels: *x", "anchors and aliases"),
        ("labels: {" + "k: v, " * 3000 + "}", "at most 10,000 characters"),
    ],
)
def test_a_broken_advanced_box_is_an_error_on_that_box_saying_why(text: str, says: str) -> None:
    with pytest.raises(FormError) as info:
        form_spec(FORM_DEFAULTS | {"name": "x", "advanced": text})
    assert info.value.field == "advanced" and says in info.value.message
    shown = error_text(info.value.field, info.value.message)
    assert shown.startswith("Check the field 'advanced'") and says in shown
    assert [f for f, bad in invalid_flags(info.value.field).items() if bad] == ["advanced"]


def test_a_valid_advanced_box_with_an_unknown_field_names_that_field() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(form_spec(FORM_DEFAULTS | {"name": "x", "threshold": "1", "advanced": "colour: red"}))
    assert info.value.field == "colour"
    assert error_text(info.value.field, info.value.message).startswith("Check the field 'colour'")
    assert not any(invalid_flags(info.value.field).values())  # no control holds it: nothing is marked


@pytest.mark.parametrize(
    ("field", "bad", "label"),
    [
        ("window", "5 parsecs", "'window'"),
        ("for", "soon", "'for (pending period)' (for)"),
        ("keep_firing_for", "-1m", "'keep firing for' (keep_firing_for)"),
        ("repeat_interval", "0s", "'repeat every' (repeat_interval)"),
    ],
)
def test_a_bad_duration_names_its_field_as_the_form_labels_it(field: str, bad: str, label: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(form_spec(FORM_DEFAULTS | {"name": "x", "threshold": "1", field: bad}))
    assert info.value.field == field
    assert error_text(info.value.field, info.value.message).startswith(f"Check the field {label}:")
    assert [f for f, bad_ in invalid_flags(info.value.field).items() if bad_] == [field]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    app = create_app(load_settings({"db": str(tmp_path / "p.db"), "data_dir": str(tmp_path)}, environ={}))
    yield app.server.extensions["pulseboard"]
    app.server.extensions["pulseboard"].close()


@pytest.mark.parametrize("bad", ["soon", "0s", "-2h"])
def test_a_silence_s_bad_duration_is_named_as_the_silence_form_labels_it(services: Any, bad: str) -> None:
    with pytest.raises(RuleError) as info, services.db.write() as conn:
        manage.add_silence(conn, silence_spec("errors", "", bad, "", None), now=services.now())
    assert info.value.field == "duration"
    assert silence_error(info.value).startswith("Check the field 'for': ")


def test_a_silence_from_the_form_is_stored_with_its_matchers(services: Any) -> None:
    with services.db.write() as conn:
        row = manage.add_silence(
            conn, silence_spec("errors", "entity=a, source=b", "", " deploy ", "ana"), now=services.now()
        )
    assert (row["matchers"], row["comment"], row["created_by"]) == (
        {"rule": "errors", "entity": "a", "source": "b"},
        "deploy",
        "ana",
    )
    with pytest.raises(RuleError) as info:
        silence_spec("", "entity", "1h", "", None)
    assert info.value.field == "labels" and "key=value" in info.value.message
