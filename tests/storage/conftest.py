"""Fixtures of the storage tests: a migrated database on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data.db import Database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    yield database
    database.dispose()
