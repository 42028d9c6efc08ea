"""Several Pulseboard nodes on one PostgreSQL database behind nginx, on this machine.

``Cluster`` starts N ``python app.py serve`` subprocesses on free loopback
ports, all with the same ``--db`` and the same ``--secret-key-file`` and with
``--trusted-proxies 1``, then the system's nginx (``nginx -c <conf> -p <dir>``,
``daemon off``) on another free loopback port with a round-robin upstream over
the nodes. It is ready when ``/health`` answers through nginx; ``stop`` ends
nginx and every node, and runs also when starting failed half way.

``SITE`` is the part of nginx's configuration that docs/deployment.md shows:
the test checks that the page holds it verbatim.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from tests.conftest import ProcessServer, free_port, wait_until

# The upstream and the server block: WebSocket upgrades passed on, SSE unbuffered,
# the client's address and scheme forwarded for --trusted-proxies 1.
SITE = """\
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}

upstream pulseboard {
{servers}
}

server {
    listen {listen};
    client_max_body_size 6m;

    location / {
        proxy_pass http://pulseboard;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_buffering off;
        proxy_read_timeout 1h;
        proxy_send_timeout 1h;
    }
}
"""

# What a process of its own needs around SITE: files under the prefix, in the foreground.
MAIN = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format upstream '$status $upstream_addr $request_method $uri';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{site}
}}
"""


def site_conf(listen: str, nodes: list[str]) -> str:
    """SITE with its listen address and one ``server`` line per node (``host:port``)."""
    servers = "\n".join(f"    server {node};" for node in nodes)
    return SITE.replace("{servers}", servers).replace("{listen}", listen)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        raise RuntimeError("nginx is not installed: run 'make system-deps' (or apt-get install nginx)")
    return found


class Nginx:
    def __init__(self, nodes: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="pulse-nginx-"))
        self.dir.chmod(0o755)  # nginx's workers (nobody, when started as root) buffer large bodies in here
        site = "\n".join(
            "    " + line if line else "" for line in site_conf(f"127.0.0.1:{self.port}", nodes).splitlines()
        )
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(MAIN.format(dir=self.dir, site=site), encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.dir / "stderr.log", "wb") as log:
            self.proc = subprocess.Popen(
                [nginx_binary(), "-c", str(self.conf), "-p", str(self.dir), "-e", str(self.dir / "error.log")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def answers(self) -> list[tuple[int, str, str, str]]:
        """(status, node ``host:port``, method, path) of every request nginx has passed on, oldest first."""
        lines = (self.dir / "access.log").read_text(encoding="utf-8").splitlines()
        return [(int(status), node, method, path) for status, node, method, path in (ln.split(" ", 3) for ln in lines)]

    def log(self) -> str:
        return "\n".join(
            (self.dir / name).read_text(errors="replace")[-2000:]
            for name in ("stderr.log", "error.log")
            if (self.dir / name).exists()
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)  # graceful: ends after the open connections
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Cluster:
    """``size`` app nodes on ``db_url`` behind one nginx."""

    def __init__(
        self, db_url: str, data_root: Path, *args: str, size: int = 2, auth: bool = False, key: str | None = None
    ) -> None:
        """``key``: an API key that :meth:`get`, :meth:`post` and :attr:`http` send (``Bearer``)."""
        self.db_url = db_url
        self.data_root = data_root
        self.secret_key_file = data_root / "secret_key"
        self.secret_key_file.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        self.secret_key_file.chmod(0o600)
        common = ["--db", db_url, "--secret-key-file", str(self.secret_key_file), "--trusted-proxies", "1"]
        common += ["--auth"] if auth else []
        self.nodes = [ProcessServer(["--data-dir", str(data_root / f"node{i}"), *common, *args]) for i in range(size)]
        self.nginx = Nginx([f"127.0.0.1:{node.port}" for node in self.nodes])
        self.url = self.nginx.url
        self.http = requests.Session()
        if key is not None:
            self.http.headers["Authorization"] = f"Bearer {key}"

    def start(self, timeout: float = 90) -> Cluster:
        try:
            for node in self.nodes:  # all at once: each upgrades the schema under its own lock
                node.launch()
            for node in self.nodes:
                wait_until(node._healthy, timeout=timeout, message=f"node on {node.url} ({node.log.name})")
            self.nginx.start()
            wait_until(self._healthy, timeout=30, message=f"nginx on {self.url}")
        except BaseException:
            self.stop()
            raise
        return self

    def _healthy(self) -> bool:
        assert self.nginx.proc is not None
        if self.nginx.proc.poll() is not None:
            raise AssertionError(f"nginx exited with {self.nginx.proc.returncode}: {self.nginx.log()}")
        return requests.get(self.url + "/health", timeout=2).status_code == 200

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.url + path, timeout=30, **kw)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def stop(self) -> None:
        self.http.close()
        with contextlib.suppress(Exception):
            self.nginx.stop()
        for node in self.nodes:  # all told at once, then each waited for
            if node.proc and node.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.proc.pid, signal.SIGTERM)
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()


def add_admin(db_url: str, name: str, password: str) -> None:
    """A dashboard user who can sign in (--auth needs one before it serves)."""
    from auth.passwords import hash_password
    from data.db import Database
    from data.users import add_user

    db = Database(db_url)
    try:
        db.migrate()
        with db.write() as conn:
            add_user(
                conn, username=name, password_hash=hash_password(password), role="admin", now=datetime.now(timezone.utc)
            )
    finally:
        db.dispose()
