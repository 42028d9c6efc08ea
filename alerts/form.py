"""The Alerts page's forms as data: the rule form's field values to a rule
spec (as ``alerts.manage.save_rule`` takes it) and back, the advanced box's
YAML, the silence form to a silence spec, and each validation error named as
the form labels it, on the control that holds it.

No web framework here: the page's layouts and callbacks call these with the
plain values of their controls, and the rule model (``alerts.rules``) does
the validating, so the form and the API refuse the same things.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from alerts.rules import GROUP_DIMENSIONS, RuleError

FILTER_DIMENSIONS = ("source", "type", "entity", "status")

# The rule form: its controls, their defaults, and which of them can be marked invalid.
FORM_FIELDS = (
    "name",
    "description",
    "kind",
    "severity",
    "metric",
    "field",
    "window",
    "op",
    "threshold",
    "min_samples",
    "source",
    "type",
    "entity",
    "status",
    "group_by",
    "for",
    "keep_firing_for",
    "repeat_interval",
    "targets",
    "webhook",
    "advanced",
)
FORM_DEFAULTS: dict[str, Any] = {
    "name": "",
    "description": "",
    "kind": "threshold",
    "severity": "warning",
    "metric": "count",
    "field": "value",
    "window": "5m",
    "op": ">",
    "threshold": "",
    "min_samples": "",
    "source": "",
    "type": "",
    "entity": "",
    "status": "",
    "group_by": [],
    "for": "0s",
    "keep_firing_for": "0s",
    "repeat_interval": "4h",
    "targets": ["live", "log"],
    "webhook": "",
    "advanced": "",
}
CHECKLISTS = ("group_by", "targets")
INVALIDABLE = tuple(f for f in FORM_FIELDS if f not in CHECKLISTS)
_TEXT_KEYS = (
    "name",
    "description",
    "kind",
    "severity",
    "metric",
    "field",
    "window",
    "op",
    "for",
    "keep_firing_for",
    "repeat_interval",
)
# Rule fields the form shows; everything else goes to the advanced (YAML) box.
_FORM_KEYS = {*_TEXT_KEYS, "threshold", "min_samples", "filter", "group_by", "targets", "enabled"}
# Rule defaults the advanced box leaves out, so an untouched rule shows an empty box.
_ADVANCED_DEFAULTS: dict[str, Any] = {"labels": {}, "bucket": "5m", "history": "7d"}
ADVANCED_LIMIT = 10_000

# How the form labels a control, where that differs from the rule field's name.
LABELS = {
    "for": "for (pending period)",
    "min_samples": "min samples",
    "keep_firing_for": "keep firing for",
    "repeat_interval": "repeat every",
    "group_by": "group by",
    "webhook": "webhook URLs",
    "advanced": "advanced",
}


class FormError(ValueError):
    """A form value that cannot become part of a rule; ``field`` names the control."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"invalid field '{field}': {message}")
        self.field = field
        self.message = message


def id_of(text: Any, digits: int = 9) -> int | None:
    """A row id from the URL or a control, or None (ASCII digits only, bounded).

    >>> id_of("12"), id_of("x"), id_of("²"), id_of("1" * 20), id_of(None)
    (12, None, None, None, None)
    """
    return int(text) if isinstance(text, str) and re.fullmatch(rf"[0-9]{{1,{digits}}}", text) else None


def _number(text: str, integer: bool) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text  # the rule model names the field and says what it expects
    return int(number) if integer and number.is_integer() else number


# ------------------------------------------------------------ the rule form


def parse_advanced(text: str | None) -> dict[str, Any]:
    """The advanced box: a YAML (or JSON) mapping of extra rule fields.

    >>> parse_advanced("labels: {team: ops}"), parse_advanced("  ")
    ({'labels': {'team': 'ops'}}, {})
    >>> parse_advanced("labels: {team: ops")
    Traceback (most recent call last):
    ...
    alerts.form.FormError: invalid field 'advanced': not valid YAML: ...
    """
    if not text or not text.strip():
        return {}
    if len(text) > ADVANCED_LIMIT:
        raise FormError("advanced", f"at most {ADVANCED_LIMIT:,} characters")
    try:
        # Anchors and aliases can expand a few bytes into a huge document (a "billion laughs").
        if any(isinstance(token, (yaml.AliasToken, yaml.AnchorToken)) for token in yaml.scan(text)):
            raise FormError("advanced", "YAML anchors and aliases (& and *) are not accepted here")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FormError("advanced", f"not valid YAML: {' '.join(str(exc).split())[:200]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormError("advanced", "write key: value lines (YAML) or a JSON object")
    return data


def dump_advanced(extra: dict[str, Any]) -> str:
    """The advanced box's text for extra rule fields (``parse_advanced`` reads it back).

    >>> dump_advanced({"labels": {"team": "ops"}}), dump_advanced({})
    ('labels:\\n  team: ops\\n', '')
    """
    return yaml.safe_dump(extra, sort_keys=False, allow_unicode=True) if extra else ""


def form_spec(values: dict[str, Any]) -> dict[str, Any]:
    """The rule spec (as ``alerts.manage.save_rule`` takes it) for the form's
    values; empty fields are left out so the rule's defaults apply.

    >>> form_spec({"name": "errors", "type": "error, fatal", "window": "1m", "threshold": "3", "targets": ["live"],
    ...            "webhook": "http://h/x", "advanced": "labels: {team: ops}"})
    {'name': 'errors', 'window': '1m', 'threshold': 3.0, 'filter': {'type': ['error', 'fatal']}, 'targets': [{'type': 'live'}, {'type': 'webhook', 'url': 'http://h/x'}], 'labels': {'team': 'ops'}}
    """
    spec: dict[str, Any] = {}
    for key in _TEXT_KEYS:
        text = str(values.get(key) or "").strip()
        if text:
            spec[key] = text
    for key in ("threshold", "min_samples"):
        text = str(values.get(key) if values.get(key) is not None else "").strip()
        if text:
            spec[key] = _number(text, key == "min_samples")
    filt = {dim: [v.strip() for v in str(values.get(dim) or "").split(",") if v.strip()] for dim in FILTER_DIMENSIONS}
    if any(filt.values()):
        spec["filter"] = {k: v for k, v in filt.items() if v}
    if values.get("group_by"):
        spec["group_by"] = [g for g in GROUP_DIMENSIONS if g in values["group_by"]]
    targets: list[dict[str, Any]] = [{"type": t} for t in ("live", "log") if t in (values.get("targets") or [])]
    targets += [{"type": "webhook", "url": url} for url in re.split(r"[\s,]+", str(values.get("webhook") or "")) if url]
    spec["targets"] = targets
    for key, value in parse_advanced(values.get("advanced")).items():
        if key == "filter" and isinstance(value, dict) and isinstance(spec.get("filter"), dict):
            spec["filter"] = spec["filter"] | value
        else:
            spec[key] = value
    return spec


def form_values(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The form's values for a stored rule spec (``None``: an empty form).

    >>> v = form_values({"name": "q", "threshold": 50.0, "filter": {"type": ["queue"], "attrs": {"site": "n"}}, "labels": {},
    ...                  "targets": [{"type": "live"}, {"type": "webhook", "url": "http://h"}], "bucket": "5m", "for": "1m"})
    >>> v["threshold"], v["type"], v["targets"], v["webhook"], v["for"], v["advanced"]
    ('50', 'queue', ['live'], 'http://h', '1m', 'filter:\\n  attrs:\\n    site: n\\n')
    """
    values = dict(FORM_DEFAULTS)
    if not spec:
        return values
    for key in _TEXT_KEYS:
        if spec.get(key) is not None:
            values[key] = str(spec[key])
    for key in ("threshold", "min_samples"):
        if spec.get(key) is not None:
            number = spec[key]
            values[key] = f"{number:g}" if isinstance(number, float) else str(number)
    if values["min_samples"] == "0":
        values["min_samples"] = ""
    filt = dict(spec.get("filter") or {})
    for dim in FILTER_DIMENSIONS:
        values[dim] = ", ".join(map(str, filt.pop(dim, None) or []))
    values["group_by"] = list(spec.get("group_by") or [])
    targets = spec.get("targets") or []
    values["targets"] = [t["type"] for t in targets if t.get("type") in ("live", "log")]
    values["webhook"] = ", ".join(t["url"] for t in targets if t.get("type") == "webhook" and t.get("url"))
    extra: dict[str, Any] = {}
    filt = {k: v for k, v in filt.items() if v}
    if filt:
        extra["filter"] = filt
    for key, value in spec.items():
        if key not in _FORM_KEYS and value is not None and _ADVANCED_DEFAULTS.get(key, object()) != value:
            extra[key] = value
    values["advanced"] = dump_advanced(extra)
    return values


def control_for(field: str) -> str | None:
    """The form control to mark for an error's field (``RuleError.field``);
    None when no control holds it.

    >>> [control_for(f) for f in ("threshold", "filter.type", "filter.type.0", "for", "targets.2.url", "labels.team", "group_by.0", "(body)")]
    ['threshold', 'type', 'type', 'for', 'webhook', 'advanced', 'group_by', None]
    """
    parts = field.split(".")
    head = parts[0]
    if head == "filter":
        return parts[1] if len(parts) > 1 and parts[1] in FILTER_DIMENSIONS else "advanced"
    if head == "targets":
        return "webhook" if parts[-1] == "url" else "targets"
    if head in FORM_FIELDS:
        return head
    if head in ("for_",):
        return "for"
    if head in ("labels", "samples_filter", "bucket", "history", "enabled"):
        return "advanced"
    return None


def error_text(field: str, message: str) -> str:
    """A validation message that names the field as the form labels it.

    >>> error_text("filter.type", "give at least one value")
    "Check the field 'type' (filter.type): give at least one value"
    >>> error_text("threshold", "Input should be a valid number")
    "Check the field 'threshold': Input should be a valid number"
    """
    control = control_for(field)
    label = LABELS.get(control, control) if control else None
    if label is None or label == field:
        return f"Check the field '{field}': {message}"
    return f"Check the field '{label}' ({field}): {message}"


def invalid_flags(field: str | None) -> dict[str, bool]:
    """Which controls to mark invalid for an error's field (None: none of them).

    >>> [f for f, bad in invalid_flags("filter.type.0").items() if bad], any(invalid_flags(None).values())
    (['type'], False)
    """
    control = control_for(field) if field is not None else None
    return {f: f == control for f in INVALIDABLE}


# ------------------------------------------------------------ the silence form


def parse_labels(text: str | None) -> dict[str, str]:
    """``key=value`` pairs separated by commas.

    >>> parse_labels("entity=scanner-3, source = north"), parse_labels("")
    ({'entity': 'scanner-3', 'source': 'north'}, {})
    """
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise RuleError("labels", f"write key=value pairs separated by commas (got {part.strip()!r})")
        out[key.strip()] = value.strip()
    return out


def silence_spec(
    rule: str | None, labels: str | None, duration: str | None, comment: str | None, by: str | None
) -> dict[str, Any]:
    """The silence the form describes (``alerts.manage.add_silence`` validates it).

    >>> silence_spec("errors", "entity=a", "2h", " ", None)
    {'matchers': {'rule': 'errors', 'entity': 'a'}, 'duration': '2h'}
    """
    matchers = ({"rule": rule} if rule else {}) | parse_labels(labels)
    spec: dict[str, Any] = {"matchers": matchers, "duration": (duration or "").strip() or "1h"}
    if comment and comment.strip():
        spec["comment"] = comment.strip()
    if by:
        spec["created_by"] = by
    return spec


def silence_error(exc: RuleError) -> str:
    """A silence's validation message, naming the field as the silence form labels it.

    >>> silence_error(RuleError("duration", "bad"))
    "Check the field 'for': bad"
    """
    if exc.field == "matchers":
        return "Choose a rule or give labels: a silence must say which alerts it mutes."
    shown = {"duration": "for", "matchers": "labels"}.get(exc.field.split(".")[0], exc.field)
    return f"Check the field '{shown}': {exc.message}"
