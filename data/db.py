"""Engine, connection pragmas, transactions and migrations.

The one place that knows SQLite from PostgreSQL. On SQLite every connection
runs in WAL mode with a busy timeout, and write transactions begin with
``BEGIN IMMEDIATE`` so that a transaction that reads before it writes (the
idempotency check of ingest) cannot fail when another writer commits first.

With a read replica (a PostgreSQL streaming standby, ``--db-read``),
:meth:`Database.replica` hands the heavy reads a connection to the standby;
when the standby does not answer they go to the primary, and the standby is
tried again after :attr:`Database.replica_backoff` seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url

from data import partitions
from data.ingest import GroupCommit

log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x50756C7364  # the advisory lock id of schema upgrades (PostgreSQL)

REPLICA_BACKOFF = 30.0  # seconds the primary serves the replica's reads after the standby failed to answer
REPLICA_CONNECT_TIMEOUT = 3  # seconds to wait for the standby to accept a connection

# On the standby: 0 when it has replayed all it received (an idle primary is
# no lag), else the age of the last transaction it replayed.
_LAG_SQL = text(
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


class DatabaseError(RuntimeError):
    """The database cannot be opened or upgraded; the message says why."""


@dataclasses.dataclass(frozen=True)
class ReplicaStatus:
    """What the read replica is doing: ``configured`` (a ``--db-read`` URL is
    set), ``up`` (it answered, so the heavy reads go to it), its replay
    ``lag_seconds`` when up, and ``error`` (why it is down) when not."""

    configured: bool
    up: bool = False
    lag_seconds: float | None = None
    error: str | None = None


class Database:
    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 30_000,
        read_url: str = "",
        replica_backoff: float = REPLICA_BACKOFF,
    ) -> None:
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

        self.read_url = read_url
        self.replica_backoff = replica_backoff
        self._replica_down_until = 0.0  # time.monotonic() before which the primary serves replica reads
        self._replica_error: str | None = None
        self.replica_engine: Engine | None = None
        if read_url:
            if self.is_sqlite or make_url(read_url).get_backend_name() != "postgresql":
                raise DatabaseError("a read replica needs a PostgreSQL primary and a PostgreSQL standby URL")
            self.replica_engine = create_engine(
                read_url,
                **kwargs,
                connect_args={"connect_timeout": REPLICA_CONNECT_TIMEOUT},
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

    @contextlib.contextmanager
    def replica(self) -> Iterator[Connection]:
        """A read-only connection for the heavy reads (pages, Explore,
        exports, reports): to the standby when one is set and answers, else
        to the primary. The standby may lag behind by its replay lag, so
        what must see the newest data (a read after this request's own
        write, the live feed, alert evaluation) uses :meth:`read`.

        A standby that does not accept a connection is skipped for
        :attr:`replica_backoff` seconds; one that fails during a query
        fails that query and is skipped from then on (:meth:`on_replica`
        runs such a query again on the primary)."""
        engine = self.replica_engine
        if engine is None or time.monotonic() < self._replica_down_until:
            with self.read() as conn:
                yield conn
            return
        try:
            conn = engine.connect()
        except exc.DBAPIError as error:  # refused, timed out, not yet accepting connections
            self._replica_failed(error)
            with self.read() as conn:
                yield conn
            return
        try:
            yield conn
        except exc.DBAPIError as error:
            if error.connection_invalidated:  # the standby went away: not this query's fault, but it is lost
                self._replica_failed(error)
            raise
        finally:
            conn.close()

    def on_replica(self, read: Callable[[Connection], T]) -> T:
        """``read(conn)`` on a :meth:`replica` connection, run again on the
        primary when the standby fails it midway: its connection is lost (the
        standby went away) or replay cancelled it (a conflict with recovery,
        SQLSTATE 40001). ``read`` must only read: it may run twice."""
        on_standby = False
        try:
            with self.replica() as conn:
                on_standby = self.replica_engine is not None and conn.engine is self.replica_engine
                return read(conn)
        except exc.DBAPIError as error:
            conflict = getattr(error.orig, "sqlstate", None) == "40001"
            if not (on_standby and (error.connection_invalidated or conflict)):
                raise
            log.warning("a read failed on the read replica (%s); run again on the primary", type(error.orig).__name__)
        with self.read() as conn:
            return read(conn)

    def _replica_failed(self, error: exc.DBAPIError) -> None:
        first = time.monotonic() >= self._replica_down_until
        self._replica_down_until = time.monotonic() + self.replica_backoff
        cause = error.orig if error.orig is not None else error
        self._replica_error = type(cause).__name__
        if first:
            reason = (str(cause).strip().splitlines() or [self._replica_error])[0]
            log.warning(
                "read replica %s does not answer (%s); reads go to the primary, retried in %g s",
                self.safe_read_url,
                reason,
                self.replica_backoff,
            )

    def replica_status(self) -> ReplicaStatus:
        """The standby's state and replay lag (``now() -
        pg_last_xact_replay_timestamp()`` on the standby, 0 when it has
        replayed all it received). While in back-off the standby is not
        asked: it is reported down."""
        if self.replica_engine is None:
            return ReplicaStatus(configured=False)
        if time.monotonic() < self._replica_down_until:
            return ReplicaStatus(configured=True, error=self._replica_error)
        try:
            with self.replica() as conn:
                if conn.engine is not self.replica_engine:  # it failed just now
                    return ReplicaStatus(configured=True, error=self._replica_error)
                in_recovery, lag = conn.execute(_LAG_SQL).one()
        except exc.DBAPIError as error:
            self._replica_failed(error)
            return ReplicaStatus(configured=True, error=self._replica_error)
        if not in_recovery:
            return ReplicaStatus(configured=True, up=True, lag_seconds=0.0, error="not in recovery: promoted?")
        return ReplicaStatus(configured=True, up=True, lag_seconds=float(lag) if lag is not None else None)

    def migrate(self) -> None:
        """Upgrade the schema to the latest Alembic revision; on PostgreSQL,
        then create the partitions of events for today and the days ahead."""
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
            partitions.ensure_partitions(self)  # PostgreSQL: today's partition of events and the next days'
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

    @property
    def safe_read_url(self) -> str:
        return make_url(self.read_url).render_as_string(hide_password=True) if self.read_url else ""

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()


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
