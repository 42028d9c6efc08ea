"""Pulseboard: the app factory, the WSGI entry point and the command line.

python app.py serve [--host H] [--port P] [--db PATH|URL] [--demo]
python app.py report --url /explore?range=24h --out explore.pdf
gunicorn -k web.serving.PulseWorker --threads 64 'app:create_server()'
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dash
from flask import Flask

from api import register_api
from api.pdf import period_text
from auth import cli as user_cli
from auth import register_auth
from callbacks import register_all
from core.errors import InvalidInput
from core.pdf import PAPERS, PdfOptions, PdfUnavailable, page_path
from data import backup as backup_module
from data import csv_import
from data.db import Database, DatabaseError
from data.users import count_users
from demo.service import DemoRunner
from jobs import exports
from layouts.pages import resolve
from layouts.shell import build_layout
from live.endpoints import register_live
from reports import board_files
from services import Services
from settings import FIELDS, FIELDS_BY_NAME, Settings, SettingsError, load_settings
from web import serving
from web.pdf import Printer

ROOT = Path(__file__).resolve().parent
DEMO_BOARDS = ROOT / "demo" / "boards"
log = logging.getLogger("pulseboard")


# Control characters in a logged value are written escaped: a value with a newline
# (an entity, a rule name, an exception's text) cannot forge a log line.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {
    0x09: "\\t",
    0x0A: "\\n",
    0x0D: "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


class EscapedRecord(logging.LogRecord):
    """A log record whose message has its control characters escaped (tracebacks stay as they are)."""

    def getMessage(self) -> str:
        return super().getMessage().translate(_CONTROLS)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.setLogRecordFactory(EscapedRecord)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def create_app(settings: Settings | None = None, **overrides: Any) -> dash.Dash:
    """Build a Pulseboard app: database upgraded, API and pages registered."""
    settings = settings or load_settings(overrides)
    # Board files are read first: a bad one stops the start before anything is written.
    directories = board_directories(settings)
    boards = board_files.read_boards(directories, now=datetime.now(timezone.utc))
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous, read_url=settings.db_read)
    db.migrate()
    services = Services(settings=settings, db=db)
    services.alerts.prepare()  # default rules into a fresh database, then the --rules file
    if directories:
        board_files.provision(db, boards, now=services.now())
    server = Flask("pulseboard", root_path=str(ROOT))
    register_api(server, services)
    register_live(server, services)
    register_auth(server, services)
    app = dash.Dash(
        "pulseboard",
        server=server,  # type: ignore[arg-type]
        title="Pulseboard",
        assets_folder=str(ROOT / "assets"),
        suppress_callback_exceptions=True,
        update_title=None,  # type: ignore[arg-type]
    )
    app.layout = build_layout
    register_all(app, services)
    services.printer = Printer(server, chromium=settings.chromium)
    return app


def board_directories(settings: Settings) -> list[Path]:
    """Where provisioned boards come from: ``--boards-dir`` and, with ``--demo``, the demo's boards."""
    directories = [Path(settings.boards_dir)] if settings.boards_dir else []
    return [*directories, DEMO_BOARDS] if settings.demo else directories


def create_server() -> Flask:
    """WSGI entry point for gunicorn (loaded in each worker): settings from the environment."""
    server: Flask = create_app(load_settings()).server
    start_background(server.extensions["pulseboard"])
    return server


def start_background(services: Services) -> None:
    """The scheduled jobs, and with ``--demo`` the demo's backfill and simulator."""
    if services.start_background() and services.settings.demo:
        runner = DemoRunner(services)
        runner.start()
        services.background.append(runner)


def _add_settings(parser: argparse.ArgumentParser) -> None:
    for field in FIELDS:
        if not field.flag:  # secrets: from the environment (or their -file setting), never the command line
            continue
        if isinstance(field.default, bool):
            parser.add_argument(
                field.option,
                dest=field.name,
                action="store_const",
                const=True,
                default=None,
                help=f"{field.help} [{field.env}]",
            )
        else:
            parser.add_argument(
                field.option,
                dest=field.name,
                default=None,
                help=f"{field.help} [{field.env}, default: {field.default!r}]",
            )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulseboard", description="Pulseboard: real-time event analytics dashboard.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_settings(sub.add_parser("serve", help="Serve the dashboard and the API."))
    importer = sub.add_parser("import", help="Import a CSV file as events (bad rows reported by line).")
    csv_import.add_arguments(importer)
    _add_settings(importer)
    _add_settings(
        sub.add_parser("backup", help="Copy the SQLite database into <data-dir>/backups (online, verified, rotated).")
    )
    restorer = sub.add_parser("restore", help="Replace the SQLite database with a backup (stop the server first).")
    restorer.add_argument("restore_file", metavar="FILE")
    _add_settings(restorer)
    user_cli.add_arguments(
        sub.add_parser("user", help="Dashboard users (for --auth): add, list, remove, passwd, disable, enable."),
        _add_settings,
    )
    exporter = sub.add_parser("export", help="Write an Explore query's result as CSV (for cron jobs).")
    exports.add_arguments(exporter)
    _add_settings(exporter)
    reporter = sub.add_parser("report", help="Write a page of the dashboard as a PDF (printed by headless Chromium).")
    reporter.add_argument("--url", dest="report_url", required=True, help="The page with its query, e.g. /?range=24h")
    reporter.add_argument("--out", dest="report_out", required=True, help="The PDF file to write.")
    reporter.add_argument("--title", dest="report_title", help="The title in the header (default: the page's).")
    reporter.add_argument("--paper", dest="report_paper", choices=PAPERS, default="A4")
    reporter.add_argument("--portrait", dest="report_portrait", action="store_true", help="Portrait, not landscape.")
    reporter.add_argument("--theme", dest="report_theme", choices=("light", "dark"), default="light")
    _add_settings(reporter)
    return parser


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    """``report``: the page printed to ``--out`` by an app of its own (no
    server needs to run; its printer's loopback server answers only the
    printing browser)."""
    try:
        path = page_path(args.report_url)
    except InvalidInput as exc:
        print(f"pulseboard: --url: {exc.errors[0]['message']}", file=sys.stderr)
        return 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request of the printing browser
    services: Services = create_app(settings).server.extensions["pulseboard"]
    assert services.printer is not None
    page = resolve(path.split("?", 1)[0])
    try:
        body = services.printer.pdf(
            path,
            title=args.report_title or f"Pulseboard · {page.title if page else path}",
            period=period_text(path, services.max_window()),
            made=datetime.now(timezone.utc),
            options=PdfOptions(paper=args.report_paper, landscape=not args.report_portrait, theme=args.report_theme),
        )
    except (PdfUnavailable, TimeoutError) as exc:
        print(f"pulseboard: {exc}", file=sys.stderr)
        return 1
    finally:
        services.close()
    out = Path(args.report_out)
    out.write_bytes(body)
    print(f"wrote {out} ({len(body):,} bytes)")
    return 0


def run_backup(settings: Settings, restore_file: str | None = None) -> int:
    path = settings.sqlite_path
    if path is None:
        print(
            "pulseboard: backups here are for SQLite; on PostgreSQL use pg_dump (docs/operations.md)", file=sys.stderr
        )
        return 2
    now = datetime.now(timezone.utc)
    try:
        if restore_file:
            kept = backup_module.restore(Path(restore_file), path, now=now)
            print(f"restored {path} from {restore_file}" + (f"; the replaced file is {kept}" if kept else ""))
        else:
            print(backup_module.backup(path, settings.backup_dir, keep=settings.backup_keep, now=now))
    except backup_module.BackupError as exc:
        print(f"pulseboard: {exc}", file=sys.stderr)
        return 1
    return 0


def serving_refusal(settings: Settings) -> str | None:
    """Why ``serve`` must not start with these settings, or None: a non-loopback
    bind needs --auth (or --insecure), and --auth needs a user who can sign in."""
    loopback = settings.host == "localhost" or ipaddress.ip_address(settings.host).is_loopback
    if not loopback and not settings.auth and not settings.insecure:
        return (
            f"refusing to serve on {settings.host} without sign-in: anyone who reaches it could read and write; "
            "add --auth (and a user: python app.py user add NAME --role admin), or --insecure"
        )
    capacity = serving.capacity_refusal(settings)
    if capacity:
        return capacity
    if settings.auth:
        db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
        try:
            db.migrate()
            with db.read() as conn:
                users = count_users(conn)
        finally:
            db.dispose()
        if users == 0:
            return "--auth is on but no user can sign in; add one first: python app.py user add NAME --role admin"
    return None


def serve(settings: Settings) -> None:
    """Serve with gunicorn's threaded worker (web/serving.py): request heads and
    bodies read in its event loop, pages and the API on ``--threads`` threads,
    live streams on a pool of their own sized for ``--max-ws-clients``."""
    from gunicorn.app.base import BaseApplication

    app = create_app(settings)
    server = app.server

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("worker_class", serving.worker_class(settings))
            self.cfg.set("workers", settings.workers)
            self.cfg.set("threads", settings.threads)
            self.cfg.set("worker_connections", serving.worker_connections(settings))
            # X-Forwarded-Proto (wsgi.url_scheme) is believed only with --trusted-proxies, as the app does.
            self.cfg.set("forwarded_allow_ips", "*" if settings.trusted_proxies else "")
            self.cfg.set("umask", 0o077)
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("loglevel", settings.log_level.lower())
            self.cfg.set("accesslog", None)
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("post_worker_init", _close_live_on_term)

        def load(self) -> Flask:
            return server  # type: ignore[no-any-return]

    services: Services = server.extensions["pulseboard"]

    def _close_live_on_term(worker: Any) -> None:
        """On SIGTERM, end live sockets and streams at once instead of letting
        the graceful timeout run out on them, then stop as gunicorn does."""
        handle_exit = worker.handle_exit

        def on_term(signum: int, frame: Any) -> None:
            services.live.stopping.set()
            services.live.broker.close()
            handle_exit(signum, frame)

        signal.signal(signal.SIGTERM, on_term)
        start_background(services)

    log.info("Pulseboard on http://%s:%s (database %s)", settings.host, settings.port, services.db.safe_url)
    # Connections opened by the migration must not be shared with the forked worker.
    services.db.dispose()
    serving.settle_heap()  # before the fork: the worker then shares start-up's pages instead of copying them
    _Server().run()


# Flags whose value is a secret: anyone on the host can read a command line (ps, /proc).
SECRET_FLAGS = ("--api-keys",)


def secret_flag_warnings(argv: Sequence[str], settings: Settings) -> list[str]:
    """Warnings for secrets given on the command line, where ``ps`` shows them."""
    given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    warnings = [
        f"{flag} puts a secret on the command line, where any local user can read it (ps); "
        f"use {flag}-file or PULSE_{flag[2:].upper().replace('-', '_')} instead"
        for flag in SECRET_FLAGS
        if flag in given
    ]
    authority = settings.db.split("://", 1)[1].split("/", 1)[0] if "://" in settings.db else ""
    if "--db" in given and ":" in authority.rpartition("@")[0]:
        warnings.append(
            "--db carries a database password on the command line, where any local user can read it (ps); "
            "set PULSE_DB in the environment or use a password file (~/.pgpass)"
        )
    return warnings


def private_data_dir(settings: Settings) -> None:
    """Files made from here on are for this user only (umask 077), and so is the data directory."""
    os.umask(0o077)
    path = Path(settings.data_dir)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_uid == os.geteuid():
            path.chmod(0o700)
    except OSError as exc:
        log.warning("cannot make %s private: %s", path, exc.strerror)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.umask(0o077)  # the database, its WAL, backups and exports hold what no other user should read
    args = _parser().parse_args(argv)
    # The settings among the arguments (a subcommand's own arguments are not settings).
    overrides = {k: v for k, v in vars(args).items() if k in FIELDS_BY_NAME and v is not None}
    try:
        settings = load_settings(overrides)
        configure_logging(settings.log_level)
        for warning in secret_flag_warnings(argv, settings):
            log.warning("%s", warning)
        private_data_dir(settings)
        if args.command == "serve":
            refusal = serving_refusal(settings)
            if refusal:
                print(f"pulseboard: {refusal}", file=sys.stderr)
                return 2
            serve(settings)
        elif args.command == "import":
            return csv_import.run_import(args, settings)
        elif args.command == "user":
            return user_cli.run(args, settings)
        elif args.command in ("backup", "restore"):
            return run_backup(settings, getattr(args, "restore_file", None))
        elif args.command == "export":
            return exports.run_cli(args, settings)
        elif args.command == "report":
            return run_report(args, settings)
    except (SettingsError, DatabaseError) as exc:
        print(f"pulseboard: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
