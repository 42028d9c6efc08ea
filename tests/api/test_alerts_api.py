"""Alert routes over real HTTP on SQLite and PostgreSQL: rules CRUD (a bad
rule is a 400 naming the field), evaluation, active alerts, history,
acknowledgement, silences, backtests, the --rules file and the defaults."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from settings import SettingsError, load_settings

MIN = timedelta(minutes=1)
RULE = {
    "name": "orders-burst",
    "description": "Too many orders",
    "filter": {"type": "order"},
    "group_by": ["source"],
    "window": "5m",
    "threshold": 3,
    "severity": "error",
    "labels": {"team": "shop"},
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(server: Any) -> Any:
    server.services.clock = clock = Clock()
    server.clock = clock
    return server


def evaluate(server: Any) -> dict[str, Any]:
    r = server.post("/api/alerts/evaluate")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def orders(server: Any, n: int, source: str = "web") -> None:
    r = server.post("/api/events", json=[{"type": "order", "source": source}] * n)
    assert r.status_code == 201, r.text


def test_a_fresh_database_holds_the_device_monitor_default_rules(server: Any) -> None:
    body = server.get("/api/rules").json()
    assert body["count"] == 3
    assert {(r["name"], r["origin"], r["enabled"]) for r in body["rules"]} == {
        ("queue_size", "default", True),
        ("failed_syncs", "default", True),
        ("success_rate", "default", True),
    }


def test_rules_are_created_read_replaced_disabled_and_deleted(server: Any) -> None:
    r = server.post("/api/rules", json=RULE)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["name"], created["origin"], created["enabled"]) == ("orders-burst", "api", True)
    assert (
        created["spec"]["threshold"] == 3
        and created["spec"]["filter"] == {"type": ["order"]}
        and created["spec"]["for"] == "0s"
    )
    rule_id = created["id"]
    assert server.get(f"/api/rules/{rule_id}").json() == created

    r = server.put(f"/api/rules/{rule_id}", json=RULE | {"threshold": 10, "for": "2m"})
    assert r.status_code == 200 and r.json()["spec"]["threshold"] == 10 and r.json()["spec"]["for"] == "2m"

    r = server.http.patch(f"{server.url}/api/rules/{rule_id}", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["spec"]["enabled"] is False
    listed = {x["name"]: x for x in server.get("/api/rules").json()["rules"]}
    assert listed["orders-burst"]["enabled"] is False

    r = server.http.delete(f"{server.url}/api/rules/{rule_id}")
    assert r.status_code == 200 and r.json() == {"deleted": rule_id}
    assert server.get(f"/api/rules/{rule_id}").status_code == 404
    assert server.http.delete(f"{server.url}/api/rules/{rule_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (RULE | {"threshold": "lots"}, "threshold"),
        (RULE | {"window": "forever"}, "window"),
        (RULE | {"filter": {"type": []}}, "filter.type"),
        (RULE | {"targets": [{"type": "webhook"}]}, "targets.0.url"),
        (RULE | {"extra": True}, "extra"),
        ({k: v for k, v in RULE.items() if k != "name"}, "name"),
        (RULE | {"name": "queue_size"}, "name"),  # a default rule has that name
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(server: Any, body: dict[str, Any], field: str) -> None:
    before = server.get("/api/rules").json()["count"]
    r = server.post("/api/rules", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [{"field": field, "message": r.json()["errors"][0]["message"]}]
    assert f"'{field}'" in r.json()["error"]
    assert server.get("/api/rules").json()["count"] == before  # nothing stored


def test_bad_requests_on_rules_answer_json_errors(server: Any) -> None:
    assert server.post("/api/rules", json=["not", "an", "object"]).status_code == 400
    assert server.post("/api/rules", data="{", headers={"Content-Type": "application/json"}).status_code == 400
    assert server.put("/api/rules/9999", json=RULE).status_code == 404
    r = server.http.patch(f"{server.url}/api/rules/1", json={"enabled": "yes"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "enabled"
    assert server.get("/api/alerts/9999").status_code == 404
    assert server.post("/api/alerts/9999/ack").status_code == 404
    assert server.get("/api/alerts/history", params={"state": "exploded"}).status_code == 400


def test_a_rule_fires_is_listed_acknowledged_and_resolves(clocked: Any) -> None:
    server = clocked
    rule_id = server.post("/api/rules", json=RULE).json()["id"]
    orders(server, 4, "web")
    orders(server, 2, "app")
    summary = evaluate(server)
    assert summary["firing"] == 1 and summary["errors"] == []
    assert [(t["rule"], t["labels"], t["from"], t["to"]) for t in summary["transitions"]] == [
        ("orders-burst", {"source": "web", "team": "shop"}, "normal", "firing")
    ]

    active = server.get("/api/alerts/active").json()
    assert active["count"] == 1
    (alert,) = active["alerts"]
    assert (alert["rule"], alert["rule_id"], alert["state"], alert["value"], alert["severity"]) == (
        "orders-burst",
        rule_id,
        "firing",
        4.0,
        "error",
    )
    assert alert["labels"] == {"source": "web", "team": "shop"} and alert["acknowledged"] is False
    assert alert["fired_at"] == server.clock.now.isoformat()

    compat = server.get("/api/alerts").json()
    assert {"id": "orders-burst:source=web", "level": "error", "title": "Too many orders"}.items() <= compat["alerts"][
        0
    ].items()
    assert compat["count"] == 1 and "count is 4" in compat["alerts"][0]["message"]

    detail = server.get(f"/api/alerts/{alert['id']}").json()
    assert [(n["kind"], n["target"], n["ok"]) for n in detail["notifications"]] == [
        ("firing", "live", True),
        ("firing", "log", True),
    ]
    toast = server.get("/api/events", params={"type": "alert"}).json()["events"][0]
    assert (toast["source"], toast["entity"], toast["status"]) == ("pulseboard", "orders-burst", "error")
    assert (
        toast["attrs"]["alert_id"] == alert["id"]
        and toast["attrs"]["link"] == "/explore?window=15min&type=order&source=web"
    )

    r = server.post(f"/api/alerts/{alert['id']}/ack", json={"by": "ann"})
    assert r.status_code == 200 and r.json()["acknowledged"] is True and r.json()["acknowledged_by"] == "ann"

    server.clock.now += MIN
    assert evaluate(server)["transitions"] == []  # still firing: no change, no notification
    server.clock.now += 10 * MIN
    summary = evaluate(server)
    assert [(t["from"], t["to"]) for t in summary["transitions"]] == [("firing", "resolved")]
    assert server.get("/api/alerts/active").json()["count"] == 0
    history = server.get("/api/alerts/history", params={"rule_id": rule_id}).json()
    assert history["total"] == 1 and history["alerts"][0]["state"] == "resolved"
    kinds = [n["kind"] for n in server.get(f"/api/alerts/{alert['id']}").json()["notifications"]]
    assert kinds == ["firing", "firing", "resolved", "resolved"]


def test_a_pending_period_holds_the_alert_until_it_has_lasted(clocked: Any) -> None:
    server = clocked
    server.post("/api/rules", json=RULE | {"group_by": [], "for": "2m", "window": "10m"})
    orders(server, 5)
    assert evaluate(server)["pending"] == 1
    assert server.get("/api/alerts/active").json()["alerts"][0]["state"] == "pending"
    assert server.get("/api/alerts").json()["count"] == 0  # pending is not listed as an alert yet
    server.clock.now += MIN
    assert evaluate(server)["pending"] == 1
    server.clock.now += MIN
    summary = evaluate(server)
    assert summary["firing"] == 1 and [(t["from"], t["to"]) for t in summary["transitions"]] == [("pending", "firing")]
    assert summary["notifications"] == 1


def test_a_silence_mutes_notifications_until_it_is_deleted(clocked: Any) -> None:
    server = clocked
    server.post("/api/rules", json=RULE)
    r = server.post(
        "/api/silences",
        json={"matchers": {"rule": "orders-burst", "source": "web"}, "duration": "1h", "comment": "deploy"},
    )
    assert r.status_code == 201, r.text
    silence = r.json()
    assert silence["active"] is True and silence["comment"] == "deploy"
    assert [s["id"] for s in server.get("/api/silences", params={"active": "true"}).json()["silences"]] == [
        silence["id"]
    ]
    orders(server, 4)
    summary = evaluate(server)
    assert summary["firing"] == 1 and summary["notifications"] == 0
    (alert,) = server.get("/api/alerts/active").json()["alerts"]
    assert server.get(f"/api/alerts/{alert['id']}").json()["notifications"] == []

    assert server.http.delete(f"{server.url}/api/silences/{silence['id']}").json() == {"deleted": silence["id"]}
    assert server.get("/api/silences").json()["count"] == 0
    server.clock.now += timedelta(seconds=5)
    assert evaluate(server)["notifications"] == 1  # the firing notice goes out once the silence is gone
    assert server.http.delete(f"{server.url}/api/silences/{silence['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"matchers": {}, "duration": "1h"}, "matchers"),
        ({"matchers": {"rule": "x"}}, "ends_at"),
        ({"matchers": {"rule": "x"}, "duration": "later"}, "duration"),
        (
            {"matchers": {"rule": "x"}, "starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
            "ends_at",
        ),
        ({"matchers": {"rule": "x"}, "duration": "1h", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_silence_is_a_400_naming_the_field(server: Any, body: dict[str, Any], field: str) -> None:
    r = server.post("/api/silences", json=body)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == field
    assert server.get("/api/silences").json()["count"] == 0


def test_backtests_show_when_a_rule_would_have_fired_and_resolved(clocked: Any) -> None:
    server = clocked
    burst_at = server.clock.now - 30 * MIN
    events = [
        {"type": "order", "source": "web", "ts": (burst_at + i * timedelta(seconds=5)).isoformat()} for i in range(6)
    ]
    assert server.post("/api/events", json=events).status_code == 201
    rule = RULE | {"window": "5m"}
    params = {"window": "1h", "step": "1min"}
    r = server.post("/api/rules/backtest", params=params, json={"rule": rule})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["steps"] == 61 and body["fired"] == 1 and body["resolved"] == 1 and body["notifications"] == 2
    assert body["deliveries"] == 4  # two targets (live, log)
    assert [(t["to"], t["notification"]) for t in body["transitions"]] == [
        ("firing", "firing"),
        ("resolved", "resolved"),
    ]
    fired, resolved = (datetime.fromisoformat(t["ts"]) for t in body["transitions"])
    assert burst_at <= fired <= burst_at + 2 * MIN and fired + 4 * MIN <= resolved <= fired + 7 * MIN

    rule_id = server.post("/api/rules", json=rule).json()["id"]
    saved = server.post(f"/api/rules/{rule_id}/backtest", params=params).json()
    assert saved["transitions"] == body["transitions"]
    assert server.get("/api/alerts/history").json()["total"] == 0  # a backtest stores nothing

    r = server.post("/api/rules/backtest", params={"window": "7d", "step": "60"}, json=rule)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "step"
    r = server.post("/api/rules/backtest", params=params, json=rule | {"op": "~"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "op"
    assert server.post("/api/rules/9999/backtest").status_code == 404


def test_history_pages_and_filters_by_state(clocked: Any) -> None:
    server = clocked
    server.post("/api/rules", json=RULE)
    for source in ("a", "b", "c"):
        orders(server, 4, source)
    evaluate(server)
    page = server.get("/api/alerts/history", params={"limit": 2}).json()
    assert (page["total"], len(page["alerts"]), page["limit"], page["offset"]) == (3, 2, 2, 0)
    rest = server.get("/api/alerts/history", params={"limit": 2, "offset": 2}).json()
    assert len(rest["alerts"]) == 1
    assert {a["labels"]["source"] for a in page["alerts"] + rest["alerts"]} == {"a", "b", "c"}
    assert server.get("/api/alerts/history", params={"state": "resolved"}).json()["total"] == 0
    assert server.get("/api/alerts/history", params={"state": "firing"}).json()["total"] == 3


def test_rule_writes_need_a_key_when_keys_are_configured(make_server_for: Any, db_url: str) -> None:
    server = make_server_for(db_url, api_keys="k1")
    assert server.post("/api/rules", json=RULE).status_code == 401
    assert server.post("/api/alerts/evaluate").status_code == 401
    assert server.post("/api/silences", json={"matchers": {"rule": "x"}, "duration": "1h"}).status_code == 401
    auth = {"Authorization": "Bearer k1"}
    assert server.post("/api/rules", json=RULE, headers=auth).status_code == 201
    assert server.get("/api/rules").status_code == 200  # reads stay open


def test_the_rules_file_is_loaded_at_start_and_updates_rules_by_name(
    make_server_for: Any, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: orders-burst\n    filter: {type: order}\n    threshold: 3\n", encoding="utf-8")
    first = make_server_for(db_url, rules=str(path))
    rules = {r["name"]: r for r in first.get("/api/rules").json()["rules"]}
    assert rules["orders-burst"]["origin"] == "file" and rules["orders-burst"]["spec"]["threshold"] == 3
    assert {"queue_size", "failed_syncs", "success_rate"} <= set(rules)
    path.write_text("rules:\n  - name: orders-burst\n    filter: {type: order}\n    threshold: 9\n", encoding="utf-8")
    second = make_server_for(db_url, rules=str(path))
    again = {r["name"]: r for r in second.get("/api/rules").json()["rules"]}
    assert (
        again["orders-burst"]["spec"]["threshold"] == 9 and again["orders-burst"]["id"] == rules["orders-burst"]["id"]
    )
    assert len(again) == len(rules)  # updated, not added; the defaults are not installed twice


def test_a_bad_rules_file_stops_the_start_naming_the_rule_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: a\n    threshold: many\n", encoding="utf-8")
    settings = load_settings(
        {"db": f"sqlite:///{tmp_path / 'p.db'}", "data_dir": str(tmp_path), "rules": str(path)}, environ={}
    )
    with pytest.raises(SettingsError, match=r"rules\[0\]\.threshold"):
        create_app(settings)


def test_disabling_a_rule_ends_its_open_alerts(clocked: Any) -> None:
    server = clocked
    rule_id = server.post("/api/rules", json=RULE).json()["id"]
    orders(server, 4)
    evaluate(server)
    assert server.get("/api/alerts/active").json()["count"] == 1
    assert server.http.patch(f"{server.url}/api/rules/{rule_id}", json={"enabled": False}).status_code == 200
    assert server.get("/api/alerts/active").json()["count"] == 0
    assert server.get("/api/alerts/history").json()["alerts"][0]["state"] == "resolved"
    assert evaluate(server)["rules"] == 3  # the defaults only


def test_one_process_evaluates_at_a_time(server: Any) -> None:
    import threading

    from data.alerts import evaluation_lock

    with evaluation_lock(server.services.db) as mine:  # as another worker evaluating now
        assert mine
        # The scheduled cycle skips; a request to evaluate now waits for the other one.
        assert server.services.alerts.evaluate(wait=0.0)["skipped"] == "another process is evaluating"
        answer: list[Any] = []
        waiting = threading.Thread(target=lambda: answer.append(evaluate(server)))
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and not answer  # still waiting for the lock
    waiting.join(30)
    assert answer[0]["rules"] == 3
    assert evaluate(server)["rules"] == 3


FORECAST_RULE = {
    "name": "disk-filling",
    "kind": "forecast",
    "metric": "max",
    "filter": {"source": "pulseboard", "type": "disk_percent"},
    "bucket": "1h",
    "history": "3d",
    "horizon": "2d",
    "bound": "upper",
    "op": ">",
    "threshold": 90,
    "severity": "error",
}


def test_a_forecast_rule_round_trips_and_a_bad_horizon_is_a_400_naming_it(server: Any) -> None:
    r = server.post("/api/rules", json=FORECAST_RULE)
    assert r.status_code == 201, r.text
    created = r.json()
    spec = created["spec"]
    assert (spec["kind"], spec["horizon"], spec["bound"], spec["bucket"], spec["history"]) == (
        "forecast",
        "2d",
        "upper",
        "1h",
        "3d",
    )
    assert server.get(f"/api/rules/{created['id']}").json() == created
    r = server.put(f"/api/rules/{created['id']}", json=FORECAST_RULE | {"horizon": "36h", "bound": "value"})
    assert r.status_code == 200 and (r.json()["spec"]["horizon"], r.json()["spec"]["bound"]) == ("36h", "value")
    for bad, says in (
        ({"horizon": "30m"}, "longer than the bucket"),
        ({"horizon": "5d"}, "at most the history"),
        ({"horizon": "later"}, "expected a duration"),
        ({"horizon": None}, "needs a horizon"),
    ):
        for r in (
            server.post("/api/rules", json=FORECAST_RULE | {"name": "other"} | bad),
            server.put(f"/api/rules/{created['id']}", json=FORECAST_RULE | bad),
        ):
            assert r.status_code == 400, r.text
            assert r.json()["errors"][0]["field"] == "horizon" and says in r.json()["errors"][0]["message"]
            assert "'horizon'" in r.json()["error"]
    assert server.get(f"/api/rules/{created['id']}").json()["spec"]["horizon"] == "36h"  # nothing replaced
    openapi = server.get("/api/openapi.json").json()
    for method, path in (("post", "/api/rules"), ("put", "/api/rules/{rule_id}")):
        fields = openapi["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["properties"]
        assert "forecast" in fields["kind"]["enum"] and "ahead" in fields["horizon"]["description"]
        assert ["value", "upper", "lower"] in [option.get("enum") for option in fields["bound"]["anyOf"]]


def test_a_forecast_rule_fires_before_the_gauge_crosses_and_notifies(clocked: Any) -> None:
    server = clocked
    server.clock.now = now = server.clock.now.replace(minute=30, second=0)  # ten minutes on stay in the same hour
    gauge = [
        {
            "source": "pulseboard",
            "type": "disk_percent",
            "ts": (now - timedelta(hours=h, minutes=10)).isoformat(),
            "value": 80.0 - h / 8 + (0.15 if h % 2 else -0.1),
        }
        for h in range(72)
    ]  # from 71 % three days ago to 80 % now: 90 % is about 80 hours away
    assert server.post("/api/events", json=gauge).status_code == 201
    rule_id = server.post("/api/rules", json=FORECAST_RULE | {"horizon": "3d"}).json()["id"]
    summary = evaluate(server)
    assert summary["errors"] == [] and summary["firing"] == 1
    (alert,) = server.get("/api/alerts/active").json()["alerts"]
    assert (alert["rule_id"], alert["state"], alert["severity"]) == (rule_id, "firing", "error")
    assert alert["value"] > 90 and max(e["value"] for e in gauge) < 90
    assert alert["summary"].startswith("disk-filling: forecast upper 95 % bound reaches ")
    assert " > 90 in about " in alert["summary"] and "(model " in alert["summary"]
    detail = server.get(f"/api/alerts/{alert['id']}").json()
    assert [(n["kind"], n["target"], n["ok"]) for n in detail["notifications"]] == [
        ("firing", "live", True),
        ("firing", "log", True),
    ]
    toast = server.get("/api/events", params={"type": "alert"}).json()["events"][0]
    assert toast["attrs"]["link"] == (
        "/explore?window=7d&overlays=forecast&bucket=1h&metric=max&source=pulseboard&type=disk_percent"
    )
    server.clock.now += 10 * MIN
    assert evaluate(server)["transitions"] == []  # the same bucket: the same verdict, no new notification
