"""How the Alerts pages show times, durations, values, labels and a rule's
condition as text (no components here, so each is a doctested string)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.forecast_rules import describe_bound
from alerts.rules import OPS, duration
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
    >>> describe({"kind": "forecast", "metric": "max", "filter": {"type": ["disk_percent"]}, "bucket": "1h", "history": "7d",
    ...           "horizon": "3d", "bound": "upper", "op": ">", "threshold": 90.0})
    'forecast upper 95 % bound of max of type=disk_percent > 90 within 3d (1h buckets over 7d)'
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
    elif kind == "forecast":
        text = (
            f"{describe_bound(spec)} of {metric} of {what} {spec.get('op', '>')} {float(spec.get('threshold', 0)):g} "
            f"within {spec.get('horizon')} ({spec.get('bucket', '5m')} buckets over {spec.get('history', '7d')})"
        )
    else:
        text = f"{metric} of {what} over {spec.get('window', '5m')} {spec.get('op', '>')} {float(spec.get('threshold', 0)):g}"
    if spec.get("group_by"):
        text += ", per " + "+".join(spec["group_by"])
    if spec.get("for") not in (None, "", "0", "0s"):
        text += f", for {spec['for']}"
    return text


def at_time(iso: str | None) -> str:
    """A timestamp as a time of day (UTC), for "until 12:40".

    >>> at_time("2026-01-02T12:40:05+00:00"), at_time(None)
    ('12:40:05', '–')
    """
    return iso[11:19] if iso else "–"


def spec_span(text: Any) -> str:
    """A rule's duration field as the page says it: ``10m`` -> ``10 min``.

    >>> spec_span("10m"), spec_span("90"), spec_span("2h"), spec_span(None)
    ('10 min', '1 min 30 s', '2 h', '0 s')
    """
    try:
        seconds = duration(text if text is not None else "0", allow_zero=True).total_seconds()
    except ValueError:
        return str(text)
    return span_text(seconds) if seconds else "0 s"


def condition_text(spec: dict[str, Any] | None, alert: dict[str, Any], holds: bool) -> str:
    """An alert's current value against its rule's condition, as true for its
    state: ``holds`` says whether the condition held at the last evaluation
    (a firing alert whose condition cleared keeps firing a while).

    >>> spec = {"metric": "failures", "window": "10m", "op": ">", "threshold": 3.0}
    >>> condition_text(spec, {"value": 5.0, "state": "firing"}, True)
    'failures is 5 (> 3 over 10m)'
    >>> condition_text(spec, {"value": 3.0, "state": "firing"}, False)
    'failures is 3, no longer > 3 over 10m'
    >>> condition_text(spec, {"value": 5.0, "state": "firing"}, False)
    'failures is 0 (no matching events in the last 10m; it was 5), no longer > 3 over 10m'
    >>> condition_text({"kind": "absence", "window": "5m"}, {"value": 0.0}, True)
    'no matching events in the last 5m'
    """
    if not spec:
        return str(alert.get("summary") or "")
    kind = spec.get("kind", "threshold")
    window = spec.get("window", "5m")
    value = value_text(alert.get("value"))
    if kind == "absence":
        if holds:
            return f"no matching events in the last {window}"
        return f"events arrive again ({value} in the last {window})"
    if kind in ("anomaly", "duration", "forecast"):
        stored = str(alert.get("summary") or "")
        detail = stored.split(": ", 1)[1] if ": " in stored else stored
        return detail if holds else f"no longer flagged (value {value})"
    metric = spec.get("metric", "count")
    op, threshold = spec.get("op", ">"), float(spec.get("threshold", 0))
    condition = f"{op} {value_text(threshold)} over {window}"
    if holds:
        return f"{metric} is {value} ({condition})"
    number = alert.get("value")
    if isinstance(number, (int, float)) and OPS[op](float(number), threshold):
        # The value kept is the last one seen: the group had no matching events at the last evaluation.
        if metric in ("count", "rate", "failures", "sum"):
            return f"{metric} is 0 (no matching events in the last {window}; it was {value}), no longer {condition}"
        return f"{metric} has no value (no matching events in the last {window}; it was {value}), no longer {condition}"
    return f"{metric} is {value}, no longer {condition}"
