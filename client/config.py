"""The client's settings: defaults, then ``PULSE_*`` environment variables,
then the caller's arguments; and where the spool file lives.

| variable          | default                                   |
|-------------------|-------------------------------------------|
| PULSE_URL         | http://127.0.0.1:8050                     |
| PULSE_API_KEY     | (none)                                    |
| PULSE_SOURCE      | default (the runner: runner)              |
| PULSE_SPOOL_DIR   | the user's data dir + /pulseboard         |

This package runs inside other programs, so unlike the server it reads the
environment itself (only here).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8050"
DEFAULT_SOURCE = "default"


@dataclasses.dataclass(frozen=True)
class Config:
    url: str = DEFAULT_URL
    api_key: str | None = None
    source: str = DEFAULT_SOURCE
    spool_dir: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, default_source: str = DEFAULT_SOURCE) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            url=env.get("PULSE_URL") or DEFAULT_URL,
            api_key=env.get("PULSE_API_KEY") or None,
            source=env.get("PULSE_SOURCE") or default_source,
            spool_dir=env.get("PULSE_SPOOL_DIR") or None,
        )

    def replace(self, **changes: str | None) -> Config:
        """A copy with the given non-None values (command-line flags over the environment)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def spool_path(self) -> Path:
        return spool_path(self.source, self.spool_dir)


def data_dir() -> Path:
    """The per-user data directory: XDG on Linux, the platform's place elsewhere."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pulseboard"


def spool_path(source: str, spool_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<spool dir>/spool-<source>.db``; the source is made safe as a file name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", source)[:100] or DEFAULT_SOURCE
    return Path(spool_dir or data_dir()) / f"spool-{safe}.db"
