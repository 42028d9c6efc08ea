"""``alerts.form``: the rule form's values become a rule (through the real
rule model) and come back unchanged; a broken advanced box is an error on
that box that says what is wrong; a bad duration, in the rule form or the
silence form, names its field as the form labels it; every bad field is
reported at once, each in plain words on its control, and the durations the
help texts and errors show are ones the rule accepts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts import manage
from alerts.form import (
    DURATION_EXAMPLES,
    FORM_DEFAULTS,
    HELP,
    FormError,
    dump_advanced,
    error_text,
    form_errors,
    form_spec,
    form_values,
    invalid_all,
    invalid_flags,
    parse_advanced,
    silence_error,
    silence_spec,
    summary_text,
    validate,
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


def test_the_targets_box_takes_email_chat_and_sms_targets_and_shows_them_again() -> None:
    box = "http://127.0.0.1:9/a, email:ops@example.com, dev@example.com slack:https://hooks.example/s sms:oncall"
    rule = parse_rule(form_spec(EVERYTHING | {"webhook": box + " teams:https://teams.example/t"}))
    assert [(t.type, t.address) for t in rule.targets] == [
        ("log", None),
        ("webhook", "http://127.0.0.1:9/a"),
        ("email", "ops@example.com,dev@example.com"),
        ("slack", "https://hooks.example/s"),
        ("sms", "oncall"),
        ("teams", "https://teams.example/t"),
    ]
    back = round_trip(EVERYTHING | {"webhook": box})
    assert back["webhook"] == (
        "http://127.0.0.1:9/a, email:ops@example.com,dev@example.com, slack:https://hooks.example/s, sms:oncall"
    )
    assert round_trip(back)["webhook"] == back["webhook"]


def test_a_bad_address_in_the_targets_box_is_an_error_on_that_box() -> None:
    _spec, errors = validate(EVERYTHING | {"webhook": "email:ops@example.com, not-an-address@"})
    shown = form_errors(errors)
    assert list(shown) == ["webhook"] and "not an e-mail address" in shown["webhook"]


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


# ------------------------------------------------------------ every field at once, in plain words


BROKEN = FORM_DEFAULTS | {
    "name": "",
    "threshold": "many",
    "min_samples": "-1",
    "window": "10 minutes please",
    "for": "soon",
    "repeat_interval": "0s",
    "webhook": "ftp://example.com/x",
    "advanced": "colour: red",
}


def test_every_bad_field_is_reported_at_once_each_on_its_control() -> None:
    _spec, errors = validate(BROKEN)
    fields = [field for field, _message in errors]
    assert fields == ["name", "window", "threshold", "min_samples", "for", "repeat_interval", "targets.2.url", "colour"]
    marked = [f for f, bad in invalid_all(errors).items() if bad]
    assert set(marked) == {
        "name",
        "window",
        "threshold",
        "min_samples",
        "for",
        "repeat_interval",
        "webhook",
        "advanced",
    }
    under = form_errors(errors)
    assert under["name"] == "give the rule a name"
    assert under["threshold"] == "write a number, like 3 or 2.5"
    assert under["min_samples"] == "must be 0 or more"
    assert (
        under["window"]
        == f"'10 minutes please' is not a duration; write e.g. {DURATION_EXAMPLES.replace(' or ', ', ')} or today"
    )
    assert under["for"] == f"'soon' is not a duration; write e.g. {DURATION_EXAMPLES}"
    assert under["repeat_interval"] == "must be longer than 0, e.g. 30min, 4h or 1d"
    assert under["webhook"] == "write a URL that starts with http:// or https://"
    assert under["advanced"].startswith("colour: is not a rule field")
    assert summary_text(errors).startswith("8 fields need a fix (marked in red): 'name', 'window', 'threshold'")
    for text in under.values():  # pydantic's and the parser's own words never reach the page
        assert not any(raw in text for raw in ("Input should", "Value error", "expected a duration", "Extra inputs"))


def test_a_check_across_fields_is_reported_beside_the_field_errors() -> None:
    _spec, errors = validate(FORM_DEFAULTS | {"name": "x", "kind": "absence", "metric": "sum", "threshold": "high"})
    assert [f for f, _m in errors] == ["threshold", "metric"]
    assert form_errors(errors)["metric"] == "an absence rule counts events: use metric count (or leave it out)"


def test_a_broken_advanced_box_does_not_hide_the_other_fields_errors() -> None:
    _spec, errors = validate(FORM_DEFAULTS | {"name": "x", "threshold": "high", "advanced": "labels: {a: b"})
    assert [f for f, _m in errors] == ["advanced", "threshold"]
    assert "not valid YAML" in form_errors(errors)["advanced"]


def test_a_valid_form_has_no_errors_and_the_spec_the_api_takes() -> None:
    spec, errors = validate(EVERYTHING)
    assert errors == [] and parse_rule(spec).spec() == parse_rule(form_spec(EVERYTHING)).spec()


@pytest.mark.parametrize("field", ["window", "for", "keep_firing_for", "repeat_interval"])
def test_every_duration_the_help_and_the_errors_show_is_one_the_rule_accepts(field: str) -> None:
    shown = " ".join(
        [
            HELP[field],
            DURATION_EXAMPLES,
            *form_errors(validate(FORM_DEFAULTS | {"name": "x", field: "soon"})[1]).values(),
        ]
    )
    examples = set(re.findall(r"\b\d+(?:s|m|min|h|d|w)?\b(?! \()", shown)) | ({"today"} if "today" in shown else set())
    assert {"30s", "5m", "10min"} & examples
    for example in examples:
        if example == "0s" and field not in ("for", "keep_firing_for"):
            continue
        _spec, errors = validate(FORM_DEFAULTS | {"name": "x", "threshold": "1", field: example})
        assert errors == [], (example, errors)


def test_saving_a_broken_form_marks_every_bad_control_with_its_message(services: Any) -> None:
    from flask import Flask

    from callbacks import alerts as cb

    with Flask(__name__).test_request_context():
        reply = cb.save_rule(services, BROKEN, None, 0)
    assert {f for f, on in reply["invalid"].items() if on} == {
        f for f, on in invalid_all(validate(BROKEN)[1]).items() if on
    }
    assert reply["feedback"]["threshold"] == "write a number, like 3 or 2.5"
    assert reply["feedback"]["kind"] is None and "changed" not in reply
    assert "8 fields need a fix" in str(reply["message"].children)
    with services.db.read() as conn:
        assert manage.list_rules(conn) and all(r["name"] != "" for r in manage.list_rules(conn))


FORECAST = FORM_DEFAULTS | {
    "name": "disk filling",
    "kind": "forecast",
    "metric": "max",
    "source": "pulseboard",
    "type": "disk_percent",
    "op": ">",
    "threshold": "90",
    "horizon": "3d",
    "bound": "upper",
    "advanced": "bucket: 1h\n",
}


def test_a_forecast_rule_survives_form_to_rule_to_form() -> None:
    rule = parse_rule(form_spec(FORECAST))
    assert (rule.kind, rule.horizon, rule.bound, rule.bucket, rule.history) == ("forecast", "3d", "upper", "1h", "7d")
    assert round_trip(FORECAST) == FORECAST


def test_the_forecast_controls_are_left_out_for_the_other_kinds() -> None:
    spec = form_spec(FORECAST | {"kind": "threshold", "advanced": ""})
    assert "horizon" not in spec and "bound" not in spec
    assert validate(FORECAST | {"kind": "threshold", "advanced": ""})[1] == []


@pytest.mark.parametrize(
    ("horizon", "says"),
    [
        ("", "a forecast rule needs a horizon"),
        ("30m", "must be longer than the bucket (1h), got 30m"),
        ("8d", "at most the history (7d), got 8d"),
        ("soon", "'soon' is not a duration"),
    ],
)
def test_a_bad_horizon_is_marked_on_its_control_in_plain_words(horizon: str, says: str) -> None:
    _spec, errors = validate(FORECAST | {"horizon": horizon})
    assert [field for field, _message in errors] == ["horizon"]
    assert says in form_errors(errors)["horizon"]
    assert summary_text(errors).startswith("Check the field 'forecast horizon' (horizon): ")
    assert [f for f, bad in invalid_all(errors).items() if bad] == ["horizon"]
