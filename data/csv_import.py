"""Importing a CSV file as events: the macro-sessions tool's ``master_stats.csv``
(its fallback when the service was down), a client spool export, or any CSV
with a column mapping.

    python app.py import FILE.csv --source NAME [--map COLUMN=FIELD ...] [--strict] [--tz ZONE] [--type TYPE]

Columns map to event fields: by default a column named like a field is that
field, the macro-sessions tool's columns have their own defaults
(:data:`MASTER_STATS_MAPPING`), ``--map col=field`` adds or overrides
(``col=attrs.name`` puts it in attrs, ``col=-`` drops it), and every other
column lands in ``attrs`` under its own name. Rows are validated by the API's
own event schema: a bad row is reported with its line number and skipped, or
with ``strict`` the whole import stores nothing. Every row gets a ``uid``
(unless a column gives one): a hash of the source, the line number and the
row's cells, so importing the same file again stores nothing twice.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import re
import sys
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from core.schemas import EventIn, field_errors
from data.db import Database
from data.ingest import EVENT_COLUMNS, ingest

BATCH = 1000
DROP = "-"
EVENT_FIELDS = frozenset(EVENT_COLUMNS)
MASTER_STATS_MAPPING = {
    "timestamp": "ts",
    "session_id": "session_id",
    "username": "user",
    "user": "user",
    "button_key": "entity",
    "execution_time_ms": "duration_ms",
    "total_boxes": "value",
    "interaction_type": "type",
    "execution_type": "type",
}
MASTER_STATS_TYPE = "macro_execution"  # what POST /ingest/interaction stores for the same data
DEFAULT_TYPE = "csv_row"
_COMPACT_TS = re.compile(r"^\d{14}$")  # AutoHotkey's A_Now: YYYYMMDDHHMMSS


class CsvImportError(ValueError):
    """The file cannot be imported at all (missing, no header, a bad mapping)."""


@dataclasses.dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclasses.dataclass
class ImportReport:
    path: str
    source: str
    rows: int = 0  # data rows read
    stored: int = 0
    duplicates: int = 0
    errors: list[RowError] = dataclasses.field(default_factory=list)
    aborted: bool = False  # strict and bad rows: nothing stored

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})

    def summary(self) -> str:
        head = f"{self.path}: {self.rows} rows, {self.stored} stored, {self.duplicates} already stored"
        if self.aborted:
            head += f"; {len(self.bad_lines)} bad rows, nothing stored (strict)"
        elif self.errors:
            head += f", {len(self.bad_lines)} bad rows skipped"
        return "\n".join(
            [head, *(f"  {e}" for e in self.errors[:100])]
            + ([f"  ... {len(self.errors) - 100} more"] if len(self.errors) > 100 else [])
        )


def resolve_mapping(header: Sequence[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Column -> field for every column: defaults, then ``mapping``, the rest to ``attrs.<column>``.

    >>> resolve_mapping(["timestamp", "button_key", "note"], {"note": "message"})
    {'timestamp': 'ts', 'button_key': 'entity', 'note': 'message'}
    """
    plan: dict[str, str] = {}
    for column in header:
        key = column.strip()
        if key in EVENT_FIELDS:
            plan[column] = key
        elif key.lower() in MASTER_STATS_MAPPING:
            plan[column] = MASTER_STATS_MAPPING[key.lower()]
        else:
            plan[column] = f"attrs.{key}"
    stripped = {c.strip(): c for c in header}
    for column, field in (mapping or {}).items():
        if column not in plan and column.strip() not in stripped:
            raise CsvImportError(
                f"--map {column}={field}: the file has no column {column!r} (columns: {', '.join(header)})"
            )
        field = field.strip()
        if field != DROP and field not in EVENT_FIELDS and not (field.startswith("attrs.") and len(field) > 6):
            raise CsvImportError(
                f"--map {column}={field}: not an event field ({', '.join(EVENT_COLUMNS)}, attrs.NAME or -)"
            )
        plan[column if column in plan else stripped[column.strip()]] = field
    return plan


def parse_ts(raw: str, tz: tzinfo = timezone.utc) -> datetime:
    """ISO 8601, ``YYYY-MM-DD HH:MM:SS``, AutoHotkey's ``YYYYMMDDHHMMSS`` or epoch seconds/milliseconds.
    Times without an offset are in ``tz``.

    >>> parse_ts("20231201143022").isoformat()
    '2023-12-01T14:30:22+00:00'
    >>> parse_ts("1701441022").isoformat()
    '2023-12-01T14:30:22+00:00'
    """
    raw = raw.strip()
    if _COMPACT_TS.match(raw):
        value = datetime.strptime(raw, "%Y%m%d%H%M%S")
    else:
        try:
            number = float(raw)
        except ValueError:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        else:
            return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, timezone.utc)
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def row_uid(source: str, line: int, cells: Sequence[str]) -> str:
    """Stable per (source, line, content): a re-import finds the rows it stored before."""
    text = "\x1f".join([source, str(line), *(c.strip() for c in cells)])
    return "csv-" + hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class _Plan:
    source: str
    columns: dict[str, str]
    header: list[str]
    tz: tzinfo
    default_type: str
    now: datetime


def _rows(path: Path) -> Generator[tuple[int, list[str]], None, None]:
    """(line where the record starts, cells) for every record, the header included."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        previous = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:
                raise CsvImportError(f"{path}: line {previous + 1}: cannot read the file ({exc})") from None
            line, previous = previous + 1, reader.line_num
            yield line, cells


def _event(plan: _Plan, line: int, cells: list[str]) -> dict[str, Any] | list[RowError]:
    """The validated event of one data row, or what is wrong with it."""
    header = plan.header
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        return [RowError(line, "(row)", f"{len(cells)} cells but the header has {len(header)} columns")]
    raw: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for column, cell in zip(header, cells, strict=False):  # short rows: missing cells are empty
        target, value = plan.columns[column], cell.strip()
        if target == DROP or not value:
            continue
        if target.startswith("attrs."):
            attrs[target[6:]] = value
        elif target not in raw:  # several columns on one field: the first non-empty one
            raw[target] = value
    if "ts" in raw:
        try:
            raw["ts"] = parse_ts(raw["ts"], plan.tz)
        except (ValueError, OverflowError, OSError) as exc:
            return [RowError(line, "ts", f"not a timestamp: {raw['ts']!r} ({exc})")]
    else:
        raw["ts"] = plan.now
    if isinstance(attrs.get("degradation_assignments"), str) and "degradation_counts" not in attrs:
        counts: dict[str, int] = {}
        for name in filter(None, (p.strip() for p in attrs["degradation_assignments"].split(","))):
            counts[name] = counts.get(name, 0) + 1
        attrs["degradation_counts"] = counts  # as POST /ingest/interaction stores it
    raw.setdefault("type", plan.default_type)
    raw["source"] = plan.source
    raw.setdefault("uid", row_uid(plan.source, line, cells))
    if attrs:
        raw["attrs"] = attrs
    try:
        return EventIn.model_validate(raw).model_dump()
    except ValidationError as exc:
        return [RowError(line, e["field"], e["message"]) for e in field_errors(exc)]


def import_csv(
    db: Database,
    path: str | Path,
    *,
    source: str,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    now: datetime | None = None,
    tz: tzinfo = timezone.utc,
    default_type: str | None = None,
) -> ImportReport:
    """Load ``path`` as events of ``source`` through :func:`data.ingest.ingest`, in batches."""
    path = Path(path)
    if not path.is_file():
        raise CsvImportError(f"{path}: no such file")
    rows = _rows(path)
    first = next(rows, None)
    rows.close()
    if first is None or not any(c.strip() for c in first[1]):
        raise CsvImportError(f"{path}: expected a header line first")
    header = first[1]
    columns = resolve_mapping(header, mapping)
    if default_type is None:
        is_macro = {"button_key", "execution_time_ms"} <= {c.strip().lower() for c in header}
        default_type = MASTER_STATS_TYPE if is_macro else DEFAULT_TYPE
    plan = _Plan(source, columns, header, tz, default_type, now or datetime.now(timezone.utc))
    report = ImportReport(str(path), source)
    if strict:
        for line, cells in _data_rows(path):
            result = _event(plan, line, cells)
            if isinstance(result, list):
                report.errors.extend(result)
        if report.errors:
            report.aborted = True
            report.rows = sum(1 for _ in _data_rows(path))
            return report
    batch: list[dict[str, Any]] = []
    for line, cells in _data_rows(path):
        report.rows += 1
        result = _event(plan, line, cells)
        if isinstance(result, list):
            report.errors.extend(result)
            continue
        batch.append(result)
        if len(batch) >= BATCH:
            _store(db, batch, report)
    _store(db, batch, report)
    return report


def _data_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    rows = _rows(path)
    next(rows, None)  # the header
    for line, cells in rows:
        if any(c.strip() for c in cells):  # blank lines are not rows
            yield line, cells


def _store(db: Database, batch: list[dict[str, Any]], report: ImportReport) -> None:
    if batch:
        result = ingest(db, batch)
        report.stored += len(result.stored)
        report.duplicates += result.duplicates
        batch.clear()


# ------------------------------------------------------------ command line


class SettingsLike(Protocol):
    @property
    def database_url(self) -> str: ...

    @property
    def sqlite_synchronous(self) -> str: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``import`` subcommand's own arguments; their dests start with ``import_``
    so that ``app.main`` can keep them apart from the settings flags."""
    parser.add_argument("import_file", metavar="FILE.csv", help="CSV file with a header line")
    parser.add_argument("--source", dest="import_source", required=True, help="source of the imported events")
    parser.add_argument(
        "--map",
        dest="import_map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="map a column to an event field, attrs.NAME, or - to drop it (repeatable)",
    )
    parser.add_argument("--strict", dest="import_strict", action="store_true", help="store nothing if any row is bad")
    parser.add_argument(
        "--tz", dest="import_tz", default="UTC", help="time zone of timestamps without an offset (default UTC)"
    )
    parser.add_argument(
        "--type",
        dest="import_type",
        default=None,
        help=f"event type when no column gives one (default {MASTER_STATS_TYPE} for master_stats, else {DEFAULT_TYPE})",
    )


def parse_map(items: Sequence[str]) -> dict[str, str]:
    """``["total_boxes=value"]`` -> ``{"total_boxes": "value"}``."""
    mapping = {}
    for item in items:
        column, sep, field = item.partition("=")
        if not sep or not column or not field:
            raise CsvImportError(f"--map {item!r}: expected COLUMN=FIELD")
        mapping[column] = field
    return mapping


def run_import(args: argparse.Namespace, settings: SettingsLike) -> int:
    """Run a parsed ``import`` command. Exit status: 0 every row stored, 1 bad rows
    (skipped; with ``--strict`` nothing stored), 2 unusable input (file, mapping, time zone)."""
    try:
        tz = ZoneInfo(args.import_tz)
        mapping = parse_map(args.import_map)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        print(f"pulseboard import: {exc}", file=sys.stderr)
        return 2
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        db.migrate()
        report = import_csv(
            db,
            args.import_file,
            source=args.import_source,
            mapping=mapping,
            strict=args.import_strict,
            tz=tz,
            default_type=args.import_type,
        )
    except CsvImportError as exc:
        print(f"pulseboard import: {exc}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(report.summary())
    return 1 if report.errors else 0


def main_import(argv: Sequence[str], settings: SettingsLike) -> int:
    """``main_import(["FILE.csv", "--source", "macro"], settings)``: parse and run."""
    parser = argparse.ArgumentParser(prog="pulseboard import", description="Import a CSV file as events.")
    add_arguments(parser)
    return run_import(parser.parse_args(argv), settings)
