"""Alert rules: the pydantic model, YAML loading, and errors that name the field.

A rule says what to measure (``metric`` of the events matching ``filter``
over ``window``, one series per ``group_by`` value), when that is trouble
(``op`` ``threshold``, at least ``min_samples`` events), how long it must
last (``for``) and linger (``keep_firing_for``), and whom to tell
(``targets``). ``kind`` picks the condition: ``threshold``, ``absence``
(no matching event in the window: a dead-man switch), ``anomaly`` (the
analytics detector flags the newest bucket of the metric's series),
``duration`` (a script's newest run is outside its learned duration band) or
``forecast`` (the metric per ``bucket`` over ``history``, forecast
``horizon`` ahead, crosses the threshold: its central forecast or, with
``bound``, its upper or lower 95 % bound).

>>> r = parse_rule({"name": "slow", "metric": "p95", "field": "duration_ms", "threshold": 500, "for": "2m"})
>>> r.window_delta.total_seconds(), r.for_delta.total_seconds(), r.op
(300.0, 120.0, '>')
>>> try:
...     parse_rule({"name": "x", "threshold": "high"})
... except RuleError as exc:
...     exc.field
'threshold'
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.durations import parse_duration
from core.errors import InvalidField, InvalidInput
from core.mail import addresses
from core.schemas import field_errors
from data.queries import Filters

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
SEVERITIES = ("error", "warning", "info")
GROUP_DIMENSIONS = ("source", "type", "entity", "status", "user")
TODAY = "today"  # a window: since midnight UTC, as the device monitor counts
MAX_HORIZON_BUCKETS = 500  # buckets a forecast rule looks ahead, at most (one fit per new bucket)
_ZERO = re.compile(r"^0+(\.0+)?\s*[a-z]*$")


class RuleError(InvalidField, ValueError):
    """A rule (or a silence) is invalid; ``field`` names where (``threshold``,
    ``rules[0].filter.type``), ``message`` says why (``str(exc)`` says both)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.message = message


def duration(raw: Any, *, allow_zero: bool = False) -> timedelta:
    """A rule's duration: ``90`` (seconds), ``30s``, ``5m``, ``1h``, ``7d``.

    >>> duration("5m"), duration("0", allow_zero=True)
    (datetime.timedelta(seconds=300), datetime.timedelta(0))
    """
    return _duration(str(raw).strip().lower(), allow_zero)


@functools.lru_cache(maxsize=4096)  # rules read their durations on every evaluation
def _duration(text: str, allow_zero: bool) -> timedelta:
    if allow_zero and _ZERO.match(text):
        return timedelta(0)
    try:
        return parse_duration(text, "")
    except InvalidInput as exc:
        raise ValueError(exc.errors[0]["message"] if exc.errors else str(exc)) from None


def _check_duration(allow_zero: bool, allow_today: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError("expected a duration like 30s, 5m, 1h or 7d")
        text = str(value).strip()
        if allow_today and text.lower() == TODAY:
            return TODAY
        duration(text, allow_zero=allow_zero)
        return text

    return check


Window = Annotated[str, BeforeValidator(_check_duration(False, True))]
Delay = Annotated[str, BeforeValidator(_check_duration(True))]  # may be 0
Span = Annotated[str, BeforeValidator(_check_duration(False))]
Values = list[Annotated[str, Field(min_length=0, max_length=200)]]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class RuleFilter(Strict):
    """Which events a rule looks at; a list accepts any of its values."""

    source: Values | None = None
    type: Values | None = None
    entity: Values | None = None
    status: Values | None = None
    user: Values | None = None
    attrs: dict[Annotated[str, Field(min_length=1, max_length=100)], str | int | float | bool] | None = None

    @field_validator("source", "type", "entity", "status", "user", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value

    @field_validator("source", "type", "entity", "status", "user", mode="after")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("give at least one value (or leave the field out)")
        return value

    def filters(self) -> Filters:
        """As ``data.queries.Filters`` (attrs are matched separately)."""
        return Filters(**{k: tuple(v) for k, v in self.model_dump(exclude={"attrs"}).items() if v})

    @property
    def rollup_compatible(self) -> bool:
        return not self.attrs and not self.user


URL_TARGETS = ("webhook", "slack", "teams")  # the ones that POST to a url
_SMS_NAME = re.compile(r"^[\w.+-]{1,100}$")


class Target(Strict):
    """Whom to tell. ``live``, ``log``; ``webhook``, ``slack``, ``teams`` POST
    to ``url``; ``email`` mails ``to`` (comma-separated addresses), grouping
    notices of the rule within ``group_wait``; ``sms`` texts ``to`` (a name
    of ``--sms-to``, or a number) through the SMS gateway, for error alerts.

    A target may be written as one string: ``live``, ``email:ops@example.com``,
    ``slack:https://hooks.slack.com/...``, ``sms:oncall``.

    >>> Target.model_validate("email:ops@example.com, dev@example.com").to
    'ops@example.com,dev@example.com'
    """

    type: Literal["live", "log", "webhook", "email", "slack", "teams", "sms"]
    url: Annotated[str, Field(max_length=500)] | None = None
    to: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    group_wait: Delay | None = Field(
        default=None, description="email: notices of the rule within this time share one mail"
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        kind, sep, rest = data.strip().partition(":")
        if not sep:
            return {"type": kind}
        rest = rest.strip()
        return {"type": kind, **({("url" if kind in URL_TARGETS else "to"): rest} if rest else {})}

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("to")
    @classmethod
    def _list(cls, value: str | None) -> str | None:
        return None if value is None else ",".join(a.strip() for a in value.split(",") if a.strip())

    @property
    def address(self) -> str | None:
        """Where it goes: the url, the addresses or the SMS name."""
        return self.url if self.type in URL_TARGETS else self.to

    @property
    def group_wait_seconds(self) -> float:
        return duration(self.group_wait, allow_zero=True).total_seconds() if self.group_wait else 30.0

    def recipients(self) -> tuple[str, ...]:
        return tuple(a for a in (self.to or "").split(",") if a)


DEFAULT_TARGETS = [Target(type="live"), Target(type="log")]


class Rule(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""
    enabled: bool = True
    kind: Literal["threshold", "absence", "anomaly", "duration", "forecast"] = "threshold"
    metric: Literal[
        "count",
        "rate",
        "sum",
        "avg",
        "min",
        "max",
        "p50",
        "p90",
        "p95",
        "p99",
        "success_rate",
        "failures",
        "latest",
        "unique_users",
    ] = "count"
    field: Literal["value", "duration_ms"] = "value"
    filter: RuleFilter = RuleFilter()
    group_by: list[Literal["source", "type", "entity", "status", "user"]] = []
    window: Window = "5m"
    op: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    threshold: float = 0.0
    min_samples: Annotated[int, Field(ge=0, le=10**9)] = 0
    samples_filter: RuleFilter | None = (
        None  # min_samples counts these events instead (e.g. scans for a sync success rate)
    )
    for_: Delay = Field("0s", alias="for")
    keep_firing_for: Delay = "0s"
    repeat_interval: Span = "4h"
    severity: Literal["error", "warning", "info"] = "warning"
    labels: dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=200)]] = {}
    targets: list[Target] = Field(default_factory=lambda: list(DEFAULT_TARGETS), max_length=20)
    bucket: Span = "5m"  # anomaly, forecast: the series' bucket
    history: Span = "7d"  # anomaly, forecast: the series' length; duration: the runs that teach the band
    horizon: Span | None = Field(
        None, description="forecast rules: how far ahead a crossing is looked for (more than bucket, at most history)"
    )
    bound: Literal["value", "upper", "lower"] | None = Field(
        None, description="forecast rules: the central forecast (value, the default) or its upper or lower 95 % bound"
    )

    @property
    def window_delta(self) -> timedelta:
        return timedelta(days=1) if self.window == TODAY else duration(self.window)

    def window_start(self, now: datetime) -> datetime:
        if self.window == TODAY:
            return now.replace(hour=0, minute=0, second=0, microsecond=0)
        return now - self.window_delta

    @property
    def for_delta(self) -> timedelta:
        return duration(self.for_, allow_zero=True)

    @property
    def keep_firing_delta(self) -> timedelta:
        return duration(self.keep_firing_for, allow_zero=True)

    @property
    def repeat_delta(self) -> timedelta:
        return duration(self.repeat_interval)

    @property
    def bucket_delta(self) -> timedelta:
        return duration(self.bucket)

    @property
    def history_delta(self) -> timedelta:
        return duration(self.history)

    @property
    def horizon_delta(self) -> timedelta:
        return duration(self.horizon or "0", allow_zero=True)

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)

    def spec(self) -> dict[str, Any]:
        """The rule as stored and served (JSON; ``for`` under its own name)."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


def _cross_checks(rule: Rule) -> None:
    """Checks that span fields; each names the field to fix."""
    if rule.kind == "absence" and rule.metric != "count":
        raise RuleError("metric", "an absence rule counts events: use metric count (or leave it out)")
    if rule.metric == "latest" and (rule.filter.attrs or "user" in rule.group_by):
        raise RuleError(
            "filter.attrs" if rule.filter.attrs else "group_by",
            "the latest value is read by source, type, entity and status",
        )
    bucketed = rule.kind in ("anomaly", "forecast")
    if bucketed and rule.metric in ("latest", "unique_users"):
        raise RuleError(
            "metric",
            f"{'an anomaly' if rule.kind == 'anomaly' else 'a forecast'} rule needs a metric per bucket: not latest or unique_users",
        )
    if bucketed and rule.bucket_delta < timedelta(minutes=1):
        raise RuleError("bucket", "at least 1 minute")
    if bucketed and rule.history_delta < rule.bucket_delta * 10:
        raise RuleError("history", "must hold at least 10 buckets")
    _forecast_checks(rule)
    if rule.kind == "duration" and any(g not in ("entity",) for g in rule.group_by):
        raise RuleError("group_by", "a duration rule has one series per script (entity)")
    for i, target in enumerate(rule.targets):
        _target_checks(target, f"targets.{i}.")
    if len({(t.type, t.address) for t in rule.targets}) != len(rule.targets):
        raise RuleError("targets", "the same target is listed twice")


def _target_checks(target: Target, at: str) -> None:
    """A target's fields fit its type; ``to`` of an e-mail target is normalised."""
    if target.type in URL_TARGETS and not target.url:
        raise RuleError(at + "url", f"a {target.type} target needs a url")
    if target.type not in URL_TARGETS and target.url:
        raise RuleError(at + "url", "only webhook, slack and teams targets take a url")
    if target.type in ("email", "sms") and not target.to:
        what = "one or more addresses" if target.type == "email" else "a name of --sms-to or a number"
        raise RuleError(at + "to", f"an {target.type} target needs to: {what}")
    if target.type not in ("email", "sms") and target.to:
        raise RuleError(at + "to", "only email and sms targets take to")
    if target.type != "email" and target.group_wait is not None:
        raise RuleError(at + "group_wait", "only email targets take a group_wait")
    if target.type == "email":
        try:
            addresses(target.to or "")
        except ValueError as exc:
            raise RuleError(at + "to", str(exc)) from None
        if target.group_wait is not None and duration(target.group_wait, allow_zero=True) > timedelta(hours=1):
            raise RuleError(at + "group_wait", "at most 1h")
    if target.type == "sms" and not _SMS_NAME.match(target.to or ""):
        raise RuleError(at + "to", "a name of --sms-to (letters, digits, . _ + -) or a phone number")


def _forecast_checks(rule: Rule) -> None:
    if rule.kind != "forecast":
        for name in ("horizon", "bound"):
            if getattr(rule, name) is not None:
                raise RuleError(name, "only a forecast rule takes a horizon and a bound")
        return
    if rule.horizon is None:
        raise RuleError("horizon", "a forecast rule needs a horizon, e.g. 3d: how far ahead to look")
    if rule.horizon_delta <= rule.bucket_delta:
        raise RuleError("horizon", f"must be longer than the bucket ({rule.bucket}), got {rule.horizon}")
    if rule.horizon_delta > rule.history_delta:
        raise RuleError("horizon", f"at most the history ({rule.history}), got {rule.horizon}")
    if rule.horizon_delta > rule.bucket_delta * MAX_HORIZON_BUCKETS:
        raise RuleError(
            "horizon",
            f"at most {MAX_HORIZON_BUCKETS} buckets of {rule.bucket}, got {rule.horizon}: choose a larger bucket",
        )


def parse_rule(data: Any, *, prefix: str = "") -> Rule:
    """Validate a rule given as a dict (a JSON body or a YAML item); raises
    :class:`RuleError` naming the first bad field (after ``prefix``)."""
    if isinstance(data, Rule):
        data = data.spec()
    if not isinstance(data, dict):
        raise RuleError(prefix.rstrip(".") or "(body)", "a rule is an object of fields")
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        first = field_errors(exc)[0]
        raise RuleError(prefix + first["field"].replace("for_", "for"), first["message"]) from None
    try:
        _cross_checks(rule)
    except RuleError as exc:
        raise RuleError(prefix + exc.field, exc.message) from None
    return rule


def load_yaml(text: str) -> list[Rule]:
    """Rules of a YAML document ``rules: [...]``; errors name ``rules[i].field``."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError("(file)", f"not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or set(doc) != {"rules"}:
        raise RuleError("rules", "the file must hold one key, rules, with a list of rules")
    rules = [parse_rule(item, prefix=f"rules[{i}].") for i, item in enumerate(doc["rules"])]
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise RuleError(f"rules[{i}].name", f"{rule.name!r} is given twice")
        seen.add(rule.name)
    return rules


def format_value(value: float | None) -> str:
    """A metric value as alerts show it: thousands grouped, at most 4 significant digits.

    >>> format_value(60096.78), format_value(5.0), format_value(0.123456), format_value(87.5), format_value(None)
    ('60,097', '5', '0.1235', '87.5', 'no data')
    """
    if value is None:
        return "no data"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"
