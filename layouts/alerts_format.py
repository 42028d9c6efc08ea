"""How the Alerts pages show times, durations, values, labels and a rule's
condition as text (no components here, so each is a doctested string)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from layouts import format


def when(iso: str | None) -> str:
    """An ISO timestamp as shown on the page (UTC, to the second).

    >>> when("2026-01-02T03:04:05.678+00:00"), when(None)
    ('2026-01-02 03:04:05', '–')
    """
    return format.timestamp(iso)


def ago(iso: str | None, now: datetime) -> str:
    """How long ago, roughly.

    >>> from datetime import timezone
    >>> ago("2026-01-01T00:00:00+00:00", datetime(2026, 1, 1, 2, 5, tzinfo=timezone.utc))
    '2 h 5 min ago'
    """
    if not iso:
        return ""
    seconds = max(0, int((now - datetime.fromisoformat(iso)).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"{seconds // 86400} d ago"


def value_text(value: Any) -> str:
    """A metric value (a number as alerts format it; anything else as text).

    >>> value_text(5.0), value_text(0.123456), value_text(60096.8), value_text(None)
    ('5', '0.1235', '60,097', '–')
    """
    return format.value(value)


def span_text(seconds: float) -> str:
    """A length of time in hours, minutes and seconds, as short as it stays exact.

    >>> span_text(288), span_text(60), span_text(7200), span_text(45)
    ('4 min 48 s', '1 min', '2 h', '45 s')
    """
    s = int(round(seconds))
    if s % 3600 == 0:
        return f"{s // 3600} h"
    if s >= 60:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s} s"


def labels_text(labels: dict[str, Any] | None) -> str:
    """Labels as ``key=value`` pairs (as the silence form takes them back).

    >>> labels_text({"entity": "scanner-3", "source": "north"}), labels_text(None)
    ('entity=scanner-3, source=north', '')
    """
    return ", ".join(f"{k}={v}" for k, v in (labels or {}).items())


def describe(spec: dict[str, Any]) -> str:
    """A rule's condition in one line.

    >>> describe({"kind": "threshold", "metric": "count", "filter": {"type": ["error"]}, "window": "1m", "op": ">", "threshold": 3.0,
    ...           "group_by": ["source"], "for": "0s"})
    'count of type=error over 1m > 3, per source'
    >>> describe({"kind": "absence", "filter": {"source": ["cron"]}, "window": "1h", "for": "5m"})
    'no events of source=cron in 1h, for 5m'
    """
    kind = spec.get("kind", "threshold")
    filt = spec.get("filter") or {}
    parts = [f"{k}={','.join(map(str, v))}" for k, v in filt.items() if k != "attrs" and v]
    parts += [f"{k}={v}" for k, v in (filt.get("attrs") or {}).items()]
    what = " ".join(parts) or "all events"
    of = f" of {what}" if parts else ""
    metric = spec.get("metric", "count")
    if spec.get("field") == "duration_ms" and metric not in (
        "count",
        "rate",
        "success_rate",
        "failures",
        "unique_users",
    ):
        metric += " duration_ms"
    if kind == "absence":
        text = f"no events{of} in {spec.get('window', '5m')}"
    elif kind == "anomaly":
        text = f"{metric} of {what} is anomalous ({spec.get('bucket', '5m')} buckets over {spec.get('history', '7d')})"
    elif kind == "duration":
        text = f"a run of {what} outside its learned duration band"
    else:
        text = f"{metric} of {what} over {spec.get('window', '5m')} {spec.get('op', '>')} {float(spec.get('threshold', 0)):g}"
    if spec.get("group_by"):
        text += ", per " + "+".join(spec["group_by"])
    if spec.get("for") not in (None, "", "0", "0s"):
        text += f", for {spec['for']}"
    return text
