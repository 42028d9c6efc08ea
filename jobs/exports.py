"""Scheduled CSV exports: a saved Explore query resolved at run time, written
to ``<exports-dir>/<slug>/<slug>-<UTC time>.csv`` in constant memory, the
newest ``keep`` files kept; when each schedule is due (cron or interval).

A saved query is the Explore page's URL parameters (``window``, ``metric``,
``group_by``, filters...), validated exactly as ``GET /api/query`` validates
them. ``mode=events`` exports the matching raw events instead of the
aggregated rows. Relative windows end at the run's time.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from core.durations import MAX_WINDOW
from core.errors import DomainError, InvalidInput
from core.query import PARAMETERS, parse_query
from data import schedules
from data.db import Database
from data.export import csv_lines
from data.queries import EVENT_FIELDS
from jobs.due import next_run
from reports import explore

log = logging.getLogger(__name__)

MODES = ("aggregate", "events")
# Explore's view-only parameters: accepted in a pasted URL, ignored by the export.
VIEW_ONLY = ("chart", "overlays")
# The dashboard's time bar in a pasted address: its range as the query's, refresh and pause dropped.
BAR_KEYS = {"range": "window", "from": "since", "to": "until"}
BAR_ONLY = ("refresh", "paused")
QUERY_KEYS = PARAMETERS
# A run this late after its due time (the server was down) exports the window ending now instead.
GRACE = timedelta(minutes=5)
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
FILE = re.compile(r"^(?P<slug>[a-z0-9-]+)-(?P<ts>\d{8}T\d{6}Z)(?:-(?P<n>\d{1,4}))?\.csv$")


class ExportError(DomainError, ValueError):
    """A saved query that cannot run; the message names the parameter."""


@dataclasses.dataclass(frozen=True)
class Resolved:
    query: explore.Query
    events: bool  # raw events rather than the aggregated Explore rows


@dataclasses.dataclass(frozen=True)
class Written:
    path: Path
    rows: int


# ----------------------------------------------------------- saved queries


def query_params(text: str | Mapping[str, Any]) -> dict[str, str]:
    """A saved query from an Explore URL, its query string, or a mapping.

    >>> query_params("http://host/explore?window=6h&source=web&chart=bar")
    {'window': '6h', 'source': 'web', 'chart': 'bar'}
    >>> query_params({"window": "24h", "source": ["a", "b"], "bucket": ""})
    {'window': '24h', 'source': 'a,b'}

    The time bar's parameters of a pasted address become the query's own
    (``range`` -> ``window``, ``from``/``to`` -> ``since``/``until``); its
    refresh and pause do not belong to a saved query:

    >>> query_params("/explore?range=6h&metric=sum&refresh=off&paused=1")
    {'window': '6h', 'metric': 'sum'}
    """
    if isinstance(text, str):
        raw = text.strip()
        if "?" in raw or raw.startswith(("http://", "https://", "/")):
            raw = urlsplit(raw).query
        pairs: Iterable[tuple[str, Any]] = parse_qsl(raw, keep_blank_values=True)
    else:
        pairs = text.items()
    out: dict[str, str] = {}
    for key, value in pairs:
        value = (
            ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else "" if value is None else str(value)
        )
        # A blank known parameter means its default; an unknown one is kept, so that it is reported.
        key = str(key).strip()
        if key in BAR_ONLY:
            continue
        key = BAR_KEYS.get(key, key)
        if value.strip() or key not in (*QUERY_KEYS, *VIEW_ONLY, "mode"):
            out[key] = value.strip()
    return out


def resolve(params: Mapping[str, str], now: datetime, settings: Any = None) -> Resolved:
    """The saved query as an Explore query whose relative window ends at ``now``
    (``settings.max_query_days`` bounds the query as it bounds the server's;
    400 days otherwise), parsed exactly as ``GET /api/query`` parses it."""
    for key in params:
        if key not in (*QUERY_KEYS, *VIEW_ONLY, "mode"):
            raise ExportError(f"parameter '{key}': not a query parameter (use {', '.join(QUERY_KEYS)} or mode)")
    mode = params.get("mode", "aggregate")
    if mode not in MODES:
        raise ExportError(f"parameter 'mode': must be one of {', '.join(MODES)}, got {mode!r}")
    args = {k: v for k, v in params.items() if k in QUERY_KEYS and not (k == "group_by" and v == "none")}
    longest = timedelta(days=settings.max_query_days) if settings is not None else MAX_WINDOW
    try:
        q = parse_query(args, now=now, longest=longest)
    except InvalidInput as exc:
        raise ExportError(str(exc)) from None
    if "until" not in args:
        q = dataclasses.replace(q, since=now - (q.until - q.since) if "since" not in args else q.since, until=now)
        if q.since >= q.until:
            raise ExportError("parameter 'since': must be before the run's time")
    return Resolved(q, mode == "events")


# ------------------------------------------------------------------ CSV


def _counted(chunks: Iterable[list[dict[str, Any]]], counter: list[int]) -> Iterator[list[dict[str, Any]]]:
    for rows in chunks:
        counter[0] += len(rows)
        yield rows


def _attr_filtered(chunks: Iterable[list[dict[str, Any]]], q: explore.Query) -> Iterator[list[dict[str, Any]]]:
    for rows in chunks:
        yield (
            [r for r in rows if explore.attr_match(r.get("attrs"), q.attr_key or "", q.attr_value)]
            if q.attr_key
            else rows
        )


def write_csv(db: Database, resolved: Resolved, out: IO[str]) -> int:
    """Stream the export into ``out``; the number of data rows."""
    q = resolved.query
    counter = [0]
    with db.replica() as conn:
        if resolved.events:
            columns: list[str] = list(EVENT_FIELDS)
            chunks: Iterable[list[dict[str, Any]]] = _attr_filtered(
                schedules.event_chunks(conn, since=q.since, until=q.until, filters=q.filters), q
            )
        else:
            df = explore.answer(conn, q)
            columns, chunks = list(df.columns), explore.iter_records(df)
        for text in csv_lines(columns, _counted(chunks, counter)):
            out.write(text)
    return counter[0]


def write_file(db: Database, resolved: Resolved, path: Path) -> int:
    """Write the export beside ``path`` and rename it into place: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}-{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask decides who may read it
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            rows = write_csv(db, resolved, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rows


# ------------------------------------------------------------- files


def slugify(name: str) -> str:
    """A schedule's folder name.

    >>> slugify("Daily sources (EU) — v2")
    'daily-sources-eu-v2'
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:80].strip("-")
    return slug or "export"


def _stamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def new_file_path(folder: Path, slug: str, now: datetime) -> Path:
    path = folder / f"{slug}-{_stamp(now)}.csv"
    n = 1
    while path.exists():  # two runs in one second
        path = folder / f"{slug}-{_stamp(now)}-{n}.csv"
        n += 1
    return path


def _files(folder: Path, slug: str) -> list[tuple[tuple[str, int], Path]]:
    out = []
    if folder.is_dir():
        for path in folder.iterdir():
            m = FILE.match(path.name)
            if m and m.group("slug") == slug and path.is_file():
                out.append(((m.group("ts"), int(m.group("n") or 0)), path))
    return sorted(out)


def retain(folder: Path, slug: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` export files of a schedule; the removed paths."""
    files = [p for _, p in _files(folder, slug)]
    removed = files[: max(len(files) - keep, 0)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def list_files(exports_dir: Path) -> list[dict[str, Any]]:
    """Every export file, newest first: schedule (folder), name, size, created (UTC, from the name)."""
    out = []
    if exports_dir.is_dir():
        for folder in exports_dir.iterdir():
            if not folder.is_dir() or not SLUG.match(folder.name):
                continue
            for (ts, _n), path in _files(folder, folder.name):
                created = datetime.strptime(ts, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                out.append(
                    {
                        "schedule": folder.name,
                        "name": path.name,
                        "size": path.stat().st_size,
                        "created": created.isoformat(),
                    }
                )
    return sorted(out, key=lambda f: (f["created"], f["name"]), reverse=True)


def file_path(exports_dir: Path, schedule: str, filename: str) -> Path | None:
    """The export file for a download, or None: only names this module writes,
    only inside the exports directory (no traversal, no symlinks out)."""
    m = FILE.match(filename)
    if not SLUG.match(schedule) or not m or m.group("slug") != schedule:
        return None
    root = exports_dir.resolve()
    path = (root / schedule / filename).resolve()
    if path.parent != root / schedule or not path.is_file():
        return None
    return path


def remove_files(exports_dir: Path, slug: str) -> int:
    folder = exports_dir / slug
    files = [p for _, p in _files(folder, slug)] if SLUG.match(slug) else []
    for path in files:
        path.unlink(missing_ok=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return len(files)


# --------------------------------------------------------------- runs


def run_schedule(
    db: Database, exports_dir: Path, schedule: Mapping[str, Any], *, now: datetime, settings: Any = None
) -> Written:
    """Write one export of a schedule at ``now`` and keep its newest files.
    The outcome is recorded on the schedule; a failure is re-raised."""
    folder = exports_dir / schedule["slug"]
    try:
        resolved = resolve(query_params(schedule["query"]), now, settings)
        path = new_file_path(folder, schedule["slug"], now)
        rows = write_file(db, resolved, path)
        retain(folder, schedule["slug"], int(schedule["keep"]))
    except Exception as exc:
        with db.write() as conn:
            schedules.mark_run(
                conn, schedule["id"], ran_at=now, file=None, rows=None, error=str(exc) or type(exc).__name__
            )
        raise
    with db.write() as conn:
        schedules.mark_run(conn, schedule["id"], ran_at=now, file=path.name, rows=rows, error=None)
    log.info("export %s: %d rows to %s", schedule["name"], rows, path)
    return Written(path, rows)


def run_due(
    db: Database,
    exports_dir: Path,
    *,
    now: datetime,
    settings: Any = None,
    after: Callable[[dict[str, Any], Written, datetime], Any] | None = None,
) -> list[Written]:
    """Run every enabled schedule that is due at ``now`` (once, however late);
    ``after(schedule, written, when)`` follows each run that wrote its file
    (the report of a schedule with recipients)."""
    with db.read() as conn:
        due = schedules.due_schedules(conn, now)
    done = []
    for s in due:
        following = next_run(s["cron"], s["interval_seconds"], after=now, anchor=s["next_run_at"])
        with db.write() as conn:
            if not schedules.claim_run(conn, s["id"], s["next_run_at"], following):
                continue
        when = s["next_run_at"] if now - s["next_run_at"] <= GRACE else now
        try:
            written = run_schedule(db, exports_dir, s, now=when, settings=settings)
        except Exception:  # recorded on the schedule; the others still run
            log.exception("scheduled export %s failed", s["name"])
            continue
        done.append(written)
        if after is not None:
            try:
                after(s, written, when)
            except Exception:  # the file is written; the report is logged as failed
                log.exception("report of schedule %s failed", s["name"])
    return done


# ----------------------------------------------------------------- CLI


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--query",
        dest="export_query",
        required=True,
        metavar="QUERY",
        help="Explore parameters as a query string (as GET /api/query takes them) or an Explore URL, "
        "e.g. 'window=24h&metric=count&group_by=source'; mode=events for raw events",
    )
    parser.add_argument(
        "--out", dest="export_out", required=True, metavar="FILE", help="CSV file to write ('-' for stdout)"
    )


def run_cli(args: Any, settings: Any) -> int:
    """``python app.py export``: 0 written, 2 bad query (nothing written), 1 failed."""
    import sys

    now = datetime.now(timezone.utc)
    try:
        resolved = resolve(query_params(args.export_query), now, settings)
    except ExportError as exc:
        print(f"pulseboard export: {exc}", file=sys.stderr)
        return 2
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous, read_url=settings.db_read)
    try:
        db.migrate()
        if args.export_out == "-":
            rows = write_csv(db, resolved, sys.stdout)
            sys.stdout.flush()
        else:
            rows = write_file(db, resolved, Path(args.export_out))
            print(f"{rows} rows written to {args.export_out}", file=sys.stderr)
    except explore.QueryTooLarge as exc:
        print(f"pulseboard export: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pulseboard export: cannot write {args.export_out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0
