"""The whole installation of docs/deployment.md's third size on this machine:
a PostgreSQL primary and its streaming standby (``pg_basebackup -R``), two
``app.py serve`` nodes on the primary with ``--db-read`` on the standby, and
nginx in front. Through nginx: events posted in turn to the nodes reach
WebSocket clients of both once; a key's rate limit holds across the nodes;
Explore's reads are answered by the standby (its own ``pg_stat_statements``
counts them) and by the primary while the standby is stopped, which the
System page and the health of each node report; an export file written by
one node into the nodes' shared ``--export-dir`` is listed and served by
both; killing the node that runs the alert evaluator lets the other fire the
pending alert within a minute, once.

One cluster for the module, stopped at its end (also when a test failed);
the node-killing test comes last, as it leaves one node."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from data.db import Database
from tests.cluster import Cluster
from tests.conftest import ProcessServer, Replicated, wait_until
from tests.replica import counted, explore_count, on_standby, post, replay_paused, system_cards
from tests.scale.checks import (
    RULE,
    a_burst_is_refused_by_both_nodes_as_by_one_bucket,
    a_pending_alert_fires_once_after_its_node_is_killed,
    events_reach_clients_of_both_nodes_once,
    warm_up,
)

KEYS = ("cluster-key", "warm-up-key", "limit-key-1", "limit-key-2", "limit-key-3")
# A second per key: bursts of 24 in windows of 2 s, more than the other tests send with one key
# (the live-feed test posts its 100 events in 10 batches), and few enough to send in one window.
RATE = 12


@pytest.fixture(scope="module")
def cluster(replicated_postgres: Replicated, make_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    # replicated_postgres first: set up before the nodes, so stopped after them.
    keys = tmp_path_factory.mktemp("keys") / "api_keys"
    keys.write_text("\n".join(KEYS) + "\n", encoding="utf-8")
    shared = tmp_path_factory.mktemp("shared-exports")  # as a directory on NFS would be
    cluster: Cluster = make_cluster(
        "--db-read", replicated_postgres.standby_url,
        "--export-dir", str(shared),
        "--alert-interval", "1",
        "--api-keys-file", str(keys),
        "--rate-limit", str(RATE),
        url=replicated_postgres.primary_url,
        key=KEYS[0],
    )  # fmt: skip
    warm_up(cluster, KEYS[1])
    return cluster


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Iterator[Database]:
    database = Database(cluster.db_url)
    yield database
    database.dispose()


def test_events_posted_in_turn_reach_clients_of_both_nodes_once(cluster: Cluster) -> None:
    events_reach_clients_of_both_nodes_once(cluster, "whole-cluster", batches=10)


def test_a_keys_limit_holds_across_both_nodes(cluster: Cluster) -> None:
    tries = [(i, KEYS[i]) for i in (2, 3, 4)]
    a_burst_is_refused_by_both_nodes_as_by_one_bucket(cluster, tries, RATE, extra=6)


# Explore's count of events in a time range, as pg_stat_statements normalises it.
EXPLORE_SQL = "count(*) AS n \nFROM events \nWHERE events.source IN"
QUERY, DASH = "/api/query", "/_dash-update-component"  # Explore's API; the System page's callback
EXPORTS = "/api/exports/files"


def each_node(cluster: Cluster, ask: Any, path: str) -> list[Any]:
    """``ask(cluster)``, a request for ``path``, once per node: nginx hands consecutive
    requests to the nodes in turn, which its log confirms."""
    seen = len(cluster.nginx.answers())

    def logged() -> list[str]:  # nginx writes a line just after its answer: waited for
        return [node for _status, node, _m, where in cluster.nginx.answers()[seen:] if where == path]

    got = [ask(cluster) for _ in cluster.nodes]
    served = wait_until(lambda: len(found := logged()) == len(cluster.nodes) and found, message=f"{path} in the log")
    assert sorted(served) == sorted(f"127.0.0.1:{n.port}" for n in cluster.nodes), served
    return got


def explored_on(cluster: Cluster, replicated: Replicated, server: str, source: str) -> tuple[list[int], int]:
    """Explore's count of ``source`` asked of each node through nginx, and how many
    Explore reads ``server`` ("primary" or "standby") ran meanwhile."""
    ask = lambda: each_node(cluster, lambda c: explore_count(c, source), QUERY)  # noqa: E731
    return counted(replicated, server, ask, EXPLORE_SQL)  # type: ignore[no-any-return]


def health(node: ProcessServer) -> dict[str, Any]:
    r = requests.get(node.url + "/api/health", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_explore_reads_hit_the_standby_and_the_primary_while_it_is_stopped(
    cluster: Cluster, replicated_postgres: Replicated
) -> None:
    source = "whole-cluster-replica"
    post(cluster, source, 3)
    wait_until(lambda: on_standby(replicated_postgres, source) == 3, message="events on the standby")
    with replay_paused(replicated_postgres):
        post(cluster, source, 2)
        # Both nodes count 3, not 5: the standby has not replayed the last two; and the standby ran both.
        assert explored_on(cluster, replicated_postgres, "standby", source) == ([3, 3], 2)
    wait_until(lambda: on_standby(replicated_postgres, source) == 5, message="the standby caught up")
    for cards in each_node(cluster, system_cards, DASH):
        assert re.fullmatch(r"lag \d+\.\d s", cards["read replica"]), cards
    for node in cluster.nodes:
        assert health(node)["read_replica"]["up"] is True
    replicated_postgres.standby.stop()
    try:
        post(cluster, source, 1)
        assert explored_on(cluster, replicated_postgres, "primary", source) == ([6, 6], 2)  # answered by the primary
        for cards in each_node(cluster, system_cards, DASH):
            assert cards["read replica"] == "down: reads go to the primary", cards
        for node in cluster.nodes:
            body = health(node)
            assert body["status"] == "healthy" and body["read_replica"]["up"] is False, body
    finally:
        replicated_postgres.standby.start()


def test_an_export_written_by_one_node_is_listed_and_served_by_both(cluster: Cluster) -> None:
    r = cluster.post("/api/events", json=[{"type": "exported", "source": "shop", "value": v} for v in range(3)])
    assert r.status_code == 201, r.text
    r = cluster.post(
        "/api/exports/schedules", json={"name": "shared", "query": "window=1h&type=exported", "interval_seconds": 3600}
    )
    assert r.status_code == 201, r.text
    made = r.json()
    written = cluster.post(f"/api/exports/schedules/{made['id']}/run")  # by one node
    assert written.status_code == 200 and written.text.splitlines()[1].endswith(",3.0"), written.text  # count: 3
    name = written.headers["X-Export-File"]
    listed = each_node(cluster, lambda c: c.get("/api/exports/files", params={"schedule": made["slug"]}), EXPORTS)
    for r in listed:
        assert [f"{f['schedule']}/{f['name']}" for f in r.json()["files"]] == [name], r.text
    served = each_node(cluster, lambda c: c.get(f"/api/exports/files/{name}"), f"{EXPORTS}/{name}")
    for r in served:
        assert r.status_code == 200 and r.content == written.content, r.text[:300]


def test_killing_the_alert_evaluators_node_leaves_the_other_to_fire_the_pending_alert_once(
    cluster: Cluster, db: Database
) -> None:
    a_pending_alert_fires_once_after_its_node_is_killed(cluster, db, RULE)
