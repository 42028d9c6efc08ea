"""A key's rate limit holds across two nodes behind nginx: the nodes count in
one shared window in PostgreSQL (``--rate-limit-storage`` defaults to the
database there), so a burst past the limit is refused with 429 whichever
node answers, and as many requests are let in as one bucket allows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster import Cluster
from tests.scale.checks import a_burst_is_refused_by_both_nodes_as_by_one_bucket, warm_up

KEYS = ("limit-key-1", "limit-key-2", "warm-up-key", "limit-key-3", "limit-key-4")
RATE = 3  # a second: bursts of 6, in windows of 2 s


@pytest.fixture(scope="module")
def cluster(make_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    keys = tmp_path_factory.mktemp("keys") / "api_keys"
    keys.write_text("\n".join(KEYS) + "\n", encoding="utf-8")
    # A database without the schema: both nodes start on it together and upgrade it in turn.
    cluster: Cluster = make_cluster("--api-keys-file", str(keys), "--rate-limit", str(RATE), fresh=True)
    warm_up(cluster, KEYS[2])
    return cluster


def test_a_burst_past_the_limit_is_refused_by_both_nodes_as_by_one_bucket(cluster: Cluster) -> None:
    tries = [(i, KEYS[i]) for i in (0, 3, 4)]
    a_burst_is_refused_by_both_nodes_as_by_one_bucket(cluster, tries, RATE)


def test_another_key_has_a_window_of_its_own(cluster: Cluster) -> None:
    headers = {"Authorization": f"Bearer {KEYS[1]}"}
    statuses = [cluster.get("/api/events", params={"type": "none"}, headers=headers).status_code for _ in range(8)]
    assert statuses == [200] * 6 + [429] * 2
