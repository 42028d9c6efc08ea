"""A key's rate limit holds across two nodes behind nginx: the nodes count in
one shared window in PostgreSQL (``--rate-limit-storage`` defaults to the
database there), so a burst past the limit is refused with 429 whichever
node answers, and as many requests are let in as one bucket allows."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import text

from data.db import Database
from tests.cluster import Cluster
from tests.conftest import wait_until

KEYS = ("limit-key-1", "limit-key-2", "warm-up-key")
RATE = 3  # a second: bursts of 6, in windows of 2 s


@pytest.fixture(scope="module")
def cluster(make_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    keys = tmp_path_factory.mktemp("keys") / "api_keys"
    keys.write_text("\n".join(KEYS) + "\n", encoding="utf-8")
    # A database without the schema: both nodes start on it together and upgrade it in turn.
    cluster: Cluster = make_cluster("--api-keys-file", str(keys), "--rate-limit", str(RATE), fresh=True)
    # The first write and read of each node are slow (connections, caches): made here, with a key of their own,
    # so that the bursts below take a small part of their 2 s window.
    warm = {"Authorization": f"Bearer {KEYS[2]}"}
    with requests.Session() as http:
        for _ in range(2):  # nginx takes turns: each node one write
            r = http.post(cluster.url + "/api/events", json={"type": "warm"}, headers=warm, timeout=30)
            assert r.status_code == 201, r.text
        for _ in range(2):  # and one read
            r = http.get(cluster.url + "/api/events", params={"type": "warm"}, headers=warm, timeout=30)
            assert r.status_code == 200, r.text
    return cluster


def stored_values(cluster: Cluster) -> list[int]:
    """The values of the burst's events, read from the database itself."""
    db = Database(cluster.db_url)
    try:
        with db.read() as conn:
            return sorted(int(v) for v in conn.execute(text("SELECT value FROM events WHERE type = 'burst'")).scalars())
    finally:
        db.dispose()


def test_a_burst_past_the_limit_is_refused_by_both_nodes_as_by_one_bucket(cluster: Cluster) -> None:
    headers = {"Authorization": f"Bearer {KEYS[0]}"}
    seen = len(cluster.nginx.answers())
    statuses = []
    with requests.Session() as http:
        for k in range(12):  # writes (on the fast ingest path) and reads, in turn
            if k % 2 == 0:
                r = http.post(
                    cluster.url + "/api/events", json={"type": "burst", "value": k}, headers=headers, timeout=30
                )
            else:
                r = http.get(cluster.url + "/api/events", params={"type": "burst"}, headers=headers, timeout=30)
            statuses.append(r.status_code)
            if k >= 6:
                assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 2, r.text
                assert r.json()["error"].startswith(
                    "too many requests: at most 3 a second (bursts of 6) per API key or client address; retry in "
                )
    # One bucket of 6: the first six in, the other six refused (a bucket per node would let all 12 in).
    assert [s < 400 for s in statuses] == [True] * 6 + [False] * 6, statuses
    # nginx took turns: each node let three in and refused three.
    answers = wait_until(lambda: len(got := cluster.nginx.answers()[seen:]) == 12 and got, message="12 log lines")
    for node in cluster.nodes:
        mine = [status for status, upstream, _m, _p in answers if upstream == f"127.0.0.1:{node.port}"]
        assert (len(mine), mine.count(429)) == (6, 3), answers
    # The refused writes stored nothing.
    assert stored_values(cluster) == [0, 2, 4]


def test_another_key_has_a_window_of_its_own(cluster: Cluster) -> None:
    headers = {"Authorization": f"Bearer {KEYS[1]}"}
    with requests.Session() as http:
        statuses = [
            http.get(cluster.url + "/api/events", params={"type": "none"}, headers=headers, timeout=30).status_code
            for _ in range(8)
        ]
    assert statuses == [200] * 6 + [429] * 2
