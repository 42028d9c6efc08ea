"""Export schedules as a service: create, change, run now and delete, with
one validation for the API and the Exports page alike. A bad cron, an
interval under 60 s or a bad query parameter is an ``InvalidField`` naming
the field; an unknown schedule is ``NotFound``; a taken name ``Conflict``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator
from sqlalchemy.exc import IntegrityError

from core.errors import Conflict, InvalidField, InvalidInput, NotFound
from core.mail import addresses
from core.pdf import page_path
from core.schemas import field_errors
from data import schedules
from jobs import exports, reports
from jobs.due import cron_trigger, next_run
from reports.explore import QueryTooLarge

if TYPE_CHECKING:
    from services import Services

FIELDS = ("name", "query", "cron", "interval_seconds", "keep", "enabled", "recipients", "page", "report")
MAX_RECIPIENTS = 50
MAX_INTERVAL = 366 * 86400


class ReportIn(BaseModel):
    """How a report's page is printed and titled."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    paper: Literal["A4", "Letter"] = "A4"
    orientation: Literal["landscape", "portrait"] = "landscape"
    theme: Literal["light", "dark"] = "light"


class ScheduleIn(BaseModel):
    """A schedule: a saved Explore query, and either a cron line or an interval;
    with ``recipients``, each run also mails them a report (see jobs.reports)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    query: dict[str, Any] | str = Field(
        description="Explore parameters, an Explore URL or its query string; mode=events for raw events"
    )
    cron: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = Field(
        None, description="minute hour day month weekday (UTC)"
    )
    interval_seconds: Annotated[int, Field(ge=60, le=MAX_INTERVAL)] | None = None
    keep: Annotated[int, Field(ge=1, le=1000)] = 10
    enabled: bool = True
    recipients: list[str] | None = Field(
        None, description="E-mail addresses that get each run as a report (PDF of the page, summary, CSV)"
    )
    page: str | None = Field(
        None, description="The page the report prints, e.g. /boards/ops (default: the Explore view)"
    )
    report: ReportIn | None = None

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return None
        if len(value) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} addresses")
        return addresses(value)

    @field_validator("page")
    @classmethod
    def _page(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return page_path(value)
        except InvalidInput as exc:
            raise ValueError(exc.errors[0]["message"]) from None

    @field_validator("query")
    @classmethod
    def _query(cls, value: dict[str, Any] | str, info: ValidationInfo) -> dict[str, str]:
        params = exports.query_params(value)
        try:
            exports.resolve(params, datetime.now(timezone.utc), (info.context or {}).get("settings"))
        except exports.ExportError as exc:
            raise ValueError(str(exc)) from None
        return params

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            cron_trigger(value)
        except ValueError as exc:
            raise ValueError(f"not a cron expression: {exc}") from None
        return value


def validate(data: Any, settings: Any = None) -> ScheduleIn:
    if not isinstance(data, dict):
        raise InvalidField("(body)", "the body must be a JSON object")
    try:
        body = ScheduleIn.model_validate(data, context={"settings": settings})
    except ValidationError as exc:
        errors = field_errors(exc)
        error = InvalidField(errors[0]["field"], errors[0]["message"])
        error.errors = errors
        raise error from None
    if (body.cron is None) == (body.interval_seconds is None):
        raise InvalidField("cron", "give either cron or interval_seconds (at least 60), not both")
    return body


def schedule_json(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
    query = exports.query_params(row["query"])
    out["query_string"] = urlencode(query)
    out["explore_url"] = "/explore?" + urlencode({k: v for k, v in query.items() if k != "mode"})
    return out


def _free_slug(svc: Services, name: str) -> str:
    base = exports.slugify(name)[:70].strip("-") or "export"
    slug, n = base, 2
    with svc.db.read() as conn:
        while schedules.find_by(conn, slug=slug) or (svc.settings.exports_dir / slug).exists():
            slug, n = f"{base}-{n}", n + 1
    return slug


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"invalid field 'name': a schedule named {name!r} exists", [{"field": "name", "message": "already used"}]
    )


def save_schedule(svc: Services, data: Any, schedule_id: int | None = None) -> dict[str, Any]:
    """Create a schedule, or change the fields ``data`` gives; the stored row."""
    now = svc.now()
    existing = None
    if schedule_id is not None:
        existing = get_schedule(svc, schedule_id)
        if not isinstance(data, dict):
            raise InvalidField("(body)", "the body must be a JSON object")
        merged = {k: existing[k] for k in FIELDS} | data
        # Setting one kind of timing replaces the other.
        if data.get("cron") and "interval_seconds" not in data:
            merged["interval_seconds"] = None
        if data.get("interval_seconds") is not None and "cron" not in data:
            merged["cron"] = None
        data = merged
    body = validate(data, svc.settings)
    values: dict[str, Any] = body.model_dump()
    timing_changed = existing is None or any(existing[k] != values[k] for k in ("cron", "interval_seconds", "enabled"))
    if timing_changed:
        values["next_run_at"] = (
            next_run(body.cron, body.interval_seconds, after=now, anchor=now) if body.enabled else None
        )
    with svc.db.read() as conn:
        clash = schedules.find_by(conn, name=body.name)
    if clash and clash["id"] != schedule_id:
        raise _name_taken(body.name)
    slug = _free_slug(svc, body.name) if existing is None else existing["slug"]
    try:
        with svc.db.write() as conn:
            if existing is None:
                schedule_id = schedules.create_schedule(conn, values | {"slug": slug, "created_at": now})
            else:
                assert schedule_id is not None
                schedules.update_schedule(conn, schedule_id, values)
            row = schedules.get_schedule(conn, schedule_id)
    except IntegrityError:
        raise _name_taken(body.name) from None
    assert row is not None
    return row


def get_schedule(svc: Services, schedule_id: int) -> dict[str, Any]:
    with svc.db.read() as conn:
        row = schedules.get_schedule(conn, schedule_id)
    if row is None:
        raise NotFound(f"no export schedule {schedule_id}")
    return row


def delete_schedule(svc: Services, schedule_id: int, *, keep_files: bool = False) -> int:
    """Delete a schedule (and its files unless ``keep_files``); the files removed."""
    row = get_schedule(svc, schedule_id)
    with svc.db.write() as conn:
        schedules.delete_schedule(conn, schedule_id)
    return 0 if keep_files else exports.remove_files(svc.settings.exports_dir, row["slug"])


def run_now(svc: Services, schedule_id: int) -> exports.Written:
    """Run a schedule at once; raises ``InvalidField('query')`` for a query
    that cannot run now, and ``OSError`` when the file cannot be written
    (recorded on the schedule too)."""
    row = get_schedule(svc, schedule_id)
    now = svc.now()
    try:
        written = exports.run_schedule(svc.db, svc.settings.exports_dir, row, now=now, settings=svc.settings)
    except (exports.ExportError, QueryTooLarge) as exc:
        raise InvalidField("query", str(exc)) from None
    if row.get("recipients"):
        reports.send_report(svc, row, written, now)
    return written
