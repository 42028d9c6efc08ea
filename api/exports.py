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

The routes call ``jobs.export_schedules``, as the Exports page does, so both
validate the same way: a bad cron, an interval under 60 s or a bad query
parameter is a 400 naming the field.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from api.ingest import services
from data import schedules
from jobs import export_schedules as svc
from jobs import exports
from web.docs import Param, doc
from web.http import ApiError, json_response, read_json, require_key

bp = Blueprint("exports", __name__)


ID = "/api/exports/schedules/<id:schedule_id>"


@doc("GET", "/api/exports/schedules", "Export schedules", tag="exports")
@bp.get("/api/exports/schedules")
def list_schedules() -> Response:
    with services().db.read() as conn:
        rows = schedules.list_schedules(conn)
    return json_response({"schedules": [svc.schedule_json(r) for r in rows]})


@doc(
    "POST",
    "/api/exports/schedules",
    "Create an export schedule (cron or interval) of a saved Explore query",
    body=svc.ScheduleIn,
    tag="exports",
    responses=(201, 400, 401, 409, 415),
)
@bp.post("/api/exports/schedules")
@require_key
def post_schedule() -> Response:
    return json_response(svc.schedule_json(svc.save_schedule(services(), read_json())), 201)


@doc("GET", ID, "One export schedule", tag="exports", responses=(200, 404))
@bp.get(ID)
def get_schedule(schedule_id: int) -> Response:
    return json_response(svc.schedule_json(svc.get_schedule(services(), schedule_id)))


@doc(
    "PUT",
    ID,
    "Change an export schedule (the fields given)",
    body=svc.ScheduleIn,
    tag="exports",
    responses=(200, 400, 401, 404, 409, 415),
)
@bp.put(ID)
@require_key
def put_schedule(schedule_id: int) -> Response:
    return json_response(svc.schedule_json(svc.save_schedule(services(), read_json(), schedule_id)))


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
    removed = svc.delete_schedule(services(), schedule_id, keep_files=keep)
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
    try:
        written = svc.run_now(services(), schedule_id)
    except OSError as exc:
        raise ApiError(500, f"cannot write the export file: {exc.strerror or exc}") from None
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
