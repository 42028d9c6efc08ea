"""The Alembic migrations build, on SQLite and PostgreSQL, exactly the schema
the models describe, and upgrading again changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from data.db import Database
from data.models import Base
from data.partitions import include_object


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, db_url: str) -> str:
    """A database with no tables at all (``db_url`` on PostgreSQL is a copy of a migrated template)."""
    if db_url.startswith("sqlite"):
        return db_url
    postgres = request.getfixturevalue("postgres")
    name = db_url.rsplit("/", 1)[1] + "_empty"
    postgres.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    return str(postgres.url(name))


def differences(db: Database) -> list[Any]:
    """What autogenerate would change, compared as the migrations environment compares
    (on PostgreSQL the uid uniqueness of the partitioned events is kept outside the table)."""
    with db.engine.connect() as conn:
        opts: dict[str, Any] = {"compare_type": True, "render_as_batch": True}
        if (hook := include_object(db.dialect)) is not None:
            opts["include_object"] = hook
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, Base.metadata))


def test_the_migrated_schema_matches_the_models(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    try:
        assert inspect(db.engine).get_table_names() == []
        db.migrate()
        assert set(inspect(db.engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
        assert differences(db) == []
    finally:
        db.dispose()


def test_migrating_again_changes_nothing(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        db.migrate()
        with db.engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert len(versions) == 1
        assert differences(db) == []
    finally:
        db.dispose()


def test_a_database_that_cannot_be_opened_raises_one_clear_line(tmp_path: Path) -> None:
    from data.db import DatabaseError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseError) as info:
        Database(f"sqlite:///{blocker / 'sub' / 'pulse.db'}")
    assert "\n" not in str(info.value)
