"""Fixtures of the storage tests: a migrated database on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from data.db import Database


@pytest.fixture
def db(migrated_db: Database) -> Database:
    return migrated_db
