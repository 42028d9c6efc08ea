"""Shared fixtures: databases (SQLite and a throw-away PostgreSQL server), a
real HTTP server per test on a free port, and a subprocess server.

Storage and API tests take the ``db_url`` fixture and so run twice, once per
database. The PostgreSQL server is started once per test run (``initdb`` in a
temp dir, ``pg_ctl`` on a free loopback port, as the ``postgres`` user when
run as root) and stopped at the end; every test gets its own database cloned
from a migrated template. If PostgreSQL cannot start, the tests that need it
fail: they are never skipped. ``replicated_postgres`` is a primary of its own
with a streaming standby (``pg_basebackup -R``) for the read-replica tests,
both counting their statements in ``pg_stat_statements``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from settings import load_settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.05, message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the condition may not be reachable yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}" + (f": {last_exc!r}" if last_exc else ""))


# ----------------------------------------------------------------- PostgreSQL


# A server with standbys, and each standby, counts the statements it runs (pg_stat_statements,
# in Debian's postgresql package): the read-replica tests see there which reads a standby answered.
PG_STAT_STATEMENTS = "-c shared_preload_libraries=pg_stat_statements"


class PostgresServer:
    def __init__(self) -> None:
        self.bin = self._find_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pulse-pg-"))
        self.user = self._os_user()
        self._counter = itertools.count()
        self.template = "pulse_template"

    @staticmethod
    def _find_bin() -> Path:
        for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
            if (Path(candidate) / "initdb").exists():
                return Path(candidate)
        found = shutil.which("initdb")
        if found:
            return Path(found).resolve().parent
        raise RuntimeError(
            "PostgreSQL is not installed: run 'make test' (it installs it) or apt-get install postgresql"
        )

    @staticmethod
    def _os_user() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "pulsetest"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                return name
        subprocess.run(["useradd", "--system", "--no-create-home", "pulsetest"], check=True)
        return "pulsetest"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self, *, replication: bool = False) -> None:
        """initdb, start and migrate the template; with ``replication`` the
        server also serves streaming standbys (WAL for replicas, and a
        replication entry in pg_hba.conf)."""
        if self.user:
            shutil.chown(self.dir, self.user)
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c synchronous_commit=off"
        if replication:
            with (data / "pg_hba.conf").open("a", encoding="utf-8") as hba:
                hba.write("host replication all 127.0.0.1/32 trust\n")
            options += " -c wal_level=replica -c max_wal_senders=5 " + PG_STAT_STATEMENTS
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "-t", "60", "start")
        from data.db import Database

        self.admin(f"CREATE DATABASE {self.template}")
        db = Database(self.url(self.template))
        db.migrate()
        db.dispose()

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def admin(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}", autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        name = f"pulse_test_{os.getpid()}_{next(self._counter)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresStandby:
    """A hot standby of ``primary`` streaming its WAL: ``pg_basebackup -R``
    into a data directory of its own, served on its own port. ``stop()`` and
    ``start()`` take it down and bring it back with the same data."""

    def __init__(self, primary: PostgresServer) -> None:
        self.primary = primary
        self.port = free_port()
        self.data = primary.dir / "standby"

    def start(self) -> None:
        if not self.data.exists():
            self.primary._run(
                "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                "-D", str(self.data), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
            )  # fmt: skip
        # A hot standby needs at least the primary's max_connections.
        options = (
            f"-p {self.port} -k {self.primary.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c hot_standby=on"
            f" -c max_connections=300 {PG_STAT_STATEMENTS}"
        )
        log = self.primary.dir / "standby.log"
        try:
            self.primary._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
        except subprocess.CalledProcessError:
            raise AssertionError(f"the standby did not start: {log.read_text(errors='replace')[-2000:]}") from None
        wait_until(lambda: self.query("postgres", "SELECT pg_is_in_recovery()") is True, message="standby in recovery")

    def stop(self) -> None:
        self.primary._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def query(self, dbname: str, sql: str) -> Any:
        """The first column of the first row of ``sql`` run on the standby (None: no row)."""
        import psycopg

        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=3"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None


@dataclasses.dataclass
class Replicated:
    """A primary, its standby, and one migrated database on both (``name``)."""

    primary: PostgresServer
    standby: PostgresStandby
    name: str

    @property
    def primary_url(self) -> str:
        return self.primary.url(self.name)

    @property
    def standby_url(self) -> str:
        return self.standby.url(self.name)


@pytest.fixture(scope="module")
def replicated_postgres() -> Iterator[Replicated]:
    """A PostgreSQL primary and a streaming standby of it, with a migrated
    database that a marker row shows is replicated; both stopped at the end."""
    primary = PostgresServer()
    try:
        primary.start(replication=True)
        standby = PostgresStandby(primary)
        standby.start()
        name = primary.new_database().rsplit("/", 1)[1]
        primary.admin("CREATE EXTENSION pg_stat_statements", dbname=name)  # its view, on the standby too
        primary.admin("CREATE TABLE IF NOT EXISTS replica_marker (id int)")
        primary.admin("INSERT INTO replica_marker VALUES (1)")
        wait_until(
            lambda: standby.query("postgres", "SELECT count(*) FROM replica_marker") == 1,
            message="a row of the primary on the standby",
        )
        wait_until(
            lambda: standby.query(name, "SELECT count(*) FROM alembic_version") == 1, message="replicated schema"
        )
        yield Replicated(primary, standby, name)
    finally:
        with contextlib.suppress(Exception):
            primary._run("pg_ctl", "-D", str(primary.dir / "standby"), "-m", "immediate", "-w", "stop")
        primary.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pulse.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@dataclasses.dataclass
class ClockedServices:
    """What the alert engine needs of Pulseboard's services: the database, the
    settings and a fixed clock."""

    db: Any
    at: Any
    settings: Any = dataclasses.field(default_factory=lambda: load_settings({}, environ={}))

    def now(self) -> Any:
        return self.at


@contextlib.contextmanager
def migrated(url: str) -> Iterator[Any]:
    """A :class:`data.db.Database` at ``url`` with every migration applied, disposed after."""
    from data.db import Database

    database = Database(url)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def migrated_db(db_url: str) -> Iterator[Any]:
    """A migrated database, on SQLite and on PostgreSQL."""
    with migrated(db_url) as database:
        yield database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pulse.db'}"


# --------------------------------------------------------------- HTTP servers


class LiveServer:
    """A Pulseboard app served over real HTTP from a thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.services = app.server.extensions["pulseboard"]
        self._server = make_server("127.0.0.1", 0, app.server, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.http = requests.Session()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.url + path, timeout=30, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.http.put(self.url + path, timeout=30, **kw)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.http.close()
        self.services.close()


@pytest.fixture
def make_server_for(tmp_path: Path) -> Iterator[Any]:
    """Factory: ``make_server_for(db_url, **settings)`` -> a started LiveServer."""
    started: list[LiveServer] = []

    def factory(url: str, **overrides: Any) -> LiveServer:
        settings = load_settings({"db": url, "data_dir": str(tmp_path), "rate_limit": 0, **overrides}, environ={})
        server = LiveServer(create_app(settings))
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server_for: Any, db_url: str) -> LiveServer:
    """A real HTTP server on a free port over a fresh database (SQLite and PostgreSQL)."""
    return make_server_for(db_url)  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Like ``db_url``, but one database per test module (and per database kind)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('pulse') / 'pulse.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture(scope="module")
def make_shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Factory like ``make_server_for`` whose servers live for the whole test module."""
    started: list[LiveServer] = []

    def factory(url: str, **overrides: Any) -> LiveServer:
        data_dir = str(tmp_path_factory.mktemp("data"))
        settings = load_settings({"db": url, "data_dir": data_dir, "rate_limit": 0, **overrides}, environ={})
        server = LiveServer(create_app(settings))
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(make_shared_server: Any, module_db_url: str) -> LiveServer:
    """One server per test module over ``module_db_url`` (SQLite and PostgreSQL).

    Starting a server costs about a second; tests that only check what they
    wrote themselves (not table totals) share this one. They must leave the
    server as they found it (e.g. restore ``services.clock``)."""
    return make_shared_server(module_db_url)  # type: ignore[no-any-return]


@pytest.fixture
def sqlite_server(make_server_for: Any, sqlite_url: str) -> LiveServer:
    return make_server_for(sqlite_url)  # type: ignore[no-any-return]


class ProcessServer:
    """``python app.py serve`` in a subprocess on a free port."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="pulse-server-", suffix=".log", delete=False)

    def start(self, timeout: float = 60) -> ProcessServer:
        self.launch()
        wait_until(self._healthy, timeout=timeout, message=f"server on {self.url} ({self.log.name})")
        return self

    def launch(self) -> ProcessServer:
        """Start the process without waiting for it to be healthy."""
        cmd = [sys.executable, str(ROOT / "app.py"), "serve", "--port", str(self.port), "--rate-limit", "0", *self.args]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"server exited with {self.proc.returncode}: {Path(self.log.name).read_text()[-2000:]}"
            )
        return requests.get(self.url + "/health", timeout=2).status_code == 200

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture
def process_server(tmp_path: Path) -> Iterator[Any]:
    """Factory: ``process_server(*args, env=...)`` -> a started ProcessServer."""
    started: list[ProcessServer] = []

    def factory(*args: str, env: dict[str, str] | None = None) -> ProcessServer:
        server = ProcessServer(["--data-dir", str(tmp_path), *args], env).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


# ----------------------------------------------------------------- SMTP server


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a loopback port that keeps what it accepts.

    ``users`` (login -> password) turns on AUTH (without TLS, on loopback);
    recipients starting with ``nobody@`` are refused with a 550."""

    def __init__(
        self,
        port: int | None = None,
        users: dict[str, str] | None = None,
        cert: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.users = users
        self.cert = cert  # (certificate, key): offer STARTTLS, or with implicit_tls speak TLS from the start
        self.implicit_tls = implicit_tls
        self.hold: threading.Event | None = None  # when set to an Event, each DATA waits for it before accepting
        self.holding = threading.Event()  # a DATA is waiting on ``hold``
        self.received: list[tuple[list[str], Any]] = []  # (envelope recipients, parsed message)
        self.logins: list[str] = []
        self._controller: Any = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio
        import email
        import email.policy

        if self.hold is not None:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)

        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword) and self.users is not None:
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, Any] = {}
        if self.users is not None:
            # aiosmtpd does not count implicit TLS as TLS for AUTH: require it of STARTTLS only
            starttls = self.cert is not None and not self.implicit_tls
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": starttls}
        if self.cert is not None:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
            kwargs["ssl_context" if self.implicit_tls else "tls_context"] = context
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()  # never leave a DATA waiting
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for _to, m in self.received]


@pytest.fixture(scope="session")
def loopback_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl): ``(certificate, key)``.
    Point ``SSL_CERT_FILE`` at the certificate to make clients trust it."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A started :class:`SmtpSink` (stopped after the test)."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()
