"""The key that signs session cookies: ``PULSE_SECRET_KEY``, the file named by
``--secret-key-file``, or one generated once into ``<data-dir>/secret_key``
(mode 0600) and read back by every process."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from settings import Settings, SettingsError


def load_secret_key(settings: Settings) -> str:
    if settings.secret_key:
        if len(settings.secret_key) < 16:
            raise SettingsError(
                "PULSE_SECRET_KEY: use at least 16 characters (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return settings.secret_key
    path = Path(settings.secret_key_file or Path(settings.data_dir) / "secret_key")
    try:
        if not path.exists() and not settings.secret_key_file:
            _create(path)
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"secret key: cannot create or read {path}: {exc.strerror}") from None
    if len(key) < 16:
        raise SettingsError(f"secret key: {path} holds fewer than 16 characters; delete it to make a new one")
    return key


def _create(path: Path) -> None:
    """Write a fresh key so that concurrent starters (gunicorn workers) all end up with the same one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: its key is the key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
