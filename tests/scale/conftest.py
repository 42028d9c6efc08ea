"""Clusters for the tests of several nodes: ``make_cluster(*args, auth=...)``
starts two ``app.py serve`` nodes on a fresh PostgreSQL database (or on
``url``) behind nginx; each module gets its own and it is stopped at the
module's end, also when a test failed."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cluster import Cluster, add_admin


@pytest.fixture(scope="module")
def make_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    started: list[Cluster] = []

    def factory(
        *args: str,
        auth: bool = False,
        users: dict[str, str] | None = None,
        fresh: bool = False,
        url: str | None = None,
        key: str | None = None,
    ) -> Cluster:
        """``fresh``: a database without the schema, which the nodes upgrade as they start;
        ``url``: a migrated database of the test's own instead of one on the shared server;
        ``key``: the API key the cluster's own requests send."""
        if url is None and fresh:
            postgres = request.getfixturevalue("postgres")
            name = f"pulse_cluster_{secrets.token_hex(6)}"
            postgres.admin(f"CREATE DATABASE {name}")
            url = postgres.url(name)
        elif url is None:
            url = request.getfixturevalue("postgres").new_database()
        for name, password in (users or {}).items():
            add_admin(url, name, password)
        cluster = Cluster(url, tmp_path_factory.mktemp("cluster"), *args, auth=auth, key=key)
        started.append(cluster)
        return cluster.start()

    yield factory
    for cluster in started:
        cluster.stop()
