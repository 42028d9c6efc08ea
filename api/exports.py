"""Scheduled CSV exports over HTTP; everything under ``/api/exports``.

| route                                        | what                                   |
|----------------------------------------------|----------------------------------------|
| GET    /api/exports/schedules                | every schedule                          |
| POST   /api/exports/schedules                | create (ScheduleIn)                     |
| GET    /api/exports/schedules/<id>           | one schedule                            |
| PUT    /api/exports/schedules/<id>           | change the fields given                 |
| DELETE /api/exports/schedules/<id>           | delete it and its files (?keep_files=1) |
| POST   /api/exports/schedules/<id>/run       | run now; answers the CSV file           |
| GET    /api/exports/files                    | files: schedule, name, size, created    |
| GET    /api/exports/files/<schedule>/<file>  | download one file                       |

The page uses :func:`save_schedule` too, so both validate the same way: a bad
cron, an interval under 60 s or a bad query parameter is a 400 naming the field.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request, send_file
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator
from sqlalchemy.exc import IntegrityError

from api.docs import Param, doc
from api.http import ApiError, json_response, read_json, require_key
from api.ingest import services
from api.schemas import field_errors
from data import schedules
from jobs import exports
from jobs.due import cron_trigger, next_run
from reports.explore import QueryTooLarge
from services import Services

bp = Blueprint("exports", __name__)

FIELDS = ("name", "query", "cron", "interval_seconds", "keep", "enabled")
MAX_INTERVAL = 366 * 86400


class ScheduleIn(BaseModel):
    """A schedule: a saved Explore query, and either a cron line or an interval."""

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


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(400, f"invalid field '{field}': {message}", [{"field": field, "message": message}])


def validate(data: Any, settings: Any = None) -> ScheduleIn:
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    try:
        body = ScheduleIn.model_validate(data, context={"settings": settings})
    except ValidationError as exc:
        errors = field_errors(exc)
        raise ApiError(400, f"invalid field '{errors[0]['field']}': {errors[0]['message']}", errors) from None
    if (body.cron is None) == (body.interval_seconds is None):
        raise _invalid("cron", "give either cron or interval_seconds (at least 60), not both")
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


def save_schedule(svc: Services, data: Any, schedule_id: int | None = None) -> dict[str, Any]:
    """Create a schedule, or change the fields ``data`` gives; the stored row."""
    now = svc.now()
    existing = None
    if schedule_id is not None:
        with svc.db.read() as conn:
            existing = schedules.get_schedule(conn, schedule_id)
        if existing is None:
            raise ApiError(404, f"no export schedule {schedule_id}")
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object")
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
        raise ApiError(
            409,
            f"invalid field 'name': a schedule named {body.name!r} exists",
            [{"field": "name", "message": "already used"}],
        )
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
        raise ApiError(
            409,
            f"invalid field 'name': a schedule named {body.name!r} exists",
            [{"field": "name", "message": "already used"}],
        ) from None
    assert row is not None
    return row


def get_or_404(svc: Services, schedule_id: int) -> dict[str, Any]:
    with svc.db.read() as conn:
        row = schedules.get_schedule(conn, schedule_id)
    if row is None:
        raise ApiError(404, f"no export schedule {schedule_id}")
    return row


def delete_schedule(svc: Services, schedule_id: int, *, keep_files: bool = False) -> int:
    """Delete a schedule (and its files unless ``keep_files``); the files removed."""
    row = get_or_404(svc, schedule_id)
    with svc.db.write() as conn:
        schedules.delete_schedule(conn, schedule_id)
    return 0 if keep_files else exports.remove_files(svc.settings.exports_dir, row["slug"])


def run_now(svc: Services, schedule_id: int) -> exports.Written:
    row = get_or_404(svc, schedule_id)
    try:
        return exports.run_schedule(svc.db, svc.settings.exports_dir, row, now=svc.now(), settings=svc.settings)
    except (exports.ExportError, QueryTooLarge) as exc:
        raise ApiError(400, f"invalid field 'query': {exc}", [{"field": "query", "message": str(exc)}]) from None
    except OSError as exc:  # recorded on the schedule too
        raise ApiError(500, f"cannot write the export file: {exc.strerror or exc}") from None


ID = "/api/exports/schedules/<id:schedule_id>"


@doc("GET", "/api/exports/schedules", "Export schedules", tag="exports")
@bp.get("/api/exports/schedules")
def list_schedules() -> Response:
    with services().db.read() as conn:
        rows = schedules.list_schedules(conn)
    return json_response({"schedules": [schedule_json(r) for r in rows]})


@doc(
    "POST",
    "/api/exports/schedules",
    "Create an export schedule (cron or interval) of a saved Explore query",
    body=ScheduleIn,
    tag="exports",
    responses=(201, 400, 401, 409, 415),
)
@bp.post("/api/exports/schedules")
@require_key
def post_schedule() -> Response:
    return json_response(schedule_json(save_schedule(services(), read_json())), 201)


@doc("GET", ID, "One export schedule", tag="exports", responses=(200, 404))
@bp.get(ID)
def get_schedule(schedule_id: int) -> Response:
    return json_response(schedule_json(get_or_404(services(), schedule_id)))


@doc(
    "PUT",
    ID,
    "Change an export schedule (the fields given)",
    body=ScheduleIn,
    tag="exports",
    responses=(200, 400, 401, 404, 409, 415),
)
@bp.put(ID)
@require_key
def put_schedule(schedule_id: int) -> Response:
    return json_response(schedule_json(save_schedule(services(), read_json(), schedule_id)))


@doc(
    "DELETE",
    ID,
    "Delete an export schedule and its files (keep_files=true keeps them)",
    Param("keep_files", "boolean", "Keep the schedule's files"),
    tag="exports",
    responses=(200, 401, 404),
)
@bp.delete(ID)
@require_key
def remove_schedule(schedule_id: int) -> Response:
    keep = request.args.get("keep_files", "").lower() in ("1", "true", "yes", "on")
    removed = delete_schedule(services(), schedule_id, keep_files=keep)
    return json_response({"deleted": schedule_id, "files_removed": removed})


@doc(
    "POST",
    ID + "/run",
    "Run an export schedule now; answers the CSV file written",
    tag="exports",
    responses=(200, 400, 401, 404),
    produces=("text/csv",),
)
@bp.post(ID + "/run")
@require_key
def run_schedule(schedule_id: int) -> Response:
    written = run_now(services(), schedule_id)
    response = send_file(
        written.path, mimetype="text/csv", as_attachment=True, download_name=written.path.name, max_age=0
    )
    response.headers["X-Export-Rows"] = str(written.rows)
    response.headers["X-Export-File"] = f"{written.path.parent.name}/{written.path.name}"
    return response


@doc(
    "GET",
    "/api/exports/files",
    "Export files, newest first: schedule, name, size, created",
    Param("schedule", description="Only this schedule's files (its slug)"),
    tag="exports",
)
@bp.get("/api/exports/files")
def list_files() -> Response:
    files = exports.list_files(services().settings.exports_dir)
    wanted = request.args.get("schedule")
    if wanted:
        files = [f for f in files if f["schedule"] == wanted]
    for f in files:
        f["url"] = f"/api/exports/files/{f['schedule']}/{f['name']}"
    return json_response({"files": files})


@doc(
    "GET",
    "/api/exports/files/<schedule>/<filename>",
    "Download an export file",
    tag="exports",
    responses=(200, 404),
    produces=("text/csv",),
)
@bp.get("/api/exports/files/<schedule>/<filename>")
def download(schedule: str, filename: str) -> Response:
    path = exports.file_path(services().settings.exports_dir, schedule, filename)
    if path is None:
        raise ApiError(404, "no such export file")
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=path.name, max_age=0)
