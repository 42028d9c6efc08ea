"""Engine, connection pragmas, transactions and migrations.

The one place that knows SQLite from PostgreSQL. On SQLite every connection
runs in WAL mode with a busy timeout, and write transactions begin with
``BEGIN IMMEDIATE`` so that a transaction that reads before it writes (the
idempotency check of ingest) cannot fail when another writer commits first.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from data.ingest import GroupCommit

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x50756C7364  # the advisory lock id of schema upgrades (PostgreSQL)


class DatabaseError(RuntimeError):
    """The database cannot be opened or upgraded; the message says why."""


class Database:
    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 30_000) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {
            "json_serializer": lambda obj: orjson.dumps(obj).decode(),
            "json_deserializer": orjson.loads,
        }
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                try:
                    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseError(
                        f"cannot create the data directory for {parsed.database}: {exc.strerror}"
                    ) from None
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 40
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_pragmas(self.engine, synchronous, busy_timeout_ms)
        # Same pool; the option tells the SQLite begin hook to take the write lock up front.
        self.write_engine: Engine = self.engine.execution_options(pulse_write=True)
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()
        )

        self.group_commit = GroupCommit(self)  # concurrent ingest batches of this process share transactions

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A Core connection in a write transaction, committed on exit.

        On SQLite, writers of this process queue on a lock first: SQLite lets
        one writer in at a time anyway, and waiting on its busy handler
        (sleep-and-retry, up to 100 ms a round) starves requests under load."""
        with self._write_lock, self.write_engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Upgrade the schema to the latest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.write_engine.begin() as conn:
                if self.dialect == "postgresql":  # nodes starting together upgrade one after the other
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except Exception as exc:  # surface as one clear line at start-up
            line = str(exc).splitlines()[0]
            if self.is_sqlite and ("malformed" in line or "not a database" in line):
                raise DatabaseError(
                    f"the database file {make_url(self.url).database} is damaged ({line.split(') ')[-1]}); "
                    "restore a backup with 'python app.py restore FILE'"
                ) from exc
            raise DatabaseError(f"cannot open or upgrade the database {self.safe_url}: {line}") from exc

    def check(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    def size_bytes(self) -> int | None:
        """On-disk size of the database (SQLite file + WAL, or pg_database_size)."""
        if self.is_sqlite:
            path = make_url(self.url).database
            if not path or path == ":memory:":
                return None
            return sum(p.stat().st_size for p in (Path(path), Path(path + "-wal")) if p.exists())
        with self.engine.connect() as conn:
            value = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            return int(value) if value is not None else None

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(engine: Engine, synchronous: str, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin hook, not the driver, decide when transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("pulse_write", False)
        # On the driver's connection: this runs before every transaction, and needs no result.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")  # type: ignore[union-attr]
