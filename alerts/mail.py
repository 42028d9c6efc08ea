"""Alert e-mail: notices grouped per rule and state, written into the outbox.

Like Alertmanager's ``group_wait``: the first notice of a rule in a state
(firing, resolved) opens a group and its mail is queued to go out
``group_wait`` seconds later (default 30); notices of the same rule and
state that come meanwhile join it, and the queued mail is rewritten while
no sender has claimed it. So a rule whose ten series fire together sends one
``[FIRING] rule (10)`` mail, and one ``[RESOLVED] rule (10)`` when they
resolve. The group lives in the outbox, so a restart does not lose it (a
notice after a restart opens a new group).

Each mail has a text and an HTML part with every alert's summary, value,
labels and links (the alert's page and its events in Explore, absolute
under ``public_url``), and a PNG chart of the metric over the time before
the notice, inline (``cid:``), when plotly can export images (kaleido and
Chromium); otherwise the mail says why there is no chart.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from alerts.chat import alert_link, events_link, title
from alerts.rules import Rule, format_value, parse_rule
from data import alerts as store
from data import boards, outbox

if TYPE_CHECKING:
    from alerts.notify import Notice

log = logging.getLogger("pulseboard.alerts")
CHART_CID = "chart"
CHART_WIDTH, CHART_HEIGHT = 720, 300
CHART_STEPS = 60  # evaluations of the rule that draw its chart
_EXPORT = threading.Lock()  # one image export (one headless browser) at a time


@dataclasses.dataclass
class Group:
    rule: str
    state: str
    recipients: tuple[str, ...]
    due: datetime
    notices: list[Notice]
    ids: dict[str, int]  # recipient -> outbox id
    chart: bytes | None
    chart_note: str | None


# ------------------------------------------------------------------- chart


def chart_png(services: Any, notices: list[Notice]) -> tuple[bytes | None, str | None]:
    """A PNG of the rule's metric for the notices' series over the time before
    them, with the threshold; ``(None, why not)`` when it cannot be made."""
    if not getattr(services.settings, "mail_charts", True):
        return None, "Charts in e-mail are turned off (PULSE_MAIL_CHARTS=0)."
    try:
        import kaleido  # noqa: F401  (plotly's image export)
        import plotly.graph_objects as go
        import plotly.io as pio
    except ImportError:
        return None, "No chart: plotly's image export (the kaleido package) is not installed on the server."
    engine = getattr(services, "alerts", None)
    try:
        rule = _rule(services, notices[0].rule)
        if rule is None or engine is None:
            return None, "No chart: the rule is gone." if engine else "No chart: no alert engine runs here."
        until = max(n.ts for n in notices)
        span = min(max(timedelta(hours=1), rule.window_delta * 12), timedelta(days=2))
        if rule.kind in ("anomaly", "forecast"):
            span = min(max(span, rule.bucket_delta * 24), rule.history_delta)
        step = max(timedelta(minutes=1), span / CHART_STEPS)
        since = until - step * CHART_STEPS
        result = engine.backtest(rule, since, until, step)
        series = result["series"][:8]  # the series that matched first
        if not series:
            return None, "No chart: the metric has no values over the last hours."
        times = [since + step * i for i in range(CHART_STEPS + 1)]
        counted = rule.metric in ("count", "rate", "sum", "failures")  # no events in a window: zero
        fig = go.Figure()
        for s in series:
            name = ", ".join(f"{k}={v}" for k, v in s["labels"].items() if k not in rule.labels) or rule.metric
            known = dict(zip(s["ts"], s["values"], strict=True))
            ys = [known.get(t.isoformat(), 0.0 if counted else None) for t in times]
            fig.add_scatter(x=times, y=ys, mode="lines", name=name, line={"width": 2})
        if rule.kind in ("threshold", "forecast"):
            fig.add_hline(y=rule.threshold, line_dash="dash", line_color="#d62728")
        fired = min(n.ts for n in notices)
        fig.add_vline(x=fired, line_color="#888", line_dash="dot")
        condition = (
            f" ({rule.op} {format_value(rule.threshold)} over {rule.window})" if rule.kind == "threshold" else ""
        )
        fig.update_layout(
            title=f"{rule.metric} of {rule.name}{condition}",
            width=CHART_WIDTH,
            height=CHART_HEIGHT,
            margin={"l": 50, "r": 20, "t": 40, "b": 40},
            template="plotly_white",
            showlegend=len(series) > 1,
        )
        fig.update_xaxes(range=[since, until])
        fig.update_yaxes(rangemode="tozero")
        with _EXPORT:
            return pio.to_image(fig, format="png", width=CHART_WIDTH, height=CHART_HEIGHT), None
    except Exception as exc:  # no Chromium, a rule that cannot be backtested...: the mail goes without
        log.warning("alert e-mail chart failed: %s", exc)
        return None, f"No chart: it could not be drawn ({type(exc).__name__}: {str(exc)[:200]})."


def _rule(services: Any, name: str) -> Rule | None:
    with services.db.read() as conn:
        row = store.get_rule_by_name(conn, name)
    return parse_rule(row["spec"]) if row else None


# ---------------------------------------------------------------- content


def alerts_board(services: Any) -> tuple[str, str] | None:
    """The board that shows the open alerts (the first, by title, with an
    ``alerts`` panel): its title and path, for the mail's link; None without one."""
    with services.db.read() as conn:
        for found in boards.list_boards(conn):
            if any(p.kind == "alerts" for p in found.board.panels):
                return found.title, f"/boards/{quote(found.uid)}"
    return None


def compose(
    notices: list[Notice],
    *,
    base: str,
    chart: bool,
    chart_note: str | None,
    board: tuple[str, str] | None = None,
) -> tuple[str, str, str]:
    """``(subject, text, html)`` of the mail for a group of notices; ``board``
    (title, path) is linked as where the alerts are shown.

    >>> from datetime import datetime, timezone
    >>> from alerts.notify import Notice
    >>> n = Notice(4, "firing", "queue", "error", "fp", {"site": "n"}, 61.0, "queue: latest is 61, > 50",
    ...            "/explore?type=queue", datetime(2026, 12, 6, 21, tzinfo=timezone.utc), ())
    >>> subject, text, _html = compose([n], base="https://pulse.example", chart=False, chart_note=None)
    >>> subject
    '[FIRING] queue (1)'
    >>> print(text.splitlines()[4])
    - queue: latest is 61, > 50
    """
    first = notices[0]
    subject = f"{title(first)} ({len(notices)})"
    word = "alert" if len(notices) == 1 else "alerts"
    lead = f"{len(notices)} {word} of rule {first.rule} {'resolved' if first.state == 'resolved' else 'firing'}"
    lines = [subject, "", f"{lead} (severity {first.severity}).", ""]
    for n in notices:
        lines.append(f"- {n.summary}")
        lines.append(f"  value: {format_value(n.value)}    at: {n.ts:%Y-%m-%d %H:%M:%S} UTC")
        if n.labels:
            lines.append("  labels: " + ", ".join(f"{k}={v}" for k, v in n.labels.items()))
        lines.append(f"  alert: {alert_link(n, base)}")
        lines.append(f"  events: {events_link(n, base)}")
        lines.append("")
    if chart_note:
        lines.append(chart_note)
    elif chart:
        lines.append("The chart of the metric is in the HTML version of this mail.")
    if board is not None:
        lines.append(f"Board {board[0]}: {base}{board[1]}")
    lines += ["", "-- ", "Pulseboard"]
    colour = "#2e7d32" if first.state == "resolved" else ("#c62828" if first.severity == "error" else "#ef6c00")
    e = html.escape
    rows = []
    for n in notices:
        labels = ", ".join(f"{k}={v}" for k, v in n.labels.items()) or "—"
        rows.append(
            "<tr>"
            f"<td style='padding:6px;border-bottom:1px solid #ddd'>{e(n.summary)}</td>"
            f"<td style='padding:6px;border-bottom:1px solid #ddd;text-align:right'>{e(format_value(n.value))}</td>"
            f"<td style='padding:6px;border-bottom:1px solid #ddd'>{e(labels)}</td>"
            f"<td style='padding:6px;border-bottom:1px solid #ddd'><a href='{e(alert_link(n, base))}'>alert</a> · "
            f"<a href='{e(events_link(n, base))}'>events</a></td>"
            "</tr>"
        )
    figure = (
        f"<p><img src='cid:{CHART_CID}' alt='chart of the metric' width='{CHART_WIDTH}' height='{CHART_HEIGHT}'></p>"
        if chart
        else f"<p style='color:#666'>{e(chart_note or '')}</p>"
    )
    body = (
        "<!doctype html><html><body style='font-family:sans-serif;font-size:14px'>"
        f"<h2 style='color:{colour};margin:0 0 8px'>{e(subject)}</h2>"
        f"<p>{e(lead)} (severity {e(first.severity)}).</p>"
        "<table style='border-collapse:collapse'>"
        "<tr><th align='left'>summary</th><th align='right'>value</th><th align='left'>labels</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
        + figure
        + (f"<p>Board: <a href='{e(base + board[1])}'>{e(board[0])}</a></p>" if board is not None else "")
        + "<p style='color:#888;font-size:12px'>Pulseboard</p></body></html>"
    )
    return subject, "\n".join(lines), body


# ----------------------------------------------------------------- groups


class _Claimed(Exception):
    """A group's mail was claimed by a sender before the group could grow."""


class MailGroups:
    """Open groups of this process, keyed by rule, state and recipients."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.groups: dict[tuple[str, str, tuple[str, ...]], Group] = {}
        self._lock = threading.Lock()

    def add(self, notice: Notice, recipients: tuple[str, ...], wait: float) -> dict[str, int]:
        """Put ``notice`` into its group's mail (one per recipient); the outbox ids."""
        key = (notice.rule, notice.state, recipients)
        with self._lock:
            joined = self._join(key, notice)
        if joined is not None:
            self._wake()
            return joined
        chart, note = chart_png(self.services, [notice])  # slow (a headless browser): outside the lock
        with self._lock:
            joined = self._join(key, notice)  # another worker may have opened the group meanwhile
            if joined is not None:
                return joined
            now = self.services.now()
            group = Group(
                notice.rule, notice.state, recipients, now + timedelta(seconds=wait), [notice], {}, chart, note
            )
            subject, text, body, attachments = self._content(group)
            with self.services.db.write() as conn:
                for to in recipients:
                    key_of = f"alert:{notice.alert_id}:{notice.kind}:{notice.ts:%Y%m%dT%H%M%S}:{to}"
                    message_id = outbox.enqueue(
                        conn,
                        recipient=to,
                        subject=subject,
                        body_text=text,
                        body_html=body,
                        attachments=attachments,
                        dedupe_key=key_of,
                        now=now,
                        due=group.due,
                    )
                    if message_id is not None:
                        group.ids[to] = message_id
            self.groups[key] = group
            self._prune(now)
        self._wake()
        return dict(group.ids)

    def _join(self, key: tuple[str, str, tuple[str, ...]], notice: Notice) -> dict[str, int] | None:
        group = self.groups.get(key)
        if group is None or self.services.now() >= group.due or not group.ids:
            return None
        if any(n.alert_id == notice.alert_id and n.kind == notice.kind and n.ts == notice.ts for n in group.notices):
            return dict(group.ids)  # the same notice again
        group.notices.append(notice)
        subject, text, body, attachments = self._content(group)
        try:
            with self.services.db.write() as conn:
                for message_id in group.ids.values():
                    if not outbox.rewrite_pending(
                        conn, message_id, subject=subject, body_text=text, body_html=body, attachments=attachments
                    ):
                        raise _Claimed  # rolls back the others too
        except _Claimed:  # a sender took it already: this notice opens a new group
            group.notices.pop()
            del self.groups[key]
            return None
        return dict(group.ids)

    def _content(self, group: Group) -> tuple[str, str, str, list[dict[str, Any]]]:
        base = getattr(self.services.settings, "public_url", "")
        subject, text, body = compose(
            group.notices,
            base=base,
            chart=group.chart is not None,
            chart_note=group.chart_note,
            board=alerts_board(self.services),
        )
        attachments = []
        if group.chart is not None:
            data = base64.b64encode(group.chart).decode()
            attachments.append({"filename": "chart.png", "mime": "image/png", "content_id": CHART_CID, "data": data})
        return subject, text, body, attachments

    def _prune(self, now: datetime) -> None:
        for key in [k for k, g in self.groups.items() if g.due <= now]:
            del self.groups[key]

    def _wake(self) -> None:
        mailer = getattr(self.services, "mailer", None)
        if mailer is not None:
            mailer.wake()
