"""Pulseboard's settings: one declarative table that drives the command-line
flags, the ``PULSE_*`` environment variables, their help text and validation.

Precedence: defaults < environment < command-line flags / caller overrides.
This is the only module that reads ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core.errors import SettingsError as SettingsError  # raised here and by what reads a settings file


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"expected an integer, got {raw!r}") from None


def _port(raw: str) -> int:
    port = _int(raw)
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0..65535, got {port}")
    return port


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {value}")
    return value


def _non_negative_int(raw: str) -> int:
    value = _int(raw)
    if value < 0:
        raise ValueError(f"must be zero or a positive integer, got {value}")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"must be a positive number, got {raw}")
    return value


def _synchronous(raw: str) -> str:
    value = raw.strip().upper()
    if value not in ("NORMAL", "FULL"):
        raise ValueError(f"must be NORMAL or FULL, got {raw!r}")
    return value


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"must be DEBUG, INFO, WARNING or ERROR, got {raw!r}")
    return value


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"must be zero or a positive number, got {raw}")
    return value


def _str(raw: str) -> str:
    return raw.strip()


def _choice(*allowed: str) -> Callable[[str], str]:
    """A parser that accepts one of ``allowed`` (any case)."""

    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be {' or '.join(allowed)}, got {raw!r}")
        return value

    return parse


_HTTP_URL = re.compile(r"https?://[^/\s]+(/\S*)?")


def _public_url(raw: str) -> str:
    """Where users reach Pulseboard (``scheme://host[:port][/prefix]``), without a trailing slash.

    >>> _public_url(" https://pulse.example/ ")
    'https://pulse.example'
    >>> _public_url("pulse.example")
    Traceback (most recent call last):
    ValueError: 'pulse.example' is not a URL: write it as scheme://host[:port][/path], e.g. https://pulse.example
    """
    value = raw.strip().rstrip("/")
    if value and not _HTTP_URL.fullmatch(value):
        raise ValueError(f"{value!r} is not a URL: write it as scheme://host[:port][/path], e.g. https://pulse.example")
    return value


def _http_url(raw: str) -> str:
    value = raw.strip()
    if value and not _HTTP_URL.fullmatch(value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _dask_address(raw: str) -> str:
    """A Dask scheduler address (``tcp://host:port`` or ``tls://host:port``), or empty for none.

    >>> _dask_address(" tcp://10.0.0.5:8786 ")
    'tcp://10.0.0.5:8786'
    >>> _dask_address("10.0.0.5")
    Traceback (most recent call last):
    ValueError: '10.0.0.5' is not a Dask scheduler address: write it as tcp://host:port, e.g. tcp://10.0.0.5:8786
    """
    value = raw.strip()
    if value and not re.fullmatch(r"(tcp|tls)://([^/\s:@\[\]]+|\[[0-9a-fA-F:.]+\]):\d{1,5}", value):
        raise ValueError(
            f"{value!r} is not a Dask scheduler address: write it as tcp://host:port, e.g. tcp://10.0.0.5:8786"
        )
    return value


def _rate_limit_storage(raw: str) -> str:
    """``memory``, ``database`` or a ``redis://`` URL; empty: chosen by the database.

    >>> _rate_limit_storage(" Database ")
    'database'
    >>> _rate_limit_storage("memcached://cache")
    Traceback (most recent call last):
    ValueError: expected memory, database or a redis:// URL, got 'memcached://cache'
    """
    value = raw.strip()
    if value.lower() in ("", "memory", "database"):
        return value.lower()
    if value.startswith(("redis://", "rediss://", "redis+unix://")):
        return value
    raise ValueError(f"expected memory, database or a redis:// URL, got {value!r}")


def _origins(raw: str) -> str:
    """A comma-separated list of origins (``scheme://host[:port]``), or ``*`` for any.

    >>> _origins(" https://a.example , http://localhost:3000/ ")
    'https://a.example,http://localhost:3000'
    >>> _origins("a.example")
    Traceback (most recent call last):
    ValueError: 'a.example' is not an origin: write it as scheme://host[:port], e.g. https://a.example
    """
    origins = [o.strip().rstrip("/").lower() for o in raw.split(",") if o.strip()]
    for origin in origins:
        if origin != "*" and not re.fullmatch(
            r"https?://[^/\s:@]+(:\d{1,5})?|https?://\[[0-9a-f:.]+\](:\d{1,5})?", origin
        ):
            raise ValueError(f"{origin!r} is not an origin: write it as scheme://host[:port], e.g. https://a.example")
    if "*" in origins and len(origins) > 1:
        raise ValueError("'*' allows every origin: give it alone")
    return ",".join(origins)


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    aliases: tuple[str, ...] = ()  # extra environment variable names
    flag: bool = True  # exposed as --name on the command line

    @property
    def env(self) -> str:
        return "PULSE_" + self.name.upper()

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


FIELDS: tuple[Field, ...] = (
    Field("host", "127.0.0.1", _str, "Address to bind.", aliases=("DASHBOARD_HOST",)),
    Field("port", 8050, _port, "Port to listen on.", aliases=("DASHBOARD_PORT",)),
    Field("data_dir", "var", _str, "Directory for the SQLite file, backups and exports."),
    Field(
        "export_dir",
        "",
        _str,
        "Directory of the scheduled exports' files (default <data-dir>/exports); with several nodes, one that all"
        " of them share, so that each lists and serves every export.",
    ),
    Field(
        "db",
        "",
        _str,
        "SQLite file path or SQLAlchemy URL (postgresql+psycopg://...). "
        "Default: <data-dir>/pulseboard.db, or <data-dir>/pulseboard-demo.db with --demo.",
        aliases=("PULSE_DB_URL", "DASHBOARD_DB"),
    ),
    Field(
        "db_read",
        "",
        _str,
        "SQLAlchemy URL of a PostgreSQL streaming standby of --db for the heavy reads (pages, Explore, exports,"
        " reports); they go to the primary while it does not answer.",
    ),
    Field("demo", False, _bool, "Feed the dashboard with the demo simulator."),
    Field("demo_days", 7, _positive_int, "Days of history the demo backfills into a fresh demo database."),
    Field(
        "demo_incident_after",
        120.0,
        _non_negative_float,
        "Seconds after the live demo starts when its first incident (the scanner's cloud offline) begins.",
    ),
    Field("api_keys", "", _str, "Comma-separated API keys; when set, write routes need one."),
    Field("api_keys_file", "", _str, "File with one API key per line (blank lines and # comments ignored)."),
    Field("max_body_mb", 5.0, _positive_float, "Largest accepted request body, in MB."),
    Field("max_batch", 10000, _positive_int, "Most events accepted in one request."),
    Field(
        "sqlite_synchronous", "NORMAL", _synchronous, "SQLite synchronous mode: NORMAL or FULL (survives power loss)."
    ),
    Field(
        "threads",
        64,
        _positive_int,
        "Threads for pages and the API; live streams (WebSocket, SSE) have a pool of their own.",
    ),
    Field("retention_days", 30, _positive_int, "Raw events older than this are deleted (hourly, in small batches)."),
    Field("rollup_retention_days", 400, _positive_int, "Per-minute and hourly rollups older than this are deleted."),
    Field("backup_keep", 7, _positive_int, "Backups kept in <data-dir>/backups (older ones are deleted)."),
    Field(
        "workers",
        1,
        _positive_int,
        "Server processes; each tails the database, so live clients of every worker see every event.",
    ),
    Field("log_level", "INFO", _log_level, "Log level."),
    Field(
        "cors_origins",
        "",
        _origins,
        "Comma-separated origins (scheme://host[:port], or * for any) whose pages may call the API with an API key"
        " (CORS; off when empty).",
    ),
    Field("rules", "", _str, "YAML file of alert rules, created or updated by name at start."),
    Field(
        "boards_dir",
        "",
        _str,
        "Directory of board files (*.yaml), each created or updated as a read-only board at start.",
    ),
    Field("alert_interval", 5.0, _positive_float, "Seconds between alert rule evaluations."),
    Field(
        "alert_dedup_minutes",
        5.0,
        _non_negative_float,
        "An alert that fires again within this many minutes of resolving reopens instead of notifying anew.",
    ),
    Field(
        "component_ttl",
        300.0,
        _positive_float,
        "Seconds after which a component that has not reported is shown offline.",
    ),
    Field(
        "chromium",
        "",
        _str,
        "Chromium (or Chrome) that prints PDFs of pages; default: chromium, chromium-browser or google-chrome on the PATH.",
    ),
    Field(
        "auth",
        False,
        _bool,
        "Require sign-in for the dashboard, the read API and the live feed (users: python app.py user add).",
    ),
    Field("insecure", False, _bool, "Allow serving on a non-loopback address without --auth."),
    Field(
        "secret_key",
        "",
        _str,
        "Key that signs session cookies; default: generated once in <data-dir>/secret_key.",
        flag=False,
    ),
    Field(
        "secret_key_file", "", _str, "File holding the key that signs session cookies (instead of PULSE_SECRET_KEY)."
    ),
    Field(
        "rate_limit",
        200.0,
        _non_negative_float,
        "Requests per second allowed per API key or client address (bursts of twice as many); 0: no limit.",
    ),
    Field(
        "rate_limit_storage",
        "",
        _rate_limit_storage,
        "Where rate-limit counters live: memory (this process; the default on SQLite), database (shared by "
        "every node; the default on PostgreSQL) or a redis:// URL (needs the redis package).",
    ),
    Field(
        "max_ws_clients",
        500,
        _positive_int,
        "Most live-feed clients (WebSocket and SSE) served at once, each on a thread of the live pool.",
    ),
    Field(
        "header_timeout",
        10.0,
        _positive_float,
        "Seconds a client has to send a request's line and headers; then 408 and the connection closes.",
    ),
    Field(
        "body_timeout",
        30.0,
        _positive_float,
        "Seconds a client has to send a request's body after its headers; then the connection closes.",
    ),
    Field(
        "allowed_hosts",
        "",
        _str,
        "Comma-separated Host names accepted with sign-in off, besides localhost and loopback addresses.",
    ),
    Field("max_query_days", 400, _positive_int, "Longest time range a query may cover, in days."),
    Field(
        "trusted_proxies",
        0,
        _non_negative_int,
        "Reverse proxies in front whose X-Forwarded-For/-Proto/-Host headers are trusted (0: none).",
    ),
    Field(
        "public_url",
        "",
        _public_url,
        "Where users reach Pulseboard (e.g. https://pulse.example): links in e-mail, chat and SMS notifications.",
    ),
    Field("smtp_host", "", _str, "SMTP server that sends e-mail notifications (none: e-mail targets fail)."),
    Field("smtp_port", 587, _port, "SMTP server port."),
    Field("smtp_security", "starttls", _choice("starttls", "tls", "none"), "SMTP transport: starttls, tls or none."),
    Field("smtp_user", "", _str, "SMTP user name; when set, Pulseboard logs in."),
    Field(
        "smtp_password",
        "",
        _str,
        "SMTP password (environment only: PULSE_SMTP_PASSWORD or PULSEBOARD_SMTP_PASSWORD).",
        aliases=("PULSEBOARD_SMTP_PASSWORD",),
        flag=False,
    ),
    Field("smtp_password_file", "", _str, "File holding the SMTP password (instead of PULSE_SMTP_PASSWORD)."),
    Field("mail_from", "pulseboard@localhost", _str, "Sender address of e-mail notifications."),
    Field(
        "mail_charts",
        True,
        _bool,
        "Put a PNG chart of the metric in alert e-mails (plotly's kaleido and Chromium); PULSE_MAIL_CHARTS=0: off.",
    ),
    Field("sms_url", "", _http_url, "SMS gateway URL that sms: targets call ({message}, {to}... are filled in)."),
    Field(
        "sms_method",
        "POST",
        lambda raw: _choice("post", "get")(raw).upper(),
        "SMS gateway method: POST (body) or GET (query).",
    ),
    Field(
        "sms_body",
        "{message}",
        _str,
        "SMS gateway body (POST) or query string (GET) template: {message}, {to}, {rule}, {state}.",
    ),
    Field("sms_to", "", _str, "Comma-separated phone numbers of sms: targets, as name=number or just numbers."),
    Field(
        "dask_scheduler",
        "",
        _dask_address,
        "Dask scheduler (tcp://host:port) that runs heavy analytics (anomaly rules over many series, backtests,"
        " report regression scans);"
        " none: in-process, with the same results.",
    ),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}


@dataclasses.dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8050
    data_dir: str = "var"
    export_dir: str = ""
    db: str = ""
    db_read: str = ""
    demo: bool = False
    demo_days: int = 7
    demo_incident_after: float = 120.0
    api_keys: str = ""
    api_keys_file: str = ""
    max_body_mb: float = 5.0
    max_batch: int = 10000
    sqlite_synchronous: str = "NORMAL"
    threads: int = 64
    retention_days: int = 30
    rollup_retention_days: int = 400
    backup_keep: int = 7
    workers: int = 1
    log_level: str = "INFO"
    cors_origins: str = ""
    rules: str = ""
    boards_dir: str = ""
    alert_interval: float = 5.0
    alert_dedup_minutes: float = 5.0
    component_ttl: float = 300.0
    chromium: str = ""
    auth: bool = False
    insecure: bool = False
    secret_key: str = ""
    secret_key_file: str = ""
    rate_limit: float = 200.0
    rate_limit_storage: str = ""
    max_ws_clients: int = 500
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    allowed_hosts: str = ""
    max_query_days: int = 400
    trusted_proxies: int = 0
    public_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = dataclasses.field(default="", repr=False)
    smtp_password_file: str = ""
    mail_from: str = "pulseboard@localhost"
    mail_charts: bool = True
    sms_url: str = ""
    sms_method: str = "POST"
    sms_body: str = "{message}"
    sms_to: str = ""
    dask_scheduler: str = ""

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: ``db`` if it is a URL, else a SQLite file path."""
        if "://" in self.db:
            return self.db
        if self.db:
            path = Path(self.db)
        else:
            name = "pulseboard-demo.db" if self.demo else "pulseboard.db"
            path = Path(self.data_dir) / name
        return f"sqlite:///{path.expanduser().resolve()}"

    @property
    def rate_limit_store(self) -> str:
        """``rate_limit_storage``, or when it is not set: memory on SQLite, database otherwise."""
        return self.rate_limit_storage or ("memory" if self.is_sqlite else "database")

    @property
    def backup_dir(self) -> Path:
        return Path(self.data_dir) / "backups"

    @property
    def exports_dir(self) -> Path:
        """Where export files are written, listed and served from: ``export_dir``, or ``<data-dir>/exports``."""
        return Path(self.export_dir) if self.export_dir else Path(self.data_dir) / "exports"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for another database."""
        url = self.database_url
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def keys(self) -> tuple[str, ...]:
        """API keys from ``api_keys`` and ``api_keys_file``."""
        keys = [k.strip() for k in self.api_keys.split(",") if k.strip()]
        if self.api_keys_file:
            text = Path(self.api_keys_file).read_text(encoding="utf-8")
            for line in text.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    keys.append(line)
        return tuple(keys)

    def hosts(self) -> tuple[str, ...]:
        """``allowed_hosts`` as lower-case names (a port, if given, is dropped)."""
        names = (h.strip().lower() for h in self.allowed_hosts.split(","))
        return tuple(_host_name(h) for h in names if h)

    def origins(self) -> tuple[str, ...]:
        """``cors_origins`` as a tuple (empty when CORS is off)."""
        return tuple(o for o in self.cors_origins.split(",") if o)

    def smtp_secret(self) -> str:
        """The SMTP password: ``smtp_password_file``'s first line, else ``smtp_password``."""
        if self.smtp_password_file:
            lines = Path(self.smtp_password_file).read_text(encoding="utf-8").splitlines()
            return lines[0].strip() if lines else ""
        return self.smtp_password

    def sms_numbers(self) -> dict[str, str]:
        """``sms_to`` as name -> number (a bare number is its own name)."""
        out: dict[str, str] = {}
        for item in self.sms_to.split(","):
            name, _, number = item.strip().rpartition("=")
            if number.strip():
                out[name.strip() or number.strip()] = number.strip()
        return out

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


def _host_name(host: str) -> str:
    """``host`` without a port: ``[::1]:80`` -> ``::1``, ``a.example:80`` -> ``a.example``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() and ":" not in name else host


def _check(settings: Settings) -> Settings:
    try:
        ipaddress.ip_address(settings.host)
    except ValueError:
        if settings.host != "localhost":
            raise SettingsError(f"host: {settings.host!r} is not an IP address") from None
    if settings.api_keys_file:
        try:
            settings.keys()
        except OSError as exc:
            raise SettingsError(f"api_keys_file: cannot read {settings.api_keys_file}: {exc.strerror}") from None
    if settings.secret_key_file:
        try:
            Path(settings.secret_key_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"secret_key_file: cannot read {settings.secret_key_file}: {exc.strerror}") from None
    if settings.smtp_password_file:
        try:
            settings.smtp_secret()
        except OSError as exc:
            raise SettingsError(
                f"smtp_password_file: cannot read {settings.smtp_password_file}: {exc.strerror}"
            ) from None
    if "://" in settings.db and not settings.db.split("://", 1)[0].startswith(("sqlite", "postgresql")):
        raise SettingsError(
            f"db: unsupported database URL scheme in {settings.db!r} (use sqlite:// or postgresql+psycopg://)"
        )
    if settings.db_read:
        if not settings.db_read.startswith("postgresql"):
            raise SettingsError(
                f"db_read: {make_safe(settings.db_read)!r} is not a PostgreSQL URL (use postgresql+psycopg://...)"
            )
        if not settings.database_url.startswith("postgresql"):
            raise SettingsError("db_read: a read replica needs a PostgreSQL --db (a SQLite file has no standby)")
    return settings


def make_safe(url: str) -> str:
    """``url`` with its password hidden.

    >>> make_safe("postgresql+psycopg://pulse:secret@db2:5432/pulse")
    'postgresql+psycopg://pulse:***@db2:5432/pulse'
    """
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from defaults, then ``environ`` (default ``os.environ``),
    then ``overrides`` (already-typed values or strings). Raises
    :class:`SettingsError` with a one-line message on a bad value."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in FIELDS:
        for var in (field.env, *field.aliases):
            if var in env:
                values[field.name] = _parse(field, env[var], var)
                break
    for name, raw in (overrides or {}).items():
        if raw is None:
            continue
        if name not in FIELDS_BY_NAME:
            raise SettingsError(f"unknown setting {name!r}")
        field = FIELDS_BY_NAME[name]
        # Typed values (create_app(port=8051)) pass the same checks as strings.
        values[name] = _parse(field, raw if isinstance(raw, str) else str(raw), field.option)
    return _check(Settings(**values))


def _parse(field: Field, raw: str, where: str) -> Any:
    try:
        return field.parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}") from None
