"""Boards over HTTP: everything under ``/api/boards`` and ``/api/annotations``.

| route                                              | what                                           |
|----------------------------------------------------|------------------------------------------------|
| GET    /api/boards                                 | list (?tag= ?q= ?starred=1)                     |
| POST   /api/boards                                 | create from JSON or YAML (application/yaml)     |
| GET    /api/boards/<uid>                           | one board (?format=yaml: its YAML document)     |
| PUT    /api/boards/<uid>                           | save the whole board, naming the version edited |
| DELETE /api/boards/<uid>                           | delete                                          |
| POST   /api/boards/<uid>/duplicate                 | copy under a new uid and title                  |
| GET    /api/boards/<uid>/versions                  | saved versions, newest first                    |
| POST   /api/boards/<uid>/versions/<n>/restore      | a new version with the document of version n    |
| POST   /api/boards/<uid>/star, DELETE same         | star, unstar (for the signed-in user)           |
| GET    /api/boards/<uid>/shares, POST same         | read-only links (admin)                         |
| DELETE /api/boards/<uid>/shares/<token>            | revoke a link (admin)                           |
| GET    /api/boards/<uid>/annotations, POST same    | notes on the board's time series                |
| DELETE /api/annotations/<id>                       | delete a note                                   |
| GET    /api/boards/<uid>/panels/<id>/data          | the panel's query answered as GET /api/query    |

Who may write: with sign-in on, any signed-in user creates boards and
changes those they own; an admin changes any. Share links are for admins
(``auth.policy``). A provisioned board (from a file of the boards
directory) is read-only here: 403 on PUT, DELETE and restore.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request
from pydantic import Field

from api.ingest import services
from api.query import answer, parse_query
from auth.policy import current_role, current_user
from auth.share import link as share_link
from core import boards as schema
from core.errors import InvalidInput, NotFound
from data import boards as store
from web import params as p
from web.docs import SINCE, UNTIL, WINDOW, Param, doc
from web.http import MAX_ID, ApiError, is_yaml, json_response, parse_json, presented_key, read_body

bp = Blueprint("boards", __name__)

BOARD = "/api/boards/<uid>"
YAML_MIMETYPE = "application/yaml"
MAX_DUPLICATE_TRIES = 50


F = TypeVar("F", bound=Callable[..., Any])


def require_key(view: F) -> F:
    """With sign-in off and API keys configured, a write needs a key (as every
    write route does); with sign-in on the policy has let a user or a key in,
    and the view decides by owner and role."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _auth_on() and current_app.config["PULSE_API_KEYS"] and presented_key() is None:
            raise ApiError(401, "a valid API key is required: send 'Authorization: Bearer <key>'")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# ------------------------------------------------------------------ helpers


def _now() -> Any:
    return services().now()


def _auth_on() -> bool:
    return bool(current_app.config.get("PULSE_AUTH"))


def _user() -> str | None:
    """Who acts: the signed-in user, or None (sign-in off, or an API key)."""
    return current_user()


def _star_user() -> str:
    """Whose stars: the signed-in user's; with sign-in off everyone shares one set."""
    if not _auth_on():
        return ""
    user = _user()
    if user is None:
        raise ApiError(403, "stars belong to a signed-in user; an API key has none")
    return user


def _require_writer() -> None:
    """With sign-in on, boards are written by signed-in users, not API keys."""
    if _auth_on() and current_role() not in ("admin", "viewer"):
        raise ApiError(403, "API keys may read boards; changing one needs a signed-in user")


def _may_change(found: store.StoredBoard) -> bool:
    return found.changeable_by(current_role(), _user())


def _require_change(found: store.StoredBoard, *, document: bool = True) -> None:
    """Refuse a change of ``found`` the caller may not make; ``document``: a
    change of the board itself (refused on a provisioned board)."""
    _require_writer()
    if not _may_change(found):
        owner = f"its owner ({found.owner})" if found.owner else "an admin"
        raise ApiError(403, f"only {owner} or an admin may change board {found.uid!r}")
    if document and found.provisioned:
        raise ApiError(403, f"provisioned from {found.source_file}; edit the file")


def _get(uid: str) -> store.StoredBoard:
    with services().db.read() as conn:
        found = store.get_board(conn, uid)
    if found is None:
        raise NotFound(f"no board {uid!r}")
    return found


def _starred(found: store.StoredBoard) -> bool:
    try:
        user = _star_user()
    except ApiError:
        return False
    with services().db.read() as conn:
        return found.id in store.starred_ids(conn, user)


def board_json(found: store.StoredBoard, *, starred: bool | None = None) -> dict[str, Any]:
    """A stored board as the API answers it: what the table keeps, and the document under ``board``."""
    return {
        **found.summary(),
        "source_file": found.source_file,
        "starred": _starred(found) if starred is None else starred,
        "can_edit": _may_change(found) and not found.provisioned and (not _auth_on() or _user() is not None),
        "board": schema.board_to_dict(found.board),
    }


def _read_document() -> Any:
    """The body as data: JSON, or YAML with ``Content-Type: application/yaml``."""
    raw = read_body(yaml=True)
    if len(raw) > schema.MAX_DOCUMENT_BYTES:
        raise ApiError(413, f"a board document is at most {schema.MAX_DOCUMENT_BYTES // 1024} KB")
    if not is_yaml():
        return parse_json(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the YAML body is not valid UTF-8") from None
    return schema.load_yaml(text)


def _optional_json() -> dict[str, Any]:
    if not request.get_data(cache=True).strip():
        return {}
    data = parse_json(read_body())
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


class BoardSave(schema.Board):
    """What ``PUT /api/boards/<uid>`` takes: the board's document and the version it was edited from."""

    version: int = Field(ge=1, le=MAX_ID)


def _version_of(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput("version", "the version of the board you edited (an integer from GET), e.g. 3")
    return value


# ------------------------------------------------------------------- boards


@doc(
    "GET",
    "/api/boards",
    "Boards, by title",
    Param("tag", description="Only boards with this tag"),
    Param("q", description="Only boards whose uid, title or description holds this text (any case)"),
    Param("starred", "boolean", "Only the boards the signed-in user starred"),
    tag="boards",
)
@bp.get("/api/boards")
def list_boards() -> Response:
    tag, search = p.arg("tag"), p.arg("q")
    starred_only = p.bool_arg("starred")
    user = _star_user() if starred_only else None
    with services().db.read() as conn:
        found = store.list_boards(conn, tag=tag, search=search, starred_by=user)
        try:
            stars = store.starred_ids(conn, _star_user())
        except ApiError:
            stars = set()
    return json_response({"boards": [{**b.summary(), "starred": b.id in stars} for b in found]})


@doc(
    "POST",
    "/api/boards",
    "Create a board from its document, as JSON or YAML (Content-Type: application/yaml)",
    body=schema.Board,
    tag="boards",
    responses=(201, 400, 401, 403, 409),
)
@bp.post("/api/boards")
@require_key
def create_board() -> Response:
    _require_writer()
    board = schema.parse_board(_read_document(), now=_now())
    with services().db.write() as conn:
        made = store.create_board(conn, board, owner=_user(), now=_now())
    return json_response(board_json(made, starred=False), 201, headers={"Location": f"/api/boards/{made.uid}"})


@doc(
    "GET",
    BOARD,
    "One board: what is stored of it, and its document under 'board' (?format=yaml: the YAML document)",
    Param("format", enum=("json", "yaml"), description="yaml: answer the board's YAML document (an export)"),
    tag="boards",
    responses=(200, 404),
    produces=("application/json", YAML_MIMETYPE),
)
@bp.get(BOARD)
def get_board(uid: str) -> Response:
    found = _get(uid)
    fmt = p.choice_arg("format", "json", ("json", "yaml"))
    if fmt == "yaml":
        headers = {"Content-Disposition": f'inline; filename="{uid}.yaml"'}
        return Response(schema.board_to_yaml(found.board), mimetype=YAML_MIMETYPE, headers=headers)
    return json_response(board_json(found))


@doc(
    "PUT",
    BOARD,
    "Save the whole board: its document with 'version' (the version edited), "
    "or {'version': n, 'board': {...}}; 409 when saved by someone else since",
    body=BoardSave,
    tag="boards",
    responses=(200, 400, 401, 403, 404, 409),
)
@bp.put(BOARD)
@require_key
def put_board(uid: str) -> Response:
    data = _read_document()
    if not isinstance(data, dict):
        raise InvalidInput("(board)", "send the board's document with its 'version'")
    data = dict(data)
    version = _version_of(data.pop("version", None))
    document = data["board"] if isinstance(data.get("board"), dict) else data
    current = _get(uid)
    _require_change(current)
    board = schema.parse_board({"uid": uid, **document}, now=_now())
    with services().db.write() as conn:
        saved = store.update_board(conn, uid, board, expected_version=version, author=_user(), now=_now())
    return json_response(board_json(saved))


@doc("DELETE", BOARD, "Delete a board", tag="boards", responses=(200, 401, 403, 404))
@bp.delete(BOARD)
@require_key
def delete_board(uid: str) -> Response:
    _require_change(_get(uid))
    with services().db.write() as conn:
        if not store.delete_board(conn, uid):
            raise NotFound(f"no board {uid!r}")
    return json_response({"deleted": uid})


@doc(
    "POST",
    BOARD + "/duplicate",
    "Copy a board under a new uid and title (body, optional: {'uid': ..., 'title': ...})",
    tag="boards",
    responses=(201, 400, 401, 403, 404, 409),
)
@bp.post(BOARD + "/duplicate")
@require_key
def duplicate_board(uid: str) -> Response:
    _require_writer()
    original = _get(uid)
    body = _optional_json()
    new_title = body.get("title", f"{original.title} (copy)")
    new_uid = body.get("uid")
    for name, value in (("uid", new_uid), ("title", new_title)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(name, "expected a string")
    with services().db.write() as conn:
        if new_uid is None:
            new_uid = store.free_uid(conn, f"{uid}-copy", tries=MAX_DUPLICATE_TRIES)
            if new_uid is None:
                raise InvalidInput("uid", "give the copy a uid")
        made = store.duplicate_board(conn, uid, new_uid=new_uid, new_title=new_title, owner=_user(), now=_now())
    return json_response(board_json(made, starred=False), 201, headers={"Location": f"/api/boards/{made.uid}"})


# ----------------------------------------------------------------- versions


@doc("GET", BOARD + "/versions", "Saved versions of a board, newest first", tag="boards", responses=(200, 404))
@bp.get(BOARD + "/versions")
def list_versions(uid: str) -> Response:
    with services().db.read() as conn:
        versions = store.list_versions(conn, uid)
    return json_response({"uid": uid, "versions": [v | {"created_at": v["created_at"].isoformat()} for v in versions]})


@doc(
    "POST",
    BOARD + "/versions/<id:version>/restore",
    "Restore a version: a new version with its document",
    tag="boards",
    responses=(200, 401, 403, 404),
)
@bp.post(BOARD + "/versions/<id:version>/restore")
@require_key
def restore_version(uid: str, version: int) -> Response:
    _require_change(_get(uid))
    with services().db.write() as conn:
        saved = store.restore_version(conn, uid, version, author=_user(), now=_now())
    return json_response(board_json(saved))


# -------------------------------------------------------------------- stars


@doc("POST", BOARD + "/star", "Star a board (for the signed-in user)", tag="boards", responses=(200, 401, 403, 404))
@bp.post(BOARD + "/star")
@require_key
def star(uid: str) -> Response:
    with services().db.write() as conn:
        store.star(conn, uid, _star_user())
    return json_response({"uid": uid, "starred": True})


@doc("DELETE", BOARD + "/star", "Unstar a board", tag="boards", responses=(200, 401, 403, 404))
@bp.delete(BOARD + "/star")
@require_key
def unstar(uid: str) -> Response:
    with services().db.write() as conn:
        store.unstar(conn, uid, _star_user())
    return json_response({"uid": uid, "starred": False})


# ------------------------------------------------------------------- shares


def _share_json(uid: str, share: dict[str, Any]) -> dict[str, Any]:
    revoked = share.get("revoked_at")
    return {
        "token": share["token"],
        "url": share_link(uid, share["token"]),
        "created_by": share["created_by"],
        "created_at": share["created_at"].isoformat(),
        "revoked_at": revoked.isoformat() if revoked else None,
    }


@doc("GET", BOARD + "/shares", "A board's read-only links (admin)", tag="boards", responses=(200, 401, 403, 404))
@bp.get(BOARD + "/shares")
def list_shares(uid: str) -> Response:
    with services().db.read() as conn:
        shares = store.list_shares(conn, uid)
    return json_response({"uid": uid, "shares": [_share_json(uid, s) for s in shares]})


@doc(
    "POST",
    BOARD + "/shares",
    "Make a read-only link to a board (admin): its token and URL",
    tag="boards",
    responses=(201, 401, 403, 404),
)
@bp.post(BOARD + "/shares")
@require_key
def create_share(uid: str) -> Response:
    with services().db.write() as conn:
        share = store.create_share(conn, uid, created_by=_user(), now=_now())
    return json_response(_share_json(uid, share), 201)


@doc(
    "DELETE",
    BOARD + "/shares/<token>",
    "Revoke a read-only link (admin)",
    tag="boards",
    responses=(200, 401, 403, 404),
)
@bp.delete(BOARD + "/shares/<token>")
@require_key
def revoke_share(uid: str, token: str) -> Response:
    with services().db.write() as conn:
        if not store.revoke_share(conn, uid, token, now=_now()):
            raise NotFound(f"board {uid!r} has no active link with this token")
    return json_response({"uid": uid, "revoked": token})


# -------------------------------------------------------------- annotations


def _note_json(note: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": note["id"],
        "board": note["board"],
        "ts": note["ts"].isoformat(),
        "ts_end": note["ts_end"].isoformat() if note["ts_end"] else None,
        "text": note["text"],
        "tags": list(note["tags"] or []),
        "author": note["author"],
        "created_at": note["created_at"].isoformat(),
    }


@doc(
    "GET",
    BOARD + "/annotations",
    "Notes on a board and on every board in a time range (default: the board's)",
    WINDOW,
    SINCE,
    UNTIL,
    tag="boards",
    responses=(200, 400, 404),
)
@bp.get(BOARD + "/annotations")
def list_annotations(uid: str) -> Response:
    found = _get(uid)
    now = _now()
    if any(request.args.get(k) for k in ("window", "since", "until")):
        since, until = p.time_range(now, timedelta(hours=24))
    else:
        since, until = schema.time_bounds(found.board, now)
    with services().db.read() as conn:
        notes = store.list_annotations(conn, uid, since=since, until=until)
    return json_response(
        {
            "uid": uid,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "annotations": [_note_json(n) for n in notes],
        }
    )


@doc(
    "POST",
    BOARD + "/annotations",
    "Add a note at ts (to ts_end); all_boards: on every board (admin)",
    body=schema.AnnotationIn,
    tag="boards",
    responses=(201, 400, 401, 403, 404),
)
@bp.post(BOARD + "/annotations")
@require_key
def add_annotation(uid: str) -> Response:
    found = _get(uid)
    note = schema.parse_annotation(parse_json(read_body()))
    _require_change(found, document=False)
    if note.all_boards and current_role() != "admin":
        raise ApiError(403, "a note on every board needs the admin role")
    with services().db.write() as conn:
        made = store.add_annotation(
            conn,
            uid=None if note.all_boards else uid,
            ts=note.ts,
            ts_end=note.ts_end,
            text=note.text,
            tags=list(note.tags),
            author=_user(),
            now=_now(),
        )
    return json_response(_note_json(made), 201)


@doc(
    "DELETE",
    "/api/annotations/<id:annotation_id>",
    "Delete a note (its author, its board's owner, or an admin)",
    tag="boards",
    responses=(200, 401, 403, 404),
)
@bp.delete("/api/annotations/<id:annotation_id>")
@require_key
def delete_annotation(annotation_id: int) -> Response:
    with services().db.read() as conn:
        note = store.get_annotation(conn, annotation_id)
    if note is None:
        raise NotFound(f"no annotation {annotation_id}")
    _require_writer()
    by_author = note["author"] is not None and note["author"] == _user()
    of_owner = note["board"] is not None and _may_change(_get(note["board"]))
    if not (by_author or of_owner or current_role() == "admin"):
        raise ApiError(403, "only its author, its board's owner or an admin may delete this note")
    with services().db.write() as conn:
        store.delete_annotation(conn, annotation_id)
    return json_response({"deleted": annotation_id})


# --------------------------------------------------------------- panel data


@doc(
    "GET",
    BOARD + "/panels/<panel_id>/data",
    "A panel's query, with the board's variables (var.<name>=...) and time range (range, or from and to), "
    "answered as GET /api/query answers it",
    Param(
        "var.<name>",
        description="The value of the board variable <name> (empty: all; several, comma separated, for a multi-select one)",
    ),
    Param("range", description="The page's relative range instead of the board's, e.g. 6h"),
    Param("from", description="Start of the page's absolute range (ISO 8601), with to"),
    Param("to", description="End of the page's absolute range (ISO 8601), with from"),
    tag="boards",
    responses=(200, 400, 404),
)
@bp.get(BOARD + "/panels/<panel_id>/data")
def panel_data(uid: str, panel_id: str) -> Response:
    found = _get(uid)
    panel = found.board.panel(panel_id)
    if panel is None:
        raise NotFound(f"board {uid!r} has no panel {panel_id!r}")
    values = {k[4:]: v for k, v in request.args.items() if k.startswith("var.")}
    page_time = {k: request.args[k] for k in ("range", "from", "to") if request.args.get(k)}
    params = schema.resolve_query(panel, found.board, values, time=page_time or None)
    return json_response(answer(parse_query(params)))
