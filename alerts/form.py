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
from pydantic import ValidationError

from alerts.rules import GROUP_DIMENSIONS, TODAY, Rule, RuleError, parse_rule
from core.schemas import field_errors

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
    "horizon",
    "bound",
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
    "horizon": "",
    "bound": "value",
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
    "horizon",
    "bound",
)
FORECAST_KEYS = ("horizon", "bound")  # only a forecast rule takes them: the form sends them for that kind alone
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
    "webhook": "webhook URLs and other targets",
    "advanced": "advanced",
    "horizon": "forecast horizon",
    "bound": "forecast bound",
}


# The durations the rule model accepts (alerts.rules.duration), as the help texts and the errors show them.
DURATION_EXAMPLES = "90 (seconds), 30s, 5m, 10min, 6h, 7d or 2w"
DURATION_FIELDS = ("window", "for", "keep_firing_for", "repeat_interval", "bucket", "history", "horizon")
ZERO_ALLOWED = ("for", "keep_firing_for")  # "0s": at once / not at all
# The help under each duration control: the same examples, with what 0 or today means there.
HELP = {
    "window": "e.g. 30s, 5m, 10min, 6h, 7d or today",
    "for": "how long it must hold before it fires: 0s (at once), 5m, 10min",
    "keep_firing_for": "after the condition clears: 0s (not at all), 5m, 10min",
    "repeat_interval": "notify again while firing: 30min, 4h, 1d",
    "horizon": "forecast rules: how far ahead, e.g. 6h or 3d (bucket and history under advanced)",
}
ADVANCED_FIELDS = "labels, filter.attrs, filter.user, samples_filter, bucket, history"
# A form holds at most this many errors (a broken advanced box could name hundreds).
MAX_ERRORS = 20


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
    forecasting = str(values.get("kind") or "").strip() == "forecast"
    for key in _TEXT_KEYS:
        text = str(values.get(key) or "").strip()
        if text and (forecasting or key not in FORECAST_KEYS):
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
    targets += parse_target_list(str(values.get("webhook") or ""))
    spec["targets"] = targets
    for key, value in parse_advanced(values.get("advanced")).items():
        if key == "filter" and isinstance(value, dict) and isinstance(spec.get("filter"), dict):
            spec["filter"] = spec["filter"] | value
        else:
            spec[key] = value
    return spec


_PREFIXED = ("webhook", "email", "slack", "teams", "sms")


def parse_target_list(text: str) -> list[dict[str, Any]]:
    """The form's targets box: webhook URLs, and ``email:``, ``slack:``,
    ``teams:``, ``sms:`` targets; an address after an ``email:`` item adds
    to it.

    >>> parse_target_list("http://h/x, email:ops@example.com, dev@example.com slack:https://s/y sms:oncall")
    [{'type': 'webhook', 'url': 'http://h/x'}, {'type': 'email', 'to': 'ops@example.com,dev@example.com'}, {'type': 'slack', 'url': 'https://s/y'}, {'type': 'sms', 'to': 'oncall'}]
    """
    out: list[dict[str, Any]] = []
    for item in re.split(r"[\s,]+", text):
        if not item:
            continue
        kind, sep, rest = item.partition(":")
        if sep and kind in _PREFIXED:
            key = "to" if kind in ("email", "sms") else "url"
            out.append({"type": kind, key: rest} if rest else {"type": kind})
        elif "@" in item and "://" not in item and out and out[-1]["type"] == "email":
            out[-1]["to"] = f"{out[-1]['to']},{item}" if out[-1].get("to") else item
        else:
            out.append({"type": "webhook", "url": item})
    return out


def target_text(target: dict[str, Any]) -> str:
    """One target as the targets box shows it (a webhook by its URL alone)."""
    if target.get("type") == "webhook":
        return str(target.get("url") or "")
    return f"{target.get('type')}:{target.get('url') or target.get('to') or ''}"


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
    values["webhook"] = ", ".join(target_text(t) for t in targets if t.get("type") not in ("live", "log"))
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
        return "webhook" if parts[-1] in ("url", "to", "group_wait") or len(parts) == 2 else "targets"
    if head in FORM_FIELDS:
        return head
    if head in ("for_",):
        return "for"
    if head in ("labels", "samples_filter", "bucket", "history", "enabled"):
        return "advanced"
    return None


def plain(field: str, message: str) -> str:
    """A validation message in words a person understands (the rule model's
    and pydantic's texts mapped to what to write instead).

    >>> plain("threshold", "Input should be a valid number, unable to parse string as a number")
    'write a number, like 3 or 2.5'
    >>> plain("window", "expected a duration like 90, 10min, 6h or 7d, got '5 parsecs'")
    "'5 parsecs' is not a duration; write e.g. 90 (seconds), 30s, 5m, 10min, 6h, 7d, 2w or today"
    >>> plain("repeat_interval", "must be between 1 second and 400 days, got '0s'")
    'must be longer than 0, e.g. 30min, 4h or 1d'
    >>> plain("history", "must be between 1 second and 400 days, got '500d'")
    "'500d' is too long: at most 400 days"
    >>> plain("op", "Input should be '>', '>=' or '<'")
    'choose one of >, >= or <'
    """
    head = field.split(".")[0]
    got = re.search(r", got (.+)$", message)
    typed = got.group(1) if got else None
    if head in DURATION_FIELDS and (message.startswith("expected a duration") or message.startswith("must be between")):
        shown = f"{typed} " if typed else ""
        if message.startswith("must be between"):
            if typed and re.match(r"^'[0.\s]*[a-z]*'$", typed):
                return "must be longer than 0, e.g. 30min, 4h or 1d"
            return f"{shown}is too long: at most 400 days"
        examples = DURATION_EXAMPLES.replace(" or ", ", ") + f" or {TODAY}" if head == "window" else DURATION_EXAMPLES
        return f"{shown or 'that '}is not a duration; write e.g. {examples}"
    if message in ("Field required",) or message.startswith("String should have at least 1 character"):
        if head == "name":
            return "give the rule a name"
        return "must not be empty" if "[key]" not in field else "a key must not be empty"
    if message.startswith("String should have at most"):
        return "too long: at most " + message.removeprefix("String should have at most ")
    if message.startswith("Input should be a valid number") or message.startswith("Input should be a finite number"):
        return "write a number, like 3 or 2.5"
    if message.startswith("Input should be a valid integer"):
        return "write a whole number, like 10"
    if message.startswith("Input should be greater than or equal to 0"):
        return "must be 0 or more"
    if message.startswith("Input should be less than or equal to"):
        return "must be at most " + f"{int(float(message.rsplit(' ', 1)[-1])):,}"
    if message.startswith("Input should be a valid boolean"):
        return "write true or false"
    if message.startswith("Input should be a valid dictionary"):
        return "write key: value pairs here"
    if message.startswith("Input should be a valid list"):
        return "write a list of values"
    if message.startswith("Input should be a valid string"):
        return "write text here"
    if message == "Extra inputs are not permitted":
        return f"is not a rule field (check the spelling; the advanced box takes {ADVANCED_FIELDS})"
    if message.startswith("List should have at most"):
        return "too many: at most " + message.removeprefix("List should have at most ")
    choices = re.fullmatch(r"Input should be (('[^']*'(, | or )?)+)", message)
    if choices:
        return "choose one of " + choices.group(1).replace("'", "")
    if message == "must be an http:// or https:// URL":
        return "write a URL that starts with http:// or https://"
    return message


def error_text(field: str, message: str) -> str:
    """A validation message, in plain words, that names the field as the form labels it.

    >>> error_text("filter.type", "give at least one value")
    "Check the field 'type' (filter.type): give at least one value"
    >>> error_text("threshold", "Input should be a valid number")
    "Check the field 'threshold': write a number, like 3 or 2.5"
    """
    control = control_for(field)
    label = LABELS.get(control, control) if control else None
    text = plain(field, message)
    if label is None or label == field:
        return f"Check the field '{field}': {text}"
    return f"Check the field '{label}' ({field}): {text}"


def _without(spec: dict[str, Any], field: str) -> bool:
    """Drop the part of ``spec`` an error names (the rule's default applies
    instead); False when nothing could be dropped."""
    head = field.split(".")[0].replace("for_", "for")
    if head == "name":
        if spec.get("name") == "unnamed":
            return False
        spec["name"] = "unnamed"  # required: a stand-in, so the other fields are still checked
        return True
    if head in FORECAST_KEYS and spec.get("kind") == "forecast":
        # A forecast rule cannot go without a horizon: check the rest as a threshold rule.
        spec["kind"] = "threshold"
        for key in FORECAST_KEYS:
            spec.pop(key, None)
        return True
    if head == "targets" and field.endswith(".url") and isinstance(spec.get("targets"), list):
        index = int(field.split(".")[1]) if field.split(".")[1].isdigit() else -1
        if 0 <= index < len(spec["targets"]):
            spec["targets"] = [t for i, t in enumerate(spec["targets"]) if i != index]
            return True
    return spec.pop(head, None) is not None


def validate(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The form's rule spec and every problem of it at once: ``(spec,
    [(field, message), ...])``, the list empty when the rule is valid. Each
    field is named as ``RuleError.field`` names it (``threshold``,
    ``filter.type``, ``targets.2.url``); each message is the rule model's,
    for :func:`plain` or :func:`error_text` to show.

    >>> spec, errors = validate(FORM_DEFAULTS | {"name": "", "threshold": "high", "window": "5 parsecs"})
    >>> [field for field, _message in errors]
    ['name', 'window', 'threshold']
    >>> validate(FORM_DEFAULTS | {"name": "ok", "threshold": "3"})[1]
    []
    """
    errors: list[tuple[str, str]] = []
    try:
        spec = form_spec(values)
    except FormError as exc:  # a broken advanced box: check the rest of the form without it
        errors.append((exc.field, exc.message))
        spec = form_spec(values | {"advanced": ""})
    checked = dict(spec)
    try:
        Rule.model_validate(checked)
    except ValidationError as exc:
        for err in field_errors(exc):
            field = err["field"].replace("for_", "for")
            errors.append((field, err["message"]))
            _without(checked, field)
    for _ in range(MAX_ERRORS):  # the checks that span fields, each once its fields are valid
        try:
            parse_rule(checked)
            break
        except RuleError as exc:
            if (exc.field, exc.message) not in errors:
                errors.append((exc.field, exc.message))
            if not _without(checked, exc.field):
                break
    return spec, errors[:MAX_ERRORS]


def form_errors(errors: list[tuple[str, str]]) -> dict[str, str]:
    """Each control's message for ``validate``'s errors (a field no control
    holds came from the advanced box, which then says so).

    >>> form_errors([("threshold", "Input should be a valid number"), ("colour", "Extra inputs are not permitted")])["advanced"]
    'colour: is not a rule field (check the spelling; the advanced box takes labels, filter.attrs, filter.user, samples_filter, bucket, history)'
    """
    out: dict[str, list[str]] = {}
    for field, message in errors:
        control = control_for(field) or "advanced"
        text = plain(field, message)
        if control == "advanced" and field != "advanced":  # the box holds many fields: say which
            text = f"{field}: {text}"
        out.setdefault(control, []).append(text)
    return {control: "; ".join(texts) for control, texts in out.items()}


def summary_text(errors: list[tuple[str, str]]) -> str:
    """The line under the form for ``validate``'s errors.

    >>> summary_text([("threshold", "Input should be a valid number")])
    "Check the field 'threshold': write a number, like 3 or 2.5"
    >>> summary_text([("threshold", "x"), ("window", "y")])
    "2 fields need a fix (marked in red): 'threshold', 'window'."
    """
    if len(errors) == 1:
        return error_text(*errors[0])
    names = []
    for field, _message in errors:
        control = control_for(field)
        name = f"'{LABELS.get(control, control) if control else field}'"
        if name not in names:
            names.append(name)
    return f"{len(errors)} fields need a fix (marked in red): {', '.join(names)}."


def invalid_all(errors: list[tuple[str, str]]) -> dict[str, bool]:
    """Which controls to mark invalid for ``validate``'s errors.

    >>> [f for f, bad in invalid_all([("threshold", "x"), ("filter.type.0", "y"), ("colour", "z")]).items() if bad]
    ['threshold', 'type', 'advanced']
    """
    marked = {control_for(field) or "advanced" for field, _message in errors}
    return {f: f in marked for f in INVALIDABLE}


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
