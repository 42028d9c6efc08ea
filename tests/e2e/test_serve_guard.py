"""``serve`` refuses a non-loopback bind without ``--auth`` (unless
``--insecure``) and ``--auth`` without a user; ``python app.py user ...``
manages the users that sign in."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_serve_cli import ROOT, clean_env


def app(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(ROOT / "app.py"), *args, "--data-dir", str(tmp_path)]
    return subprocess.run(
        cmd, cwd=ROOT, env=clean_env(), input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_non_loopback_bind_without_auth_is_refused(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::"):
        result = app(tmp_path, "serve", "--host", host, "--port", "0")
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"pulseboard: refusing to serve on {host} without sign-in: anyone who reaches it could read and write; "
            "add --auth (and a user: python app.py user add NAME --role admin), or --insecure"
        ]


def test_auth_without_any_user_is_refused_with_how_to_add_one(tmp_path: Path) -> None:
    result = app(tmp_path, "serve", "--auth", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "pulseboard: --auth is on but no user can sign in; add one first: python app.py user add NAME --role admin"
    ]


def test_insecure_allows_a_non_loopback_bind(process_server: Any) -> None:
    server = process_server("--host", "0.0.0.0", "--insecure")
    assert requests.get(server.url + "/api/events", timeout=10).json() == {"events": [], "count": 0}


def test_users_added_on_the_command_line_sign_in_to_a_non_loopback_server(tmp_path: Path, process_server: Any) -> None:
    added = app(tmp_path, "user", "add", "ada", "--role", "admin", "--password-stdin", stdin="a-long-password\n")
    assert (added.returncode, added.stdout) == (0, "added ada (admin)\n"), added.stderr
    assert (
        app(tmp_path, "user", "add", "vic", "--password-stdin", stdin="viewer-password\n").stdout
        == "added vic (viewer)\n"
    )
    server = process_server("--host", "0.0.0.0", "--auth")
    page = requests.get(server.url + "/", headers={"Accept": "text/html"}, allow_redirects=False, timeout=10)
    assert (page.status_code, page.headers["Location"]) == (302, "/login?next=/")
    http = requests.Session()
    form = http.get(server.url + "/login", timeout=10).text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    r = http.post(
        server.url + "/login", data={"username": "ada", "password": "a-long-password", "csrf_token": token}, timeout=10
    )
    assert r.status_code == 200 and r.url == server.url + "/"
    assert "kpis" in http.get(server.url + "/api/overview", timeout=10).json()


def test_the_user_commands_list_change_and_remove_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import main

    def user(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))  # not a terminal: no prompt
        code = main(["user", *args, "--data-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        return code, out, err

    assert user("list") == (0, "no users yet; add one with: python app.py user add NAME --role admin\n", "")
    assert user("add", "ada", "--role", "admin", "--password-stdin", stdin="a-long-password\n") == (
        0,
        "added ada (admin)\n",
        "",
    )
    assert user("add", "ada", "--password-stdin", stdin="another-password\n") == (
        1,
        "",
        "pulseboard: user 'ada' already exists\n",
    )
    assert user("add", "bob", "--password-stdin", stdin="short\n") == (
        1,
        "",
        "pulseboard: the password must have at least 8 characters\n",
    )
    code, _, err = user("add", "<b>", "--password-stdin", stdin="a-long-password\n")
    assert code == 1 and "letters, digits" in err
    assert user("add", "bob") == (
        1,
        "",
        "pulseboard: no terminal to ask for the password on; pipe it in with --password-stdin\n",
    )
    assert user("passwd", "ada", "--password-stdin", stdin="a-newer-password\n") == (0, "ada: password changed\n", "")
    assert user("disable", "ada") == (0, "ada: disabled\n", "")
    code, out, _ = user("list")
    listed = out.splitlines()
    assert (
        len(listed) == 1
        and listed[0].startswith("ada ")
        and " admin " in listed[0]
        and listed[0].endswith("(disabled)")
    )
    assert user("enable", "ada") == (0, "ada: enabled\n", "")
    assert user("remove", "ada") == (0, "ada: removed\n", "")
    assert user("remove", "ada") == (1, "", "pulseboard: no user 'ada'; see python app.py user list\n")
