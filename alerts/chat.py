"""What chat and SMS targets receive for one notice: a Slack-compatible
message (``text`` + ``blocks``), a Microsoft Teams message (an Adaptive Card
in an ``attachments`` envelope), and an SMS gateway request filled from the
``sms_body`` template. Pure functions: alerts.notify sends them.

>>> from datetime import datetime, timezone
>>> from alerts.notify import Notice
>>> n = Notice(7, "firing", "disk", "error", "fp", {"host": "a"}, 93.5, "disk: max is 93.5, > 90", "/explore?x=1",
...            datetime(2026, 12, 6, tzinfo=timezone.utc), ())
>>> slack_payload(n, "https://pulse.example")["text"]
'[FIRING] disk: disk: max is 93.5, &gt; 90 https://pulse.example/alerts?alert=7'
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from alerts.rules import format_value

if TYPE_CHECKING:
    from alerts.notify import Notice

SMS_MAX = 480  # characters of the message: three SMS parts at most


def _abs(base: str, link: str) -> str:
    return base + link if base and link.startswith("/") else link


def alert_link(notice: Notice, base: str = "") -> str:
    """The alert's page in Pulseboard (absolute under ``base``, the public URL)."""
    return _abs(base, f"/alerts?alert={notice.alert_id}")


def events_link(notice: Notice, base: str = "") -> str:
    """The events behind the alert: its Explore view (or the run judged)."""
    return _abs(base, notice.link)


def title(notice: Notice) -> str:
    return f"[{notice.state.upper()}] {notice.rule}"


def _facts(notice: Notice) -> list[tuple[str, str]]:
    facts = [("State", notice.state), ("Severity", notice.severity), ("Value", format_value(notice.value))]
    if notice.labels:
        facts.append(("Labels", ", ".join(f"{k}={v}" for k, v in notice.labels.items())))
    return facts


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notice: Notice, base: str = "") -> dict[str, Any]:
    """A Slack incoming-webhook message (also what Mattermost and Rocket.Chat take)."""
    alert, events = alert_link(notice, base), events_link(notice, base)
    links = (
        f"<{alert}|Alert>  ·  <{events}|Events>" if alert.startswith("http") else f"Alert: {alert}  ·  Events: {events}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(notice)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(notice.summary)[:3000]}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)[:1900]}"} for k, v in _facts(notice)],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": links}]},
    ]
    return {"text": _slack_escape(f"{title(notice)}: {notice.summary}") + f" {alert}", "blocks": blocks}


def teams_payload(notice: Notice, base: str = "") -> dict[str, Any]:
    """A Microsoft Teams message: an Adaptive Card in the ``attachments``
    envelope that Teams workflows (and the older connectors) accept."""
    colour = "Good" if notice.state == "resolved" else ("Attention" if notice.severity == "error" else "Warning")
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "size": "Large", "weight": "Bolder", "color": colour, "text": title(notice)},
            {"type": "TextBlock", "wrap": True, "text": notice.summary},
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(notice)]},
        ],
    }
    alert, events = alert_link(notice, base), events_link(notice, base)
    if alert.startswith("http"):
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Alert", "url": alert},
            {"type": "Action.OpenUrl", "title": "Events", "url": events},
        ]
    else:  # Teams opens absolute URLs only (set --public-url): the paths as text
        card["body"].append({"type": "TextBlock", "wrap": True, "text": f"Alert: {alert} · Events: {events}"})
    return {
        "type": "message",
        "summary": f"{title(notice)}: {notice.summary}"[:200],
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def sms_text(notice: Notice, base: str = "") -> str:
    """The SMS: state, rule, summary and the alert's link, at most SMS_MAX characters."""
    link = alert_link(notice, base)
    head = f"{title(notice)}: {notice.summary}"
    room = SMS_MAX - len(link) - 1
    if len(head) > room:
        head = head[: max(room - 1, 0)] + "…"
    return f"{head} {link}"


def _fill(template: str, values: dict[str, str], encode: Any) -> str:
    """``template`` with ``{message}``, ``{to}``, ``{rule}``, ``{state}`` replaced (other braces kept)."""
    return re.sub(r"\{(message|to|rule|state)\}", lambda m: encode(values[m.group(1)]), template)


def sms_request(
    notice: Notice, *, url: str, method: str, body: str, number: str, base: str = ""
) -> tuple[str, str, bytes | None, str | None]:
    """The gateway request for one SMS: ``(url, method, body, content type)``.

    GET: the filled template is the query string (values URL-encoded). POST:
    a template that is JSON once filled (values JSON-escaped) is sent as
    JSON; one of ``key=value`` pairs as a form; anything else as plain text.
    Placeholders in the URL are filled URL-encoded.

    >>> from datetime import datetime, timezone
    >>> from alerts.notify import Notice
    >>> n = Notice(3, "firing", "queue", "error", "fp", {}, 60.0, 'queue is "60"', "/explore", datetime.now(timezone.utc), ())
    >>> sms_request(n, url="http://gw/send", method="POST", body='{"to": "{to}", "text": "{message}"}', number="+4912")[2]
    b'{"to": "+4912", "text": "[FIRING] queue: queue is \\\\"60\\\\" /alerts?alert=3"}'
    >>> sms_request(n, url="http://gw/send?key=k", method="GET", body="to={to}&msg={message}", number="+4912")[0]
    'http://gw/send?key=k&to=%2B4912&msg=%5BFIRING%5D+queue%3A+queue+is+%2260%22+%2Falerts%3Falert%3D3'
    """
    values = {"message": sms_text(notice, base), "to": number, "rule": notice.rule, "state": notice.state}
    target = _fill(url, values, quote_plus)
    if method == "GET":
        query = _fill(body, values, quote_plus)
        if query:
            target += ("&" if "?" in target else "?") + query
        return target, "GET", None, None
    as_json = _fill(body, values, lambda v: json.dumps(v, ensure_ascii=False)[1:-1])
    try:
        parsed = json.loads(as_json)
    except ValueError:
        parsed = None
    if isinstance(parsed, (dict, list)):
        return target, "POST", as_json.encode(), "application/json"
    if re.fullmatch(r"[^=&\s]+=[^&\s]*(&[^=&\s]+=[^&\s]*)*", body.strip()):
        return target, "POST", _fill(body.strip(), values, quote_plus).encode(), "application/x-www-form-urlencoded"
    return target, "POST", _fill(body, values, str).encode(), "text/plain; charset=utf-8"
