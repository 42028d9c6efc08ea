"""Alembic environment: runs on the connection handed over by data.db.Database.migrate
(or on ``sqlalchemy.url`` when run from the alembic command line)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from data.models import Base
from data.partitions import include_object

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=include_object(connection.dialect.name),
        )
        context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=include_object(conn.dialect.name),
        )
        context.run_migrations()


run()
