"""Alert rules: validation that names the field, YAML files, durations, the defaults."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone

import pytest

import alerts.rules
from alerts.defaults import DEFAULT_RULES
from alerts.rules import RuleError, duration, load_yaml, parse_rule
from data.queries import Filters


def error_of(spec: dict[str, object]) -> RuleError:
    with pytest.raises(RuleError) as info:
        parse_rule(spec)
    return info.value


def test_a_minimal_rule_gets_the_documented_defaults() -> None:
    rule = parse_rule({"name": "errors"})
    assert (rule.kind, rule.metric, rule.window, rule.op, rule.threshold, rule.severity) == (
        "threshold",
        "count",
        "5m",
        ">",
        0.0,
        "warning",
    )
    assert (rule.for_delta, rule.keep_firing_delta, rule.repeat_delta) == (
        timedelta(0),
        timedelta(0),
        timedelta(hours=4),
    )
    assert [t.type for t in rule.targets] == ["live", "log"]


def test_the_stored_spec_round_trips_with_for_under_its_own_name() -> None:
    spec = {
        "name": "slow",
        "metric": "p95",
        "field": "duration_ms",
        "filter": {"source": "app", "type": ["request", "job"]},
        "group_by": ["entity"],
        "threshold": 250,
        "for": "2m",
        "keep_firing_for": "30s",
        "labels": {"team": "web"},
        "targets": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
    }
    rule = parse_rule(spec)
    stored = rule.spec()
    assert stored["for"] == "2m" and "for_" not in stored
    assert stored["filter"] == {"source": ["app"], "type": ["request", "job"]}  # one value becomes a list
    assert parse_rule(stored) == rule
    assert rule.filter.filters() == Filters(source=("app",), type=("request", "job"))


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"threshold": 1}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "threshold": "high"}, "threshold"),
        ({"name": "x", "kind": "magic"}, "kind"),
        ({"name": "x", "metric": "p42"}, "metric"),
        ({"name": "x", "op": "=>"}, "op"),
        ({"name": "x", "window": "soon"}, "window"),
        ({"name": "x", "window": "0s"}, "window"),
        ({"name": "x", "for": "-1m"}, "for"),
        ({"name": "x", "repeat_interval": 0}, "repeat_interval"),
        ({"name": "x", "severity": "critical"}, "severity"),
        ({"name": "x", "min_samples": -1}, "min_samples"),
        ({"name": "x", "filter": {"type": []}}, "filter.type"),
        ({"name": "x", "filter": {"colour": "red"}}, "filter.colour"),
        ({"name": "x", "group_by": ["attrs"]}, "group_by.0"),
        ({"name": "x", "targets": [{"type": "pager"}]}, "targets.0.type"),
        ({"name": "x", "targets": [{"type": "email"}]}, "targets.0.to"),
        ({"name": "x", "targets": ["email:ops@example.com, not-an-address"]}, "targets.0.to"),
        (
            {"name": "x", "targets": [{"type": "email", "to": "a@example.com", "group_wait": "2h"}]},
            "targets.0.group_wait",
        ),
        ({"name": "x", "targets": [{"type": "slack", "to": "a@example.com"}]}, "targets.0.url"),
        ({"name": "x", "targets": ["teams:ftp://host/x"]}, "targets.0.url"),
        ({"name": "x", "targets": ["sms:two words"]}, "targets.0.to"),
        (
            {"name": "x", "targets": [{"type": "webhook", "url": "http://h/", "group_wait": "1m"}]},
            "targets.0.group_wait",
        ),
        ({"name": "x", "targets": [{"type": "webhook"}]}, "targets.0.url"),
        ({"name": "x", "targets": [{"type": "webhook", "url": "ftp://host/x"}]}, "targets.0.url"),
        ({"name": "x", "targets": [{"type": "log", "url": "http://h/"}]}, "targets.0.url"),
        ({"name": "x", "targets": [{"type": "log"}, {"type": "log"}]}, "targets"),
        ({"name": "x", "unknown": 1}, "unknown"),
        ({"name": "x", "kind": "absence", "metric": "avg"}, "metric"),
        ({"name": "x", "kind": "anomaly", "metric": "latest"}, "metric"),
        ({"name": "x", "kind": "anomaly", "bucket": "5m", "history": "10m"}, "history"),
        ({"name": "x", "kind": "duration", "group_by": ["source"]}, "group_by"),
        ({"name": "x", "metric": "latest", "filter": {"attrs": {"k": "v"}}}, "filter.attrs"),
        ({"name": "x", "threshold": float("nan")}, "threshold"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(spec: dict[str, object], field: str) -> None:
    exc = error_of(spec)
    assert exc.field == field
    assert f"'{field}'" in str(exc) and exc.message


def test_durations_read_like_prometheus_and_the_api() -> None:
    assert duration("90") == timedelta(seconds=90)
    assert duration("5m") == duration("5min") == timedelta(minutes=5)
    assert duration("1h") == timedelta(hours=1)
    assert duration("7d") == timedelta(days=7)
    assert duration("0s", allow_zero=True) == timedelta(0)
    with pytest.raises(ValueError, match="duration"):
        duration("tomorrow")


def test_the_today_window_starts_at_midnight_utc() -> None:
    rule = parse_rule({"name": "x", "window": "today"})
    now = datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc)
    assert rule.window_start(now) == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert parse_rule({"name": "y", "window": "5m"}).window_start(now) == now - timedelta(minutes=5)


def test_a_yaml_file_loads_every_rule() -> None:
    rules = load_yaml("""
rules:
  - name: queue
    metric: latest
    filter: {type: queue_size}
    threshold: 50
  - name: api-latency
    metric: p95
    field: duration_ms
    filter: {source: api}
    group_by: [entity]
    window: 10m
    threshold: 800
    for: 5m
    targets:
      - {type: webhook, url: "https://hooks.example.com/pulse"}
""")
    assert [r.name for r in rules] == ["queue", "api-latency"]
    assert rules[1].for_delta == timedelta(minutes=5) and rules[1].targets[0].url == "https://hooks.example.com/pulse"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("rules:\n  - name: a\n    threshold: x\n", "rules[0].threshold"),
        ("rules:\n  - name: a\n  - name: b\n    filter: {type: []}\n", "rules[1].filter.type"),
        ("rules:\n  - name: a\n  - name: a\n", "rules[1].name"),
        ("rules:\n  - just a string\n", "rules[0]"),
        ("alerts: []\n", "rules"),
        ("rules: [\n", "(file)"),
    ],
)
def test_a_bad_yaml_file_names_the_rule_and_field(text: str, field: str) -> None:
    with pytest.raises(RuleError) as info:
        load_yaml(text)
    assert info.value.field == field


def test_the_default_rules_are_valid_and_match_the_device_monitor_document() -> None:
    rules = {r["name"]: parse_rule(r) for r in DEFAULT_RULES}
    assert set(rules) == {"queue_size", "failed_syncs", "success_rate"}
    queue, failed, rate = rules["queue_size"], rules["failed_syncs"], rules["success_rate"]
    assert (queue.metric, queue.op, queue.threshold, queue.filter.type) == ("latest", ">", 50, ["queue_size"])
    assert (failed.metric, failed.op, failed.threshold, failed.window) == ("failures", ">", 10, "today")
    assert (rate.metric, rate.op, rate.threshold, rate.min_samples) == ("success_rate", "<", 80, 11)
    assert rate.samples_filter is not None and rate.samples_filter.type == ["scan"]


def test_rules_compare_with_their_operator() -> None:
    rule = parse_rule({"name": "x", "op": "<=", "threshold": 3})
    assert rule.holds(3) and rule.holds(2) and not rule.holds(3.5)


def test_the_docstring_examples_hold() -> None:
    result = doctest.testmod(alerts.rules)
    assert result.attempted > 0 and result.failed == 0
