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

import hmac
from typing import Any

from flask import Blueprint, Response, render_template_string, request, send_file

from api.ingest import services
from data import schedules
from jobs import export_schedules as svc
from jobs import exports
from jobs.reports import UNSUBSCRIBE_PATH, unsubscribe_signature
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


# -------------------------------------------------------- unsubscribing

UNSUBSCRIBE_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>Report e-mail · Pulseboard</title>
  <link rel="stylesheet" href="/assets/00-bootstrap-5.3.9.min.css">
  <style>body { min-height: 100vh; display: flex; align-items: center; justify-content: center;
    background: var(--bs-tertiary-bg); } main { width: 100%; max-width: 440px; }</style>
</head>
<body>
  <main class="p-3"><div class="card shadow-sm"><div class="card-body p-4">
    <h1 class="h5 mb-3"><span class="text-primary me-2">●</span>Pulseboard</h1>
    <p id="unsubscribe-message">{{ message }}</p>
    {% if ask %}
    <form method="post" action="{{ path }}">
      <input type="hidden" name="s" value="{{ s }}"><input type="hidden" name="to" value="{{ to }}">
      <input type="hidden" name="sig" value="{{ sig }}">
      <button class="btn btn-primary" type="submit">Stop sending it to me</button>
    </form>
    {% endif %}
  </div></div></main>
</body>
</html>
"""


def _unsubscribe_page(message: str, status: int = 200, **form: Any) -> Response:
    body = render_template_string(UNSUBSCRIBE_PAGE, message=message, ask=bool(form), path=UNSUBSCRIBE_PATH, **form)
    return Response(body, status, mimetype="text/html")


@bp.route(UNSUBSCRIBE_PATH, methods=["GET", "POST"])
def unsubscribe() -> Response:
    """A report mail's link: GET asks, POST takes the address off the schedule
    (a mail scanner that follows links unsubscribes no one). The signature
    (jobs.reports) proves the link came in that mail."""
    form = request.form if request.method == "POST" else request.args
    raw_id, recipient, sig = form.get("s", ""), form.get("to", "").strip(), form.get("sig", "")
    svc = services()
    valid = raw_id.isdigit() and hmac.compare_digest(
        sig, unsubscribe_signature(svc.signing_key, int(raw_id or 0), recipient)
    )
    if not valid:
        return _unsubscribe_page("This link is not valid: use the one in the report's e-mail as it is.", 400)
    schedule_id = int(raw_id)
    with svc.db.read() as conn:
        row = schedules.get_schedule(conn, schedule_id)
    listed = [a for a in (row or {}).get("recipients") or [] if a.lower() != recipient.lower()]
    if row is None or len(listed) == len(row.get("recipients") or []):
        return _unsubscribe_page(f"{recipient} does not get this report (any more).")
    if request.method == "GET":
        return _unsubscribe_page(
            f"Stop sending the report \u201c{row['name']}\u201d to {recipient}?", s=raw_id, to=recipient, sig=sig
        )
    with svc.db.write() as conn:
        schedules.update_schedule(conn, schedule_id, {"recipients": listed or None})
    return _unsubscribe_page(f"Done: the report \u201c{row['name']}\u201d is no longer sent to {recipient}.")
