"""The Alerts page's builders and its form: components for empty and
non-empty data, the form's values to a rule and back (through the real rule
model), and every validation error mapped to the control that holds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from dash import no_update
from plotly.utils import PlotlyJSONEncoder

from alerts import form as forms
from alerts import manage
from alerts.rules import RuleError, parse_rule
from callbacks import alerts as cb
from layouts import alerts as layout
from layouts import alerts_active as active
from layouts import alerts_history as past
from layouts import alerts_rules as rules
from layouts import figures, ids

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def text(component: Any) -> str:
    """Everything a component tree would send to the browser, as one string."""
    return json.dumps(component, cls=PlotlyJSONEncoder, ensure_ascii=False)


def component_ids(component: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                found.add(props["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(text(component)))
    return found


def alert(**kw: Any) -> dict[str, Any]:
    base = {
        "id": 7,
        "rule_id": 3,
        "rule": "errors",
        "fingerprint": "f",
        "labels": {"source": "web"},
        "severity": "error",
        "state": "firing",
        "value": 5.0,
        "summary": "errors [source=web]: count is 5 (> 3 over 1m)",
        "started_at": (NOW - timedelta(minutes=3)).isoformat(),
        "fired_at": (NOW - timedelta(minutes=2)).isoformat(),
        "resolved_at": None,
        "last_eval_at": NOW.isoformat(),
        "notifications": 1,
        "acknowledged": False,
        "acknowledged_at": None,
        "acknowledged_by": None,
    }
    return base | kw


SPEC = {
    "name": "errors",
    "kind": "threshold",
    "metric": "count",
    "filter": {"type": ["error"]},
    "group_by": ["source"],
    "window": "1m",
    "op": ">",
    "threshold": 3.0,
    "severity": "error",
    "for": "0s",
    "targets": [{"type": "live"}, {"type": "log"}],
}


# ------------------------------------------------------------------ the form


def form(**kw: Any) -> dict[str, Any]:
    return forms.form_values(None) | {"name": "errors", "type": "error", "window": "1m", "threshold": "3"} | kw


def test_the_form_makes_a_valid_rule_with_the_defaults_filled_in() -> None:
    rule = parse_rule(forms.form_spec(form(group_by=["source"], severity="error")))
    assert (rule.name, rule.metric, rule.window, rule.op, rule.threshold, rule.severity) == (
        "errors",
        "count",
        "1m",
        ">",
        3.0,
        "error",
    )
    assert rule.filter.type == ["error"] and rule.group_by == ["source"]
    assert [t.type for t in rule.targets] == ["live", "log"]
    assert rule.repeat_interval == "4h" and rule.for_ == "0s"


def test_a_stored_rule_round_trips_through_the_form_with_the_advanced_fields() -> None:
    spec = parse_rule(
        {
            "name": "sync health",
            "description": "Low success",
            "metric": "success_rate",
            "filter": {"type": ["sync"], "attrs": {"site": "north"}, "user": ["ana"]},
            "window": "today",
            "op": "<",
            "threshold": 80,
            "min_samples": 10,
            "samples_filter": {"type": ["scan"]},
            "for": "2m",
            "keep_firing_for": "5m",
            "repeat_interval": "1h",
            "severity": "warning",
            "labels": {"team": "ops"},
            "targets": [{"type": "live"}, {"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
        }
    ).spec()
    values = forms.form_values(spec)
    assert values["type"] == "sync" and values["min_samples"] == "10" and values["webhook"] == "http://127.0.0.1:9/hook"
    assert (
        "team: ops" in values["advanced"]
        and "site: north" in values["advanced"]
        and "samples_filter" in values["advanced"]
    )
    assert parse_rule(forms.form_spec(values)).spec() == spec


def test_an_empty_form_gives_the_defaults() -> None:
    values = forms.form_values(None)
    assert values == forms.FORM_DEFAULTS and values is not forms.FORM_DEFAULTS
    assert forms.form_spec(values) == {
        "kind": "threshold",
        "severity": "warning",
        "metric": "count",
        "field": "value",
        "window": "5m",
        "op": ">",
        "for": "0s",
        "keep_firing_for": "0s",
        "repeat_interval": "4h",
        "targets": [{"type": "live"}, {"type": "log"}],
    }


@pytest.mark.parametrize(
    ("change", "field", "control"),
    [
        ({"name": ""}, "name", "name"),
        ({"threshold": "high"}, "threshold", "threshold"),
        ({"min_samples": "-1"}, "min_samples", "min_samples"),
        ({"window": "5 parsecs"}, "window", "window"),
        ({"for": "soon"}, "for", "for"),
        ({"keep_firing_for": "x"}, "keep_firing_for", "keep_firing_for"),
        ({"repeat_interval": "0s"}, "repeat_interval", "repeat_interval"),
        ({"webhook": "ftp://example.com/x"}, "targets.2.url", "webhook"),
        ({"kind": "absence", "metric": "sum"}, "metric", "metric"),
        ({"metric": "latest", "group_by": ["user"]}, "group_by", "group_by"),
        ({"advanced": "labels: [1, 2]"}, "labels", "advanced"),
        ({"advanced": "filter: {attrs: {'': 1}}"}, "filter.attrs", "advanced"),
        ({"advanced": "colour: red"}, "colour", None),
    ],
)
def test_every_rule_error_names_its_field_and_maps_to_its_control(
    change: dict[str, Any], field: str, control: str | None
) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(forms.form_spec(form(**change)))
    assert info.value.field.startswith(field)
    assert forms.control_for(info.value.field) == control
    shown = forms.error_text(info.value.field, info.value.message)
    assert info.value.field in shown and forms.plain(info.value.field, info.value.message) in shown
    assert "Input should" not in shown and "Value error" not in shown  # pydantic's words stay inside


def test_bad_advanced_yaml_is_a_form_error_on_the_advanced_box() -> None:
    for bad in (
        "labels: {team: ops",
        "- just\n- a list",
        "a: &x [1, 2]\nlabels: *x",
        "labels: {" + "k: v, " * 3000 + "}",
    ):
        with pytest.raises(forms.FormError) as info:
            forms.form_spec(form(advanced=bad))
        assert info.value.field == "advanced" and forms.control_for(info.value.field) == "advanced"


def test_every_invalidable_control_exists_in_the_form() -> None:
    present = component_ids(rules.rule_form())
    assert {ids.al_field(f) for f in forms.FORM_FIELDS} <= present
    assert set(forms.INVALIDABLE) | set(forms.CHECKLISTS) == set(forms.FORM_FIELDS)


# ------------------------------------------------------------------ builders


def test_the_active_list_says_what_to_do_when_nothing_fires() -> None:
    assert active.NO_ACTIVE in text(active.active_list([], {}, NOW))


def test_an_alert_card_shows_rule_labels_value_since_and_the_acknowledge_button() -> None:
    out = text(active.active_list([alert()], {3: SPEC}, NOW))
    for part in (
        "errors",
        "source=web",
        "errors [source=web]: count is 5 (> 3 over 1m)",
        "2026-11-30 11:58:00",
        "2 min ago",
        "Acknowledge",
        "/alerts?alert=7",
        "/alerts?tab=history&rule=3",
        "/explore?window=15min&type=error&source=web",
        "#e03131",
        "/alerts?tab=silences&silence_rule=errors&silence_labels=source%3Dweb",
    ):
        assert part in out, part
    assert '"type": "al-ack", "index": 7' in out
    assert "rule off" not in out
    assert "rule off" in text(active.alert_card(alert(), SPEC | {"enabled": False}, NOW))


def test_an_acknowledged_alert_says_by_whom_instead_of_a_button() -> None:
    card = active.alert_card(
        alert(acknowledged=True, acknowledged_by="ana", acknowledged_at=NOW.isoformat()), SPEC, NOW
    )
    out = text(card)
    assert "acknowledged by ana" in out and "Acknowledge" not in out


SILENCE = {
    "id": 4,
    "matchers": {"rule": "errors", "source": "web"},
    "starts_at": (NOW - timedelta(minutes=5)).isoformat(),
    "ends_at": (NOW + timedelta(hours=2)).isoformat(),
    "comment": "deploy of the web tier",
    "created_by": "ana",
    "active": True,
}
KEEP_SPEC = SPEC | {"keep_firing_for": "10m"}


def keeping(**kw: Any) -> dict[str, Any]:
    """A firing alert whose condition last held 3 minutes ago (its rule keeps it firing 10 minutes)."""
    base = {"value": 2.0, "last_match_at": (NOW - timedelta(minutes=3)).isoformat(), "last_eval_at": NOW.isoformat()}
    return alert(**(base | kw))


def card_of(a: dict[str, Any], spec: dict[str, Any] = SPEC, silences: list[dict[str, Any]] | None = None) -> Any:
    return json.loads(text(active.alert_card(a, spec, NOW, silences=silences)))


def badges(card: Any) -> list[str]:
    """The card's state and severity badges, in order (not its label pills)."""
    return [
        n["props"]["children"]
        for n in _nodes(card)
        if n["type"] == "Badge" or str(n["props"].get("className", "")).startswith("badge me-1 bg-danger-subtle")
    ]


def test_a_firing_card_says_the_value_against_the_condition_and_wants_attention() -> None:
    card = card_of(alert(last_match_at=NOW.isoformat()))
    flat = json.dumps(card, ensure_ascii=False)
    assert "errors [source=web]: count is 5 (> 3 over 1m)" in flat
    assert badges(card)[:2] == ["firing", "error"] and "#e03131" in card["props"]["style"]["borderLeft"]
    assert "pb-alert-firing" in card["props"]["className"]
    assert not any(w in flat for w in ("silenced by", "acknowledged by", "keeps firing", "no longer"))


def test_a_card_that_keeps_firing_says_the_condition_cleared_and_until_when() -> None:
    card = card_of(keeping(), KEEP_SPEC)
    flat = json.dumps(card, ensure_ascii=False)
    assert "keeps firing" in badges(card) and "pb-alert-keeping" in card["props"]["className"]
    assert "errors [source=web]: count is 2, no longer > 3 over 1m" in flat
    assert "count is 2 (> 3" not in flat  # the old lie: a value below the threshold shown as breaking it
    assert "condition resolved 3 min ago, keeps firing until 12:07:00 UTC (keep_firing_for 10 min)" in flat
    assert "dashed" in card["props"]["style"]["borderLeft"]
    # Its window emptied: the value kept is the last one seen, and the card says so.
    stale = json.dumps(card_of(keeping(value=5.0), KEEP_SPEC), ensure_ascii=False)
    assert "count is 0 (no matching events in the last 1m; it was 5), no longer > 3 over 1m" in stale
    later = json.dumps(card_of(keeping(last_match_at=(NOW - timedelta(minutes=12)).isoformat()), KEEP_SPEC))
    assert "kept firing until 11:58:00 UTC" in later  # past its end, before the next evaluation resolves it


def test_a_silenced_card_says_by_which_silence_until_when_and_looks_quiet() -> None:
    card = card_of(alert(), SPEC, [SILENCE])
    flat = json.dumps(card, ensure_ascii=False)
    assert "silenced" in badges(card) and "pb-alert-silenced" in card["props"]["className"]
    assert "silenced by “deploy of the web tier” (ana) until 2026-11-30 14:00:00 UTC" in flat
    assert "#868e96" in card["props"]["style"]["borderLeft"] and "#e03131" not in card["props"]["style"]["borderLeft"]
    assert "silence…" not in flat  # already silenced: no link to silence it again
    assert "errors [source=web]: count is 5 (> 3 over 1m)" in flat  # still the truth about the value
    other = card_of(alert(labels={"source": "api"}), SPEC, [SILENCE])  # a label the silence does not match
    assert "silenced" not in badges(other)
    ended = card_of(alert(), SPEC, [SILENCE | {"active": False}])
    assert "silenced" not in badges(ended)


def test_an_acknowledged_card_says_by_whom_and_when() -> None:
    acked = alert(acknowledged=True, acknowledged_by="ana", acknowledged_at=(NOW - timedelta(minutes=4)).isoformat())
    card = card_of(acked)
    flat = json.dumps(card, ensure_ascii=False)
    assert "acknowledged" in badges(card) and "pb-alert-acknowledged" in card["props"]["className"]
    assert "acknowledged by ana at 2026-11-30 11:56:00 UTC (4 min ago): no repeat notifications" in flat
    assert "Acknowledge" not in [n["props"].get("children") for n in _nodes(card) if n["type"] == "Button"]
    assert "#0c8599" in card["props"]["style"]["borderLeft"]
    both = card_of(
        keeping(acknowledged=True, acknowledged_by="ana", acknowledged_at=NOW.isoformat()), KEEP_SPEC, [SILENCE]
    )
    assert {"keeps firing", "acknowledged", "silenced"} <= set(badges(both))
    assert "pb-alert-silenced" in both["props"]["className"]  # the quietest look wins


def test_the_counts_tell_firing_alerts_apart_from_silenced_and_acknowledged_ones() -> None:
    alerts = [
        alert(id=1),
        alert(id=2, labels={"source": "web"}),
        alert(id=3, labels={"source": "api"}, acknowledged=True),
        alert(id=4, state="pending", fired_at=None),
    ]
    out = text(active.counts_badges(alerts, 5, 4, 1, [SILENCE | {"matchers": {"rule": "errors", "source": "web"}}]))
    assert "0 firing" in out and "2 silenced" in out and "1 acknowledged" in out and "1 pending" in out
    plain = [n["props"]["children"] for n in _nodes(json.loads(text(active.counts_badges(alerts[2:], 5, 4, 0, []))))]
    assert plain[:3] == ["0 firing", "1 acknowledged", "1 pending"]


def test_a_duration_rule_links_to_the_script_s_runs() -> None:
    spec = {"name": "slow", "kind": "duration", "filter": {"entity": ["backup"]}, "group_by": ["entity"]}
    assert active.events_link(alert(labels={"entity": "backup"}), spec) == "/executions?script=backup"
    assert active.events_link(alert(), None) is None


def test_the_alert_detail_lists_its_notifications_or_says_it_is_gone() -> None:
    notes = [
        {
            "id": 1,
            "ts": NOW.isoformat(),
            "kind": "firing",
            "target": "http://h/x",
            "ok": False,
            "attempts": 3,
            "error": "HTTP 500",
        }
    ]
    out = text(active.alert_detail(alert(notifications=notes), SPEC, NOW))
    assert "Alert #7" in out and "failed: HTTP 500" in out and "1 notification" in out
    assert "does not exist" in text(active.alert_detail(None, None, NOW, "99"))
    resolved = text(
        active.alert_detail(alert(state="resolved", resolved_at=NOW.isoformat(), notifications=[]), SPEC, NOW)
    )
    assert "resolved" in resolved and "No notifications were sent" in resolved


def test_the_rules_table_has_a_switch_per_rule_and_an_empty_state() -> None:
    assert rules.NO_RULES in text(rules.rules_table([]))
    assert "--rules rules.yaml" in rules.NO_RULES
    rows = [
        {"id": 1, "name": "errors", "enabled": True, "origin": "api", "spec": SPEC},
        {
            "id": 2,
            "name": "quiet",
            "enabled": False,
            "origin": "file",
            "spec": {"name": "quiet", "kind": "absence", "window": "1h"},
        },
    ]
    out = json.loads(text(rules.rules_table(rows)))
    switches = [n for n in _nodes(out) if n.get("type") == "Switch"]
    assert [(s["props"]["id"]["index"], s["props"]["value"]) for s in switches] == [(1, True), (2, False)]
    flat = json.dumps(out)
    assert "count of type=error over 1m > 3, per source" in flat and "no events in 1h" in flat


def _nodes(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "props" in node and "type" in node:
            out.append(node)
        for v in node.values():
            out += _nodes(v)
    elif isinstance(node, list):
        for v in node:
            out += _nodes(v)
    return out


def test_silences_show_their_state_and_a_delete_button() -> None:
    assert past.NO_SILENCES in text(past.silences_table([], NOW))
    rows = [
        {
            "id": 1,
            "matchers": {"rule": "errors"},
            "starts_at": NOW.isoformat(),
            "ends_at": (NOW + timedelta(hours=1)).isoformat(),
            "comment": "deploy",
            "created_by": None,
            "active": True,
        },
        {
            "id": 2,
            "matchers": {"entity": "x"},
            "starts_at": (NOW - timedelta(hours=2)).isoformat(),
            "ends_at": (NOW - timedelta(hours=1)).isoformat(),
            "comment": None,
            "created_by": "ana",
            "active": False,
        },
    ]
    out = text(past.silences_table(rows, NOW))
    assert "rule=errors" in out and "in force" in out and "ended" in out and "deploy" in out
    assert '"type": "al-s-delete", "index": 2' in out


def test_history_rows_link_each_alert_and_say_who_acknowledged() -> None:
    rows = past.history_rows([alert(acknowledged=True, acknowledged_by="ana"), alert(id=8, state="resolved")])
    assert (
        rows[0]["alert"] == "[#7](/alerts?alert=7)"
        and rows[0]["acknowledged"] == "yes by ana"
        and rows[0]["labels"] == "source=web"
    )
    assert rows[1]["acknowledged"] == "no" and rows[1]["resolved"] == "–"
    assert past.history_rows([]) == []


def test_the_backtest_view_counts_notifications_and_draws_the_timeline() -> None:
    result = {
        "rule": "errors",
        "since": "2026-11-29T12:00:00+00:00",
        "until": "2026-11-30T12:00:00+00:00",
        "step_seconds": 288.0,
        "steps": 301,
        "transitions": [
            {
                "ts": "2026-11-30T10:00:00+00:00",
                "labels": {"source": "web"},
                "from": "normal",
                "to": "firing",
                "value": 5.0,
                "notification": "firing",
            },
            {
                "ts": "2026-11-30T10:10:00+00:00",
                "labels": {"source": "web"},
                "from": "firing",
                "to": "resolved",
                "value": 1.0,
                "notification": "resolved",
            },
        ],
        "fired": 1,
        "resolved": 1,
        "notifications": 2,
        "by_kind": {},
        "deliveries": 4,
    }
    fig = figures.alert_timeline(result["transitions"], since=result["since"], until=result["until"], dark=True)
    assert list(fig.data[0].y) == [0, 2, 0, 0] and list(fig.data[1].x) == [t["ts"] for t in result["transitions"]]
    out = text(past.backtest_view(result, fig, "Rule 'errors'"))
    assert (
        "fired 1 time," in out
        and "sent 2 notifications" in out
        and "every 4 min 48 s" in out
        and "firing → resolved" in out
    )
    empty = figures.alert_timeline([], since=result["since"], until=result["until"])
    assert list(empty.data[0].y) == [0, 0] and len(empty.data) == 1
    assert "would not have left the normal state" in text(past.backtest_view(result | {"transitions": []}, empty, "x"))


def test_the_backtest_chart_draws_the_metric_against_the_threshold_with_the_firing_spans_shaded() -> None:
    result = {
        "since": "2026-11-30T10:00:00+00:00",
        "until": "2026-11-30T10:20:00+00:00",
        "step_seconds": 300.0,
        "steps": 5,
        "transitions": [
            {"ts": "2026-11-30T10:05:00+00:00", "labels": {"source": "web"}, "from": "normal", "to": "firing"},
            {"ts": "2026-11-30T10:15:00+00:00", "labels": {"source": "web"}, "from": "firing", "to": "resolved"},
        ],
        "series": [
            {
                "labels": {"source": "web"},
                "ts": [f"2026-11-30T10:{m:02d}:00+00:00" for m in (0, 5, 10, 20)],
                "values": [1.0, 5.0, 4.0, 0.0],
            },
            {"labels": {"source": "api"}, "ts": ["2026-11-30T10:00:00+00:00"], "values": [2.0]},
        ],
        "series_total": 2,
    }
    fig = past.backtest_figure(result, SPEC, dark=True)
    lines = {t.name: t for t in fig.data}
    web = lines["source=web"]
    assert list(web.y) == [1.0, 5.0, 4.0, None, 0.0]  # a break where the 10:15 step had no value
    assert "source=api" in lines and "threshold > 3" in lines and "would fire" in lines
    (threshold,) = [s for s in fig.layout.shapes if s.type == "line"]
    assert (threshold.y0, threshold.y1, threshold.line.dash) == (3.0, 3.0, "dash")
    (firing,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (firing.x0, firing.x1) == ("2026-11-30T10:05:00+00:00", "2026-11-30T10:15:00+00:00")
    assert fig.layout.yaxis.title.text == "count over 1m" and fig.layout.template.layout.paper_bgcolor is not None
    quiet = past.backtest_figure(result | {"transitions": [], "series": []}, SPEC | {"kind": "anomaly"})
    assert not quiet.layout.shapes and not quiet.data
    assert past.spans(
        [
            {"ts": "a", "labels": {}, "from": "normal", "to": "pending"},
            {"ts": "b", "labels": {}, "from": "pending", "to": "firing"},
        ],
        "z",
    ) == [("a", "b", "pending", ""), ("b", "z", "firing", "")]


def test_the_page_reads_its_filters_from_the_url_and_ignores_bad_ones() -> None:
    def props(page: Any, id_: str) -> dict[str, Any]:
        return next(n["props"] for n in _nodes(json.loads(text(page))) if n["props"].get("id") == id_)

    page = layout.page(
        "/alerts", {"tab": "history", "rule": "3", "state": "firing", "backtest": "2", "bt_range": "7d", "alert": "12"}
    )
    assert props(page, ids.AL_TABS)["active_tab"] == "history"
    assert props(page, ids.AL_H_RULE)["value"] == "3" and props(page, ids.AL_H_STATE)["value"] == "firing"
    assert props(page, ids.AL_BT_RULE)["value"] == "2" and props(page, ids.AL_BT_RANGE)["value"] == "7d"
    assert props(page, ids.AL_ALERT_ID)["data"] == "12"
    # range= is the time bar's (the history's); an older backtest link's range= still sets the backtest's.
    assert props(layout.page("/alerts", {"tab": "history", "range": "30d"}), ids.AL_BT_RANGE)["value"] == "24h"
    assert props(layout.page("/alerts", {"tab": "backtest", "range": "30d"}), ids.AL_BT_RANGE)["value"] == "30d"
    silence = layout.page("/alerts", {"tab": "silences", "silence_rule": "errors", "silence_labels": "source=web"})
    assert (
        props(silence, ids.AL_S_RULE)["value"] == "errors" and props(silence, ids.AL_S_LABELS)["value"] == "source=web"
    )
    bad = layout.page("/alerts", {"tab": "nope", "rule": "x;", "state": "exploded", "bt_range": "1y"})
    assert props(bad, ids.AL_TABS)["active_tab"] == "active" and props(bad, ids.AL_H_RULE)["value"] == ""
    assert props(bad, ids.AL_H_STATE)["value"] == "" and props(bad, ids.AL_BT_RANGE)["value"] == "24h"


def test_every_alerts_id_the_callbacks_use_is_on_the_page() -> None:
    present = component_ids(layout.page("/alerts", {}))
    wanted = {v for k, v in vars(ids).items() if k.startswith("AL_") and isinstance(v, str)}
    wanted -= {
        ids.AL_ACK,
        ids.AL_RULE_ENABLED,
        ids.AL_RULE_EDIT,
        ids.AL_S_DELETE,
        ids.AL_FORM,
    }  # pattern types and the form prefix
    wanted -= {ids.AL_ALERT_DETAIL}  # drawn by a callback, for /alerts?alert=<id> only
    assert wanted <= present, wanted - present
    assert ids.page_url("alerts") in present
    assert ids.AL_ALERT_DETAIL in component_ids(active.alert_detail(alert(notifications=[]), SPEC, NOW))


def test_every_id_on_the_page_comes_from_the_ids_module() -> None:
    named = {v for k, v in vars(ids).items() if k.startswith("AL_") and isinstance(v, str)}
    named |= {ids.al_field(f) for f in forms.FORM_FIELDS} | {ids.al_tab(t) for t, _ in layout.TABS}
    named |= {ids.al_field_error(f) for f in forms.FORM_FIELDS}
    named |= {
        ids.page_url("alerts"),
        ids.page_search("alerts"),
        ids.csv_button(ids.AL_HISTORY),
        ids.csv_button(ids.AL_OUTBOX),
    }
    present = component_ids(layout.page("/alerts", {"alert": "7"}))
    assert present <= named, present - named
    rows = [{"id": 1, "name": "errors", "enabled": True, "spec": SPEC}]
    silence = {"id": 4, "matchers": {"rule": "errors"}, "active": True}
    built = component_ids(
        [active.active_list([alert()], {3: SPEC}, NOW), rules.rules_table(rows), past.silences_table([silence], NOW)]
    )
    assert built == {ids.al_alert(7), ids.al_rule_row(1), ids.al_silence_row(4)}
    assert ids.al_alert_in_detail(7) in component_ids(active.alert_detail(alert(notifications=[]), SPEC, NOW))


# ------------------------------------------------------------------ callbacks' helpers


def test_silence_labels_parse_or_name_the_field() -> None:
    assert forms.silence_spec("", "entity=a, source=b", "", "", "ana") == {
        "matchers": {"entity": "a", "source": "b"},
        "duration": "1h",
        "created_by": "ana",
    }
    with pytest.raises(RuleError) as info:
        forms.parse_labels("entity")
    assert info.value.field == "labels"
    assert "Choose a rule or give labels" in forms.silence_error(
        RuleError("matchers", "List should have at least 1 item")
    )
    assert forms.silence_error(RuleError("duration", "bad")) == "Check the field 'for': bad"


def test_the_url_holds_every_filter_and_only_those_not_default() -> None:
    assert cb.url_search("history", None, "3", "firing", None, None) == "?tab=history&rule=3&state=firing"
    assert cb.url_search("backtest", "9", "", "", "4", "7d") == "?tab=backtest&backtest=4&bt_range=7d"
    assert cb.url_search("active", None, None, None, None, "24h") == ""


def test_an_evaluation_summary_reads_as_a_sentence_with_each_failed_rule() -> None:
    summary = {
        "rules": 2,
        "firing": 0,
        "pending": 1,
        "notifications": 0,
        "transitions": [],
        "duration_ms": 3.2,
        "evaluated_at": NOW.isoformat(),
        "errors": [{"rule": "broken", "error": "no such column"}],
    }
    out = text(active.evaluation_text(summary))
    assert (
        "Evaluated 2 rules at 2026-11-30 12:00:00 UTC" in out
        and "1 pending" in out
        and "Rule 'broken' could not be evaluated" in out
    )


def test_only_admins_change_alerts_when_sign_in_is_on() -> None:
    from flask import Flask, g

    app = Flask(__name__)
    with app.test_request_context():
        assert cb.may_change() is None  # sign-in off: everyone is an admin
    app.config["PULSE_AUTH"] = True
    with app.test_request_context():
        g.pulse_role = "viewer"
        assert "needs the admin role" in (cb.may_change() or "")
        g.pulse_role = "admin"
        assert cb.may_change() is None


def test_a_callback_answers_only_the_outputs_it_names() -> None:
    """``register``'s wiring through Dash itself: named inputs (nested too)
    reach a module-level function bound to its services, and the outputs it
    leaves out are not sent (Dash 4.4 itself wants every key of a dict)."""
    import dash
    from dash import Input, Output, State, html

    def answer(services: str, *, n: int, form: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"group": {"x": f"{services}-{n}-{form['v']}"}}

    app = dash.Dash(__name__)
    app.layout = html.Div()
    cb._add(
        app,
        partial(answer, "svc"),
        output={"a": Output("a", "children"), "group": {"x": Output("x", "children"), "y": Output("y", "value")}},
        inputs={"n": Input("btn", "n_clicks"), "other": Input("o", "value"), "form": {"v": State("v", "value")}},
    )
    ((callback_id, entry),) = app.callback_map.items()
    body = {
        "output": callback_id,
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in entry["output"]],
        "inputs": [{"id": "btn", "property": "n_clicks", "value": 2}, {"id": "o", "property": "value", "value": None}],
        "state": [{"id": "v", "property": "value", "value": "hi"}],
        "changedPropIds": ["btn.n_clicks"],
    }
    reply = app.server.test_client().post("/_dash-update-component", json=body)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["response"] == {"x": {"children": "svc-2-hi"}}


def test_complete_fills_every_output_a_callback_leaves_out() -> None:
    schema = {"message": 0, "values": {"name": 1, "kind": 2}, "changed": 3}
    assert cb.complete(schema, {"values": {"name": "x"}}) == {
        "message": no_update,
        "values": {"name": "x", "kind": no_update},
        "changed": no_update,
    }
    assert cb.complete(schema, {"values": no_update, "changed": {"a": 1}})["changed"] == {"a": 1}


# ------------------------------------------------------------------ the form's callbacks


@pytest.fixture
def signed_in(tmp_path: Path) -> Iterator[Any]:
    """Services of an app with sign-in on, inside a request (set ``g.pulse_role``)."""
    from app import create_app
    from settings import load_settings

    app = create_app(load_settings({"db": str(tmp_path / "p.db"), "data_dir": str(tmp_path), "auth": True}, environ={}))
    services = app.server.extensions["pulseboard"]
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        yield services
    services.close()


def rule_names(services: Any) -> set[str]:
    with services.db.read() as conn:
        return {r["name"] for r in manage.list_rules(conn)}


def test_saving_the_form_needs_an_admin_and_marks_the_bad_control(signed_in: Any) -> None:
    from flask import g

    g.pulse_role = "viewer"
    refused = cb.save_rule(signed_in, form(), None, 4)
    assert "needs the admin role" in text(refused["message"]) and set(refused) == {"message"}
    assert "errors" not in rule_names(signed_in)

    g.pulse_role = "admin"
    bad = cb.save_rule(signed_in, form(threshold="many"), None, 4)
    assert [f for f, on in bad["invalid"].items() if on] == ["threshold"] and "changed" not in bad
    saved = cb.save_rule(signed_in, form(), None, 4)
    assert saved["title"] == "Edit rule 'errors'" and saved["changed"] == 5 and saved["hide_delete"] is False
    assert saved["values"]["threshold"] == "3" and "errors" in rule_names(signed_in)
    assert "Rule 'errors' created: count of type=error over 1m > 3" in text(saved["message"])


def test_saving_a_rule_deleted_meanwhile_turns_the_form_back_into_a_new_rule(signed_in: Any) -> None:
    from flask import g

    g.pulse_role = "admin"
    rule_id = cb.save_rule(signed_in, form(), None, 0)["editing"]
    assert cb.delete_rule(signed_in, rule_id, 1)["title"] == "New rule"
    again = cb.save_rule(signed_in, form(threshold="5"), rule_id, 2)
    assert (again["editing"], again["title"], again["hide_delete"], again["changed"]) == (None, "New rule", True, 3)
    assert "deleted meanwhile" in text(again["message"]) and "values" not in again
    assert "errors" not in rule_names(signed_in)


# ------------------------------------------------------------ e-mail outbox


def test_the_outbox_tab_lists_each_mail_with_its_state_attempts_and_last_error(tmp_path: Path) -> None:
    from data import outbox
    from data.db import Database

    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    db.migrate()
    try:
        with db.write() as conn:
            for i, to in enumerate(("ops@example.com", "dev@example.com")):
                outbox.enqueue(
                    conn, recipient=to, subject="[FIRING] errors (2)", body_text="text", dedupe_key=f"k{i}", now=NOW
                )
            (first,) = outbox.claim(conn, now=NOW, limit=1)
            outbox.mark_failed(
                conn, first["id"], error="SMTP 451: try later", now=NOW, max_attempts=8, base=30, cap=3600
            )
        with db.read() as conn:
            found = manage.mail_outbox(conn)
    finally:
        db.dispose()
    rows = past.outbox_rows(found["messages"])
    assert [(r["recipient"], r["state"], r["attempts"], r["last_error"]) for r in rows] == [
        ("dev@example.com", "pending", 0, ""),
        ("ops@example.com", "pending", 1, "SMTP 451: try later"),
    ]
    assert rows[1]["next"] == "2026-11-30 12:00:30" and rows[1]["sent"] == "–"
    assert "body_text" not in found["messages"][0]  # the grid never carries bodies
    assert past.outbox_note(found["counts"], len(rows), "") == (
        "2 messages: 2 pending. No SMTP server is set (--smtp-host): messages fail at once."
    )


def test_the_alerts_page_has_a_read_only_outbox_tab() -> None:
    page = json.dumps(layout.page("/alerts", {"tab": "outbox"}), cls=PlotlyJSONEncoder)
    assert ids.AL_OUTBOX in page and ids.AL_OUTBOX_NOTE in page and '"label": "Outbox"' in page
    assert "Delete" not in json.dumps(past.outbox_tab(), cls=PlotlyJSONEncoder)  # nothing to change there
