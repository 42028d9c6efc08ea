"""What an outside probe found, each answered on a real ``python app.py serve``
(gunicorn) or a real in-process server: live streams and slow clients do not
starve ordinary requests, gone clients free their place, oversized bodies get
a readable 413, files are private, forwarded headers are believed only from
trusted proxies, and the log cannot be forged."""

from __future__ import annotations

import io
import json
import logging
import os
import resource
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import wait_until
from tests.e2e.test_serve_cli import ROOT, clean_env

STREAMS = 100
SLOW = 100


def connect(server: Any) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def open_stream(server: Any, path: str = "/api/stream") -> socket.socket:
    sock = connect(server)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_open_streams_and_slow_headers_leave_health_and_pages_answering_within_a_second(process_server: Any) -> None:
    server = process_server()  # every setting at its default: 64 threads, 500 live clients
    streams = [open_stream(server) for _ in range(STREAMS)]
    slow: list[socket.socket] = []
    try:
        # Each stream is established when its first bytes arrive (the SSE retry line).
        for sock in streams:
            assert b"retry: 2000" in read_until(sock, b"retry: 2000")
        for _ in range(SLOW):
            sock = connect(server)
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ... and the rest never comes
            slow.append(sock)
        # The server has read what the slow clients sent: the last of them is parked, not queued.
        wait_until(lambda: requests.get(server.url + "/health", timeout=5).status_code == 200, timeout=10)
        for path, accept in (("/health", "application/json"), ("/", "text/html")):
            started = time.monotonic()
            r = requests.get(server.url + path, headers={"Accept": accept}, timeout=1)
            elapsed = time.monotonic() - started
            assert r.status_code == 200 and elapsed < 1.0, (path, elapsed)
        r = requests.get(server.url + "/_dash-layout", timeout=1)
        assert r.status_code == 200
    finally:
        for sock in streams + slow:
            sock.close()


def test_a_client_that_sends_its_headers_too_slowly_is_answered_408_and_cut_off(process_server: Any) -> None:
    server = process_server("--header-timeout", "1")
    sock = connect(server)
    sock.sendall(b"GET /health HTTP/1.1\r\n")
    started = time.monotonic()
    answer = read_until(sock, b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert sock.recv(1024) == b""  # and the connection is closed
    assert time.monotonic() - started < 5
    sock.close()


def test_a_slow_body_holds_no_thread_and_is_cut_off(process_server: Any) -> None:
    server = process_server("--threads", "2", "--body-timeout", "2")
    bodies = []
    for _ in range(4):  # more than the threads
        sock = connect(server)
        sock.sendall(
            b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"type": '
        )
        bodies.append(sock)
    try:
        r = requests.get(server.url + "/health", timeout=1)
        assert r.status_code == 200
        started = time.monotonic()
        assert read_until(bodies[0], b"\r\n\r\n").startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 5
    finally:
        for sock in bodies:
            sock.close()


def test_a_stream_whose_client_went_away_frees_its_place_within_seconds(process_server: Any) -> None:
    server = process_server("--max-ws-clients", "2")
    first = [open_stream(server) for _ in range(2)]
    for sock in first:
        read_until(sock, b"retry: 2000")
    over = requests.get(server.url + "/api/stream", stream=True, timeout=10)
    assert over.status_code == 503
    for sock in first:
        sock.close()

    def admitted() -> bool:
        r = requests.get(server.url + "/api/stream", stream=True, timeout=10)
        r.close()
        return r.status_code == 200

    wait_until(admitted, timeout=5, message="a place under the cap (the keepalive is 15 s)")


def test_serve_refuses_to_start_when_the_live_client_cap_cannot_be_held(tmp_path: Path) -> None:
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    cmd = [sys.executable, str(ROOT / "app.py"), "serve", "--port", "0", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        cmd, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60, preexec_fn=low_limit, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "--max-ws-clients 500" in result.stderr and "open files" in result.stderr


def post_with_urllib(url: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def big_body() -> bytes:
    return json.dumps([{"type": "big", "message": "x" * 1000}] * 6000).encode()  # about 6 MB


def test_urllib_posting_a_6_mb_body_reads_a_413_from_serve(process_server: Any) -> None:
    server = process_server()
    body = big_body()
    assert len(body) > 6_000_000
    status, answer, headers = post_with_urllib(server.url + "/api/events", body)
    assert status == 413 and answer == {"error": "request body larger than 5 MB"}
    assert headers["Connection"] == "close"
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


def test_urllib_posting_a_6_mb_body_reads_a_413_from_the_app(sqlite_server: Any) -> None:
    status, answer, _ = post_with_urllib(sqlite_server.url + "/api/events", big_body())
    assert (status, answer) == (413, {"error": "request body larger than 5 MB"})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_its_wal_backups_and_the_data_directory_are_private(tmp_path: Path, process_server: Any) -> None:
    old = os.umask(0o022)  # what a shell usually has
    try:
        data = tmp_path / "data"
        data.mkdir(mode=0o755)
        server = process_server("--data-dir", str(data))
        assert requests.post(server.url + "/api/events", json={"type": "private"}, timeout=10).status_code == 201
        db = data / "pulseboard.db"
        wait_until(lambda: (data / "pulseboard.db-wal").exists())
        assert mode(data) == 0o700
        assert mode(db) == 0o600 and mode(data / "pulseboard.db-wal") == 0o600
        cmd = [sys.executable, str(ROOT / "app.py"), "backup", "--data-dir", str(data)]
        done = subprocess.run(cmd, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        backup = Path(done.stdout.strip())
        assert mode(backup) == 0o600 and mode(backup.parent) == 0o700
    finally:
        os.umask(old)


def test_x_forwarded_proto_is_not_believed_without_trusted_proxies(tmp_path: Path, process_server: Any) -> None:
    from tests.e2e.test_serve_guard import app

    assert app(tmp_path, "user", "add", "ada", "--password-stdin", stdin="a-long-password\n").returncode == 0
    for extra, secure in (((), False), (("--trusted-proxies", "1"), True)):
        server = process_server("--auth", *extra)
        http = requests.Session()
        form = http.get(server.url + "/login", timeout=10).text
        token = form.split('name="csrf_token" value="')[1].split('"')[0]
        r = http.post(
            server.url + "/login",
            data={"username": "ada", "password": "a-long-password", "csrf_token": token},
            headers={"X-Forwarded-Proto": "https", "Origin": server.url},
            allow_redirects=False,
            timeout=10,
        )
        assert r.status_code == 303
        assert ("Secure" in r.headers["Set-Cookie"]) is secure, (extra, r.headers["Set-Cookie"])


def test_the_scheduler_logs_nothing_at_info(process_server: Any) -> None:
    # The scheduler starts (adding its jobs) before the worker answers its first request.
    server = process_server()
    assert requests.get(server.url + "/api/overview", timeout=10).status_code == 200
    log = Path(server.log.name).read_text()
    assert "Booting worker" in log and "INFO apscheduler" not in log, log[-2000:]


def test_secrets_on_the_command_line_are_warned_about(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "app.py"), "user", "list", "--api-keys", "key-on-the-command-line"]
    result = subprocess.run(
        [*cmd, "--data-dir", str(tmp_path)], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "--api-keys puts a secret on the command line" in result.stderr
    assert "PULSE_API_KEYS" in result.stderr
    quiet = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "user", "list", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        env=clean_env(PULSE_API_KEYS="key-in-the-environment"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "secret" not in quiet.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    from auth.secret import load_secret_key
    from settings import load_settings

    key_file = tmp_path / "key"
    key_file.write_text("a-key-of-more-than-sixteen-characters\n")
    settings = load_settings({"data_dir": str(tmp_path / "d"), "secret_key_file": str(key_file)}, environ={})
    assert load_secret_key(settings) == "a-key-of-more-than-sixteen-characters"
    assert not (tmp_path / "d" / "secret_key").exists()


def test_control_characters_in_logged_values_are_escaped() -> None:
    from app import configure_logging

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    previous = logging.getLogRecordFactory()
    configure_logging("INFO")
    logger = logging.getLogger("pulseboard.test-escaping")
    logger.addHandler(handler)
    try:
        logger.warning("entity %s done", "scan\n2026-12-02 INFO pulseboard: forged\x1b[31m")
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(previous)
    assert out.getvalue() == "entity scan\\n2026-12-02 INFO pulseboard: forged\\x1b[31m done\n"


@pytest.mark.parametrize("host", ["attacker.example:8073", "10.1.2.3.nip.io"])
def test_with_sign_in_off_a_foreign_host_is_refused_even_for_reads(sqlite_server: Any, host: str) -> None:
    r = sqlite_server.get("/api/events", headers={"Host": host})
    assert r.status_code == 421
    assert sqlite_server.get("/api/events", headers={"Host": "localhost:8050"}).status_code == 200
