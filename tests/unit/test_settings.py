"""settings.load_settings: defaults < environment < overrides, the aliases of
the dashboards Pulseboard replaces, one-line errors naming the setting, and
the database URL a setting resolves to."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import FIELDS, FIELDS_BY_NAME, Settings, SettingsError, load_settings


def test_the_defaults_apply_without_environment_or_overrides() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.max_batch, settings.sqlite_synchronous) == (
        "127.0.0.1",
        8050,
        10000,
        "NORMAL",
    )
    assert settings.max_body_bytes == 5 * 1024 * 1024


def test_the_settings_table_and_the_dataclass_agree() -> None:
    defaults = Settings()
    assert [f.name for f in FIELDS] == list(Settings.__dataclass_fields__)
    assert all(getattr(defaults, f.name) == f.default for f in FIELDS)
    assert all(f.env == "PULSE_" + f.name.upper() for f in FIELDS)


def test_the_environment_beats_the_defaults() -> None:
    env = {
        "PULSE_PORT": "9000",
        "PULSE_DEMO": "yes",
        "PULSE_MAX_BODY_MB": "0.5",
        "PULSE_SQLITE_SYNCHRONOUS": "full",
        "PULSE_LOG_LEVEL": "debug",
    }
    settings = load_settings(environ=env)
    assert (settings.port, settings.demo, settings.max_body_mb) == (9000, True, 0.5)
    assert (settings.sqlite_synchronous, settings.log_level) == ("FULL", "DEBUG")


def test_overrides_beat_the_environment() -> None:
    settings = load_settings(
        {"port": "9100", "demo": False, "max_batch": 7}, environ={"PULSE_PORT": "9000", "PULSE_DEMO": "1"}
    )
    assert (settings.port, settings.demo, settings.max_batch) == (9100, False, 7)


def test_none_overrides_leave_the_environment_in_place() -> None:
    assert load_settings({"port": None}, environ={"PULSE_PORT": "9000"}).port == 9000


@pytest.mark.parametrize(
    ("var", "name", "raw", "value"),
    [
        ("DASHBOARD_HOST", "host", "0.0.0.0", "0.0.0.0"),
        ("DASHBOARD_PORT", "port", "5002", 5002),
        ("DASHBOARD_DB", "db", "/srv/macro.db", "/srv/macro.db"),
        ("PULSE_DB_URL", "db", "postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_the_replaced_dashboards_variables_are_aliases(var: str, name: str, raw: str, value: object) -> None:
    assert getattr(load_settings(environ={var: raw}), name) == value


def test_the_pulse_variable_beats_its_alias() -> None:
    assert load_settings(environ={"PULSE_PORT": "9000", "DASHBOARD_PORT": "5002"}).port == 9000
    assert load_settings(environ={"PULSE_DB": "a.db", "PULSE_DB_URL": "b.db", "DASHBOARD_DB": "c.db"}).db == "a.db"


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({"PULSE_PORT": "notaport"}, "PULSE_PORT: "),
        ({"PULSE_PORT": "99999"}, "PULSE_PORT: "),
        ({"PULSE_PORT": "-1"}, "PULSE_PORT: "),
        ({"DASHBOARD_PORT": "http"}, "DASHBOARD_PORT: "),
        ({"PULSE_DEMO": "maybe"}, "PULSE_DEMO: "),
        ({"PULSE_SQLITE_SYNCHRONOUS": "OFF"}, "PULSE_SQLITE_SYNCHRONOUS: "),
        ({"PULSE_LOG_LEVEL": "LOUD"}, "PULSE_LOG_LEVEL: "),
        ({"PULSE_MAX_BODY_MB": "0"}, "PULSE_MAX_BODY_MB: "),
        ({"PULSE_MAX_BODY_MB": "inf"}, "PULSE_MAX_BODY_MB: "),
        ({"PULSE_MAX_BODY_MB": "nan"}, "PULSE_MAX_BODY_MB: "),
        ({"PULSE_MAX_BODY_MB": "lots"}, "PULSE_MAX_BODY_MB: "),
        ({"PULSE_MAX_BATCH": "0"}, "PULSE_MAX_BATCH: "),
        ({"PULSE_MAX_BATCH": "1e3"}, "PULSE_MAX_BATCH: "),
        ({"PULSE_THREADS": "-4"}, "PULSE_THREADS: "),
        ({"PULSE_HOST": "example.com"}, "host: "),
        ({"PULSE_DB": "mysql://u@h/db"}, "db: "),
        ({"PULSE_RATE_LIMIT_STORAGE": "memcached://cache:11211"}, "PULSE_RATE_LIMIT_STORAGE: "),
    ],
)
def test_a_bad_environment_value_raises_one_line_naming_the_setting(env: dict[str, str], where: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ=env)
    message = str(info.value)
    assert message.startswith(where)
    assert "\n" not in message and len(message) < 200
    raw = next(iter(env.values()))
    assert raw in message


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        ({"port": "notaport"}, "--port: "),
        ({"port": 99999}, "--port: "),
        ({"max_batch": 0}, "--max-batch: "),
        ({"max_body_mb": float("inf")}, "--max-body-mb: "),
        ({"demo": "perhaps"}, "--demo: "),
        ({"sqlite_synchronous": "EXTRA"}, "--sqlite-synchronous: "),
        ({"smtp_security": "ssl"}, "--smtp-security: "),
        ({"smtp_port": 70000}, "--smtp-port: "),
        ({"public_url": "pulse.example"}, "--public-url: "),
        ({"sms_url": "ftp://gw/send"}, "--sms-url: "),
        ({"sms_method": "PUT"}, "--sms-method: "),
        ({"rate_limit_storage": "disk"}, "--rate-limit-storage: "),
    ],
)
def test_a_bad_override_raises_one_line_naming_the_flag(overrides: dict[str, object], flag: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(overrides, environ={})
    assert str(info.value).startswith(flag)
    assert "\n" not in str(info.value)


def test_an_unknown_override_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        load_settings({"colour": "red"}, environ={})


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on "])
def test_true_booleans_are_read_in_every_spelling(raw: str) -> None:
    assert load_settings(environ={"PULSE_DEMO": raw}).demo is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_false_booleans_are_read_in_every_spelling(raw: str) -> None:
    assert load_settings(environ={"PULSE_DEMO": raw}).demo is False


# ------------------------------------------------------------ database URL


def test_a_db_path_becomes_an_absolute_sqlite_url(tmp_path: Path) -> None:
    assert load_settings({"db": str(tmp_path / "x.db")}, environ={}).database_url == f"sqlite:///{tmp_path / 'x.db'}"


def test_a_relative_db_path_is_resolved() -> None:
    url = load_settings({"db": "rel/x.db"}, environ={}).database_url
    assert url == f"sqlite:///{Path('rel/x.db').resolve()}"


@pytest.mark.parametrize("url", ["sqlite:////srv/p.db", "postgresql+psycopg://pulse:secret@db:5432/pulse"])
def test_a_db_url_is_kept_as_it_is(url: str) -> None:
    settings = load_settings({"db": url}, environ={})
    assert settings.database_url == url
    assert settings.is_sqlite is url.startswith("sqlite")


def test_the_default_database_lives_in_the_data_dir(tmp_path: Path) -> None:
    assert (
        load_settings({"data_dir": str(tmp_path)}, environ={}).database_url == f"sqlite:///{tmp_path / 'pulseboard.db'}"
    )


def test_the_demo_has_its_own_default_database_file(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": str(tmp_path), "demo": True}, environ={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'pulseboard-demo.db'}"


def test_an_explicit_db_wins_over_the_demo_default(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": str(tmp_path), "demo": True, "db": str(tmp_path / "mine.db")}, environ={})
    assert settings.database_url.endswith("/mine.db")


# ---------------------------------------------------------------- API keys


def test_api_keys_are_split_on_commas_and_trimmed() -> None:
    assert load_settings({"api_keys": " k1, k2 ,,"}, environ={}).keys() == ("k1", "k2")
    assert load_settings(environ={}).keys() == ()


def test_api_keys_are_read_from_the_keys_file(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# comment\n\nfile-1\n  file-2  \n", encoding="utf-8")
    assert load_settings({"api_keys": "inline", "api_keys_file": str(path)}, environ={}).keys() == (
        "inline",
        "file-1",
        "file-2",
    )
    assert load_settings(environ={"PULSE_API_KEYS_FILE": str(path)}).keys() == ("file-1", "file-2")


def test_an_unreadable_keys_file_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"api_keys_file": str(tmp_path / "missing")}, environ={})
    assert str(info.value).startswith("api_keys_file: cannot read ")
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- notifications


def test_the_smtp_password_comes_from_the_environment_or_its_file_and_is_never_shown(tmp_path: Path) -> None:
    from_env = load_settings({"smtp_user": "pulse"}, environ={"PULSEBOARD_SMTP_PASSWORD": "hunter2-secret"})
    assert from_env.smtp_secret() == "hunter2-secret"
    assert "hunter2-secret" not in repr(from_env) and "hunter2-secret" not in str(from_env)
    assert load_settings(environ={"PULSE_SMTP_PASSWORD": "a", "PULSEBOARD_SMTP_PASSWORD": "b"}).smtp_secret() == "a"
    secret = tmp_path / "smtp"
    secret.write_text("from-the-file\n", encoding="utf-8")
    both = load_settings({"smtp_password_file": str(secret)}, environ={"PULSE_SMTP_PASSWORD": "env"})
    assert both.smtp_secret() == "from-the-file"
    assert not FIELDS_BY_NAME["smtp_password"].flag  # no command-line flag: it would show in ps


def test_an_unreadable_smtp_password_file_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"smtp_password_file": str(tmp_path / "missing")}, environ={})
    assert str(info.value).startswith("smtp_password_file: cannot read ") and "\n" not in str(info.value)


def test_the_public_url_is_kept_without_its_trailing_slash() -> None:
    settings = load_settings({"public_url": "https://pulse.example/board/"}, environ={})
    assert settings.public_url == "https://pulse.example/board"


def test_sms_numbers_are_read_by_name_or_as_themselves() -> None:
    settings = load_settings({"sms_to": " oncall=+491701234567, +15550100 ,ops = 0044 20"}, environ={})
    assert settings.sms_numbers() == {"oncall": "+491701234567", "+15550100": "+15550100", "ops": "0044 20"}
    assert load_settings({"sms_method": "get"}, environ={}).sms_method == "GET"


def test_rate_limits_are_shared_by_default_on_postgresql_only() -> None:
    assert load_settings({"db": "/tmp/p.db"}, environ={}).rate_limit_store == "memory"
    assert load_settings({"db": "postgresql+psycopg://u@h/d"}, environ={}).rate_limit_store == "database"
    given = load_settings({"db": "postgresql+psycopg://u@h/d", "rate_limit_storage": "memory"}, environ={})
    assert given.rate_limit_store == "memory"
    assert load_settings({"rate_limit_storage": "redis://cache:6379/0"}, environ={}).rate_limit_store == (
        "redis://cache:6379/0"
    )
