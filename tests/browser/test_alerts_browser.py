"""The Alerts page in a real browser: a rule made in the form fires on a
burst of events, the toast on an open dashboard links to the alert, which is
acknowledged (and stays so after a reload); a rule switched off stays off; a
silence is added and deleted; history filters and backtests live in the URL."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from data import alerts as store
from data.db import Database

pytestmark = pytest.mark.browser


def wait_live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_text("live")
    page.wait_for_function("() => window.pulseboardLive && window.pulseboardLive.ready")


def rule_by_name(server: Any, name: str) -> dict[str, Any]:
    rules = server.get("/api/rules").json()["rules"]
    return next(r for r in rules if r["name"] == name)  # type: ignore[no-any-return]


def test_a_rule_made_on_the_page_fires_a_toast_and_is_acknowledged(page: Page, sqlite_server: Any) -> None:
    server = sqlite_server
    page.goto(server.url + "/alerts?tab=rules")
    expect(page.locator("#al-rules")).to_contain_text("failed_syncs")  # the device-monitor defaults

    page.locator("#al-f-name").fill("errors burst")
    page.locator("#al-f-type").fill("error")
    page.locator("#al-f-window").fill("1m")
    page.locator("#al-f-threshold").fill("many")
    page.select_option("#al-f-severity", "error")
    page.locator("#al-save").click()
    expect(page.locator("#al-form-message")).to_contain_text("Check the field 'threshold': write a number")
    expect(page.locator("#al-f-threshold")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#al-f-threshold-error")).to_have_text("write a number, like 3 or 2.5")

    # Every bad field at once, each with its message under it.
    page.locator("#al-f-window").fill("a minute")
    page.locator("#al-f-repeat-interval").fill("0s")
    page.locator("#al-save").click()
    expect(page.locator("#al-form-message")).to_contain_text("3 fields need a fix")
    for control in ("window", "threshold", "repeat-interval"):
        expect(page.locator(f"#al-f-{control}")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#al-f-window-error")).to_contain_text(
        "'a minute' is not a duration; write e.g. 90 (seconds), 30s, 5m, 10min"
    )
    expect(page.locator("#al-f-repeat-interval-error")).to_have_text("must be longer than 0, e.g. 30min, 4h or 1d")
    expect(page.locator("#al-f-name")).not_to_have_class(re.compile(r"\bis-invalid\b"))
    page.locator("#al-f-window").fill("1m")
    page.locator("#al-f-repeat-interval").fill("4h")
    assert all(r["name"] != "errors burst" for r in server.get("/api/rules").json()["rules"])

    page.locator("#al-f-threshold").fill("3")
    page.locator("#al-save").click()
    expect(page.locator("#al-form-message")).to_contain_text(
        "Rule 'errors burst' created: count of type=error over 1m > 3"
    )
    expect(page.locator("#al-f-threshold")).not_to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#al-form-title")).to_have_text("Edit rule 'errors burst'")
    expect(page.locator("#al-rules")).to_contain_text("errors burst")
    rule = rule_by_name(server, "errors burst")
    assert (
        rule["spec"]["filter"] == {"type": ["error"]}
        and rule["spec"]["threshold"] == 3.0
        and rule["spec"]["severity"] == "error"
    )

    # An open dashboard raises the toast when the burst fires the rule.
    page.goto(server.url + "/")
    wait_live(page)
    server.post(
        "/api/events", json=[{"type": "error", "source": "web", "message": f"boom {i}"} for i in range(5)]
    ).raise_for_status()
    summary = server.post("/api/alerts/evaluate").json()
    fired = [t for t in summary["transitions"] if t["rule"] == "errors burst"]
    assert [(t["from"], t["to"], t["value"]) for t in fired] == [("normal", "firing", 5.0)]
    alert_id = fired[0]["alert_id"]
    toast = page.locator("#toasts .pb-toast")
    expect(toast).to_have_count(1)
    expect(toast).to_contain_text("errors burst · error")
    expect(toast).to_contain_text("count is 5 (> 3 over 1m)")
    title = toast.locator("a.pb-toast-title")
    expect(title).to_have_attribute("href", f"/alerts?alert={alert_id}")
    expect(toast.locator("a.pb-toast-events")).to_have_attribute("href", re.compile(r"^/explore\?.*type=error"))

    # The toast leads to the alert; acknowledging it sticks.
    title.click()
    expect(page).to_have_url(server.url + f"/alerts?alert={alert_id}")
    expect(page.locator("#al-alert-detail")).to_contain_text(f"Alert #{alert_id}")
    expect(page.locator("#al-alert-detail")).to_contain_text("live")
    expect(page.locator("#al-counts")).to_contain_text("1 firing")
    card = page.locator(f"#alert-{alert_id}")
    expect(card).to_contain_text("errors burst")
    expect(card).to_contain_text("count is 5 (> 3 over 1m)")
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#al-message")).to_contain_text(f"Alert #{alert_id} (errors burst) acknowledged")
    expect(card).to_contain_text("acknowledged")
    expect(card.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert server.get(f"/api/alerts/{alert_id}").json()["acknowledged"] is True
    page.reload()
    expect(page.locator(f"#alert-{alert_id}")).to_contain_text(re.compile(r"acknowledged (by \S+ )?at 20\d\d-"))
    expect(page.locator(f"#alert-{alert_id}")).to_have_class(re.compile(r"\bpb-alert-acknowledged\b"))
    page.locator(f"#alert-{alert_id}").get_by_role("link", name="silence…").click()
    expect(page.locator("#al-tabs .nav-link.active")).to_have_text("Silences")
    expect(page.locator("#al-s-rule")).to_have_value("errors burst")

    # Evaluate now from the page; the history tab's filters go into the URL.
    page.locator("#al-evaluate").click()
    expect(page.locator("#al-message")).to_contain_text("Evaluated 4 rules")
    page.locator("#al-tabs").get_by_text("History").click()
    page.select_option("#al-h-state", "firing")
    page.select_option("#al-h-rule", str(rule["id"]))
    expect(page).to_have_url(re.compile(rf"tab=history&rule={rule['id']}&state=firing$"))
    rows = page.locator("#al-history .ag-center-cols-container .ag-row")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("yes")
    with page.expect_download() as info:
        page.locator("#al-history-csv").click()
    with open(info.value.path(), encoding="utf-8") as fh:
        exported = fh.read()
    assert "errors burst" in exported and "firing" in exported and "yes" in exported
    page.select_option("#al-h-state", "resolved")
    expect(rows).to_have_count(0)
    expect(page.locator("#al-history-note")).to_contain_text("No alerts match")
    expect(page).to_have_url(re.compile(r"state=resolved$"))
    page.reload()
    expect(page.locator("#al-h-state")).to_have_value("resolved")
    expect(page.locator("#al-h-rule")).to_have_value(str(rule["id"]))


def test_a_rule_switched_off_stays_off_and_silences_are_added_and_deleted(page: Page, sqlite_server: Any) -> None:
    server = sqlite_server
    made = server.post(
        "/api/rules", json={"name": "scan errors", "filter": {"type": "error"}, "window": "1m", "threshold": 3}
    )
    rule_id = made.json()["id"]
    page.goto(server.url + "/alerts?tab=rules")
    switch = page.locator(f"#rule-row-{rule_id} input[type=checkbox]")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.locator("#al-message")).to_contain_text("Rule 'scan errors' disabled")
    assert server.get(f"/api/rules/{rule_id}").json()["enabled"] is False
    page.reload()
    expect(page.locator(f"#rule-row-{rule_id} input[type=checkbox]")).not_to_be_checked()
    expect(page.locator(f"#rule-row-{rule_id} input[type=checkbox]")).to_be_visible()
    assert server.get(f"/api/rules/{rule_id}").json()["enabled"] is False

    page.goto(server.url + "/alerts?tab=silences")
    expect(page.locator("#al-silences")).to_contain_text("No silences")
    page.locator("#al-s-add").click()
    expect(page.locator("#al-s-message")).to_contain_text("Choose a rule or give labels")
    page.select_option("#al-s-rule", "scan errors")
    page.locator("#al-s-labels").fill("source=north")
    page.locator("#al-s-duration").fill("2h")
    page.locator("#al-s-comment").fill("scanner maintenance")
    page.locator("#al-s-add").click()
    expect(page.locator("#al-s-message")).to_contain_text("Silence added")
    row = page.locator("#al-silences tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("rule=scan errors")
    expect(row).to_contain_text("source=north")
    expect(row).to_contain_text("in force")
    silences = server.get("/api/silences").json()["silences"]
    assert [(s["matchers"], s["comment"], s["active"]) for s in silences] == [
        ({"rule": "scan errors", "source": "north"}, "scanner maintenance", True)
    ]
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#al-silences")).to_contain_text("No silences")
    assert server.get("/api/silences").json()["silences"] == []

    # Edit keeps the switch as it is; delete asks first.
    page.locator("#al-tabs").get_by_text("Rules").click()
    page.locator(f"#rule-row-{rule_id}").get_by_role("button", name="Edit").click()
    expect(page.locator("#al-form-title")).to_have_text("Edit rule 'scan errors'")
    expect(page.locator("#al-f-threshold")).to_have_value("3")
    expect(page.locator("#al-f-type")).to_have_value("error")
    page.locator("#al-f-threshold").fill("5")
    page.locator("#al-save").click()
    expect(page.locator("#al-form-message")).to_contain_text(
        "Rule 'scan errors' updated: count of type=error over 1m > 5"
    )
    saved = server.get(f"/api/rules/{rule_id}").json()
    assert saved["spec"]["threshold"] == 5.0 and saved["enabled"] is False
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete rule").click()
    expect(page.locator("#al-form-message")).to_contain_text("Rule 'scan errors' deleted")
    expect(page.locator(f"#rule-row-{rule_id}")).to_have_count(0)
    expect(page.locator("#al-form-title")).to_have_text("New rule")
    assert server.get(f"/api/rules/{rule_id}").status_code == 404


def test_a_backtest_counts_the_notifications_a_rule_would_have_sent(page: Page, sqlite_server: Any) -> None:
    server = sqlite_server
    server.post("/api/events", json=[{"type": "error", "source": "web"} for _ in range(5)]).raise_for_status()
    rule_id = server.post(
        "/api/rules", json={"name": "bt errors", "filter": {"type": "error"}, "window": "1h", "threshold": 3}
    ).json()["id"]
    page.goto(server.url + f"/alerts?tab=backtest&backtest={rule_id}&range=1h")
    result = page.locator("#al-bt-result")
    expect(result).to_contain_text("Rule 'bt errors'")
    expect(result).to_contain_text("would have fired 1 time,")
    expect(result).to_contain_text("sent 1 notification ")
    chart = result.locator(".js-plotly-plot")
    expect(chart).to_have_count(1)
    # The metric over time against the dashed threshold, the firing span shaded behind it.
    expect(chart.locator(".legendtext")).to_have_text(["count", "threshold > 3", "would fire"])
    expect(chart.locator(".ytitle")).to_have_text("count over 1h")
    expect(chart.locator(".scatterlayer .trace").first.locator("path.js-line")).to_have_count(1)
    expect(chart.locator(".annotation-text")).to_have_text("threshold > 3")
    expect(chart.locator(".shapelayer path")).to_have_count(2)  # the threshold line and one firing span

    # The form's (unsaved) rule, with a threshold it never crosses.
    page.locator("#al-tabs").get_by_text("Rules").click()
    page.locator("#al-f-name").fill("never")
    page.locator("#al-f-type").fill("error")
    page.locator("#al-f-threshold").fill("100")
    page.locator("#al-form-backtest").click()
    expect(page.locator("#al-tabs .nav-link.active")).to_have_text("Backtest")
    expect(result).to_contain_text("The form's rule 'never'")
    expect(result).to_contain_text("would have fired 0 times")
    expect(result).to_contain_text("would not have left the normal state")


def test_an_alert_toast_shows_hostile_text_as_text_and_links_only_within_the_site(
    page: Page, sqlite_server: Any
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(sqlite_server.url + "/")
    wait_live(page)
    hostile = "<img src=x onerror=alert(1)>"
    sqlite_server.post(
        "/api/events",
        json=[
            {
                "source": "pulseboard",
                "type": "alert",
                "entity": hostile,
                "status": "error",
                "message": hostile,
                "attrs": {"alert_id": "7", "link": "javascript:alert(2)"},
            },
            {
                "source": "pulseboard",
                "type": "alert",
                "entity": "offsite",
                "status": "resolved",
                "message": "resolved",
                "attrs": {"alert_id": "x", "link": "//evil.example/phish"},
            },
        ],
    ).raise_for_status()
    toasts = page.locator("#toasts .pb-toast")
    expect(toasts).to_have_count(2)
    resolved = page.locator("#toasts .pb-toast", has_text="offsite resolved")
    expect(resolved.locator("a")).to_have_count(0)  # neither a usable alert id nor a same-site link
    bad = page.locator("#toasts .pb-toast", has_text=hostile)
    expect(bad.locator("a.pb-toast-title")).to_have_attribute("href", "/alerts?alert=7")
    expect(bad.locator("a.pb-toast-events")).to_have_count(0)
    assert page.locator("#toasts img").count() == 0 and page.locator("a[href^='javascript:' i]").count() == 0
    bad.locator(".pb-toast-close").click()
    expect(toasts).to_have_count(1)
    assert dialogs == []


def test_the_history_with_an_absolute_range_lists_only_the_alerts_started_in_it(
    page: Page, sqlite_server: Any, sqlite_url: str
) -> None:
    day = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=3)
    started = {"inside early": day - timedelta(hours=2), "inside late": day + timedelta(hours=2)}
    started["outside"] = day - timedelta(days=1)
    db = Database(sqlite_url)
    try:
        with db.write() as conn:
            rule = store.insert_rule(conn, name="history range", enabled=False, origin="user", spec={}, now=day)
            for summary, at in started.items():
                values = {"rule_id": rule, "fingerprint": summary, "severity": "warning", "state": "firing"}
                store.insert_alert(conn, values | {"summary": summary, "started_at": at, "fired_at": at})
    finally:
        db.dispose()
    since, until = (day - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"), day.strftime("%Y-%m-%dT18:00:00Z")
    page.goto(sqlite_server.url + f"/alerts?tab=history&from={since}&to={until}")
    expect(page.locator("#al-tabs .nav-link.active")).to_have_text("History")
    expect(page.locator("#tb-from")).to_have_value((day - timedelta(hours=6)).strftime("%Y-%m-%d %H:%M"))
    rows = page.locator("#al-history .ag-center-cols-container .ag-row")
    expect(rows).to_have_count(2)
    expect(page.locator("#al-history")).to_contain_text("inside early")
    expect(page.locator("#al-history")).to_contain_text("inside late")
    expect(page.locator("#al-history")).not_to_contain_text("outside")
    expect(page.locator("#al-history-note")).to_contain_text("2 alerts")


def test_the_outbox_tab_shows_each_mail_s_state_attempts_and_last_error(page: Page, sqlite_server: Any) -> None:
    from data import outbox

    db = sqlite_server.services.db
    now = datetime.now(timezone.utc)
    with db.write() as conn:
        outbox.enqueue(
            conn, recipient="ops@example.com", subject="[FIRING] disk (1)", body_text="t", dedupe_key="a", now=now
        )
        (claimed,) = outbox.claim(conn, now=now)
        outbox.mark_failed(
            conn, claimed["id"], error="SMTP 550: no such user", now=now, max_attempts=8, base=30, cap=60, final=True
        )
    page.goto(sqlite_server.url + "/alerts?tab=outbox")
    grid = page.locator("#al-outbox")
    expect(grid).to_contain_text("ops@example.com")
    expect(grid).to_contain_text("[FIRING] disk (1)")
    expect(grid).to_contain_text("SMTP 550: no such user")
    expect(page.locator("#al-outbox-note")).to_have_text(
        "1 message: 1 failed. No SMTP server is set (--smtp-host): messages fail at once."
    )
