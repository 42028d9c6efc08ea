"""What the tests of several nodes check, each as a function of a running
``Cluster`` so that the tests of one part (test_nodes, test_limits, test_jobs)
and the test of the whole installation (test_cluster) run the same checks.

Requests go through ``cluster.http``: with ``Cluster(key=...)`` they carry
that API key, also those asked of one node directly (``node.url``)."""

from __future__ import annotations

import json
import signal
import socket
from datetime import timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text

from data.db import Database
from data.models import ALERT_NOTIFICATIONS, ALERTS
from tests import wsclient
from tests.cluster import Cluster
from tests.conftest import ProcessServer, wait_until

# ------------------------------------------------------------------ live feed


def metric(cluster: Cluster, node: ProcessServer, name: str, **labels: str) -> float:
    """The value of one sample of a node's own /metrics (asked of the node, not through nginx)."""
    body = cluster.http.get(node.url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def receive(ws: Any, timeout: float = 15) -> dict[str, Any]:
    raw = ws.receive(timeout=timeout)
    assert raw is not None, "no message within the timeout"
    return json.loads(raw)  # type: ignore[no-any-return]


def events_reach_clients_of_both_nodes_once(cluster: Cluster, source: str, batches: int = 20) -> None:
    """Four WebSocket clients through nginx (two on each node) subscribed to
    ``source``; 100 events posted in ``batches`` batches (it divides 100), which
    nginx hands to the nodes in turn: every client gets every event, none
    twice, and nothing after."""
    size = 100 // batches
    headers = {k: v for k, v in cluster.http.headers.items() if k == "Authorization"}
    sockets = [wsclient.connect(cluster.ws_url + "/ws", headers=headers) for _ in range(4)]
    try:
        for ws in sockets:
            ws.send(json.dumps({"type": "subscribe", "topics": [f"source:{source}"]}))
            assert receive(ws)["type"] == "initial_data"
        # nginx took turns: each node serves two of the four sockets.
        assert [metric(cluster, node, "pulseboard_live_clients") for node in cluster.nodes] == [2.0, 2.0]
        stored_before = [metric(cluster, node, "pulseboard_events_ingested_total") for node in cluster.nodes]
        posted: list[int] = []
        for k in range(batches):
            batch = [{"type": "rr", "source": source, "value": k * size + j} for j in range(size)]
            r = cluster.post("/api/events", json=batch)
            assert r.status_code in (200, 201), r.text
            posted += r.json()["ids"]
        assert len(set(posted)) == 100
        # Both nodes stored some of them (each counts what it committed).
        stored = [
            metric(cluster, node, "pulseboard_events_ingested_total") - b
            for node, b in zip(cluster.nodes, stored_before)
        ]
        assert all(n >= 50 for n in stored), stored
        for ws in sockets:
            events: list[dict[str, Any]] = []
            while len(events) < 100:
                message = receive(ws)
                assert message["type"] == "realtime_update"
                events += message["events"]
            ids = [e["id"] for e in events]
            assert sorted(ids) == sorted(posted) and len(ids) == 100  # every event, none twice
            assert sorted(e["value"] for e in events) == list(range(100))
        # Nothing trails: the next frame on each socket is the next event alone.
        (end,) = cluster.post("/api/events", json=[{"type": "end", "source": source}]).json()["ids"]
        for ws in sockets:
            after = receive(ws)
            assert [e["id"] for e in after["events"]] == [end]
    finally:
        for ws in sockets:
            ws.close()


# ----------------------------------------------------------------- rate limit


def warm_up(cluster: Cluster, key: str) -> None:
    """One write and one read on each node, with a key of their own: the first of each
    are slow (connections, caches), so that a burst after them takes a small part of its window."""
    warm = {"Authorization": f"Bearer {key}"}
    for _ in cluster.nodes:  # nginx takes turns: each node one write
        r = cluster.post("/api/events", json={"type": "warm"}, headers=warm)
        assert r.status_code == 201, r.text
    for _ in cluster.nodes:  # and one read
        r = cluster.get("/api/events", params={"type": "warm"}, headers=warm)
        assert r.status_code == 200, r.text


def window_end(cluster: Cluster, index: int) -> float | None:
    """When the shared window of the ``index``-th API key ends (None: no window open)."""
    db = Database(cluster.db_url)
    try:
        with db.read() as conn:
            found = conn.execute(
                text("SELECT max(expires_at) FROM rate_limits WHERE key LIKE :k"), {"k": f"%/key:{index}/%"}
            ).scalar()
    finally:
        db.dispose()
    return float(found) if found is not None else None


def stored_values(cluster: Cluster, kind: str) -> list[int]:
    """The values of the events of type ``kind``, read from the database itself."""
    db = Database(cluster.db_url)
    try:
        with db.read() as conn:
            rows = conn.execute(text("SELECT value FROM events WHERE type = :t"), {"t": kind}).scalars()
            return sorted(int(v) for v in rows)
    finally:
        db.dispose()


def a_burst_is_refused_by_both_nodes_as_by_one_bucket(
    cluster: Cluster, keys: list[tuple[int, str]], rate: int, extra: int | None = None
) -> None:
    """The burst of ``--rate-limit rate`` and ``extra`` more requests (even;
    default: a burst more) with one key, writes and reads in turn through
    nginx: the burst's worth are let in and the rest refused, though each node
    answered half. ``keys`` are (index in the keys file, key): a burst that a
    window's end cut in two (a slow machine) is made again with the next key."""
    burst = 2 * rate
    extra = burst if extra is None else extra
    for index, key in keys:
        headers = {"Authorization": f"Bearer {key}"}
        kind = f"burst-{index}"
        seen = len(cluster.nginx.answers())
        answers = []
        for k in range(burst + extra):  # writes (on the fast ingest path) and reads, in turn
            if k % 2 == 0:
                r = cluster.post("/api/events", json={"type": kind, "value": k}, headers=headers)
            else:
                r = cluster.get("/api/events", params={"type": kind}, headers=headers)
            answers.append(r)
            if k == 0:
                opened = window_end(cluster, index)
        if window_end(cluster, index) == opened:
            break
    else:
        raise AssertionError(f"each of {len(keys)} bursts was cut by the end of its window")
    statuses = [r.status_code for r in answers]
    # One bucket: the first burst in, the others refused (a bucket per node would let all in).
    assert [s < 400 for s in statuses] == [True] * burst + [False] * extra, statuses
    for r in answers[burst:]:
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 2, r.text
        assert r.json()["error"].startswith(
            f"too many requests: at most {rate} a second (bursts of {burst}) per API key or client address; retry in "
        )

    # nginx took turns: each node let half the burst in and refused half the rest.
    def logged() -> list[tuple[int, str, str, str]]:  # the burst's (closed WebSockets are logged as they close)
        return [line for line in cluster.nginx.answers()[seen:] if line[3] == "/api/events"]

    lines = wait_until(lambda: len(got := logged()) == burst + extra and got, message="the burst's log lines")
    for node in cluster.nodes:
        mine = [status for status, upstream, _m, _p in lines if upstream == f"127.0.0.1:{node.port}"]
        assert (len(mine), mine.count(429)) == ((burst + extra) // 2, extra // 2), lines
    # The refused writes stored nothing.
    assert stored_values(cluster, kind) == list(range(0, burst, 2))


# --------------------------------------------------------------- job takeover

# Pending after five orders, firing 10 s later: long enough to kill its node in between.
RULE = {
    "name": "cluster-orders",
    "filter": {"type": "order"},
    "group_by": [],
    "window": "10m",
    "threshold": 3,
    "for": "10s",
    "severity": "error",
}


def holds_lease(cluster: Cluster, node: ProcessServer) -> bool:
    return metric(cluster, node, "pulseboard_job_lease") == 1


def lease_holder(cluster: Cluster) -> ProcessServer:
    alive = [n for n in cluster.nodes if n.proc is not None and n.proc.poll() is None]
    # Asked every 0.2 s (a holder is checked every 5 s): the questions count against the cluster's key.
    holders = wait_until(
        lambda: [n for n in alive if holds_lease(cluster, n)], timeout=30, interval=0.2, message="a lease holder"
    )
    assert len(holders) == 1, "more than one node runs the jobs"
    return holders[0]  # type: ignore[no-any-return]


def notifications(db: Any, rule_id: int, kind: str) -> dict[str, int]:
    """How many notifications of ``kind`` the rule's alerts have had, per target."""
    with db.read() as conn:
        rows = conn.execute(
            select(ALERT_NOTIFICATIONS.c.target, func.count())
            .join(ALERTS, ALERTS.c.id == ALERT_NOTIFICATIONS.c.alert_id)
            .where(ALERTS.c.rule_id == rule_id, ALERT_NOTIFICATIONS.c.kind == kind)
            .group_by(ALERT_NOTIFICATIONS.c.target)
        ).all()
    return {target: int(n) for target, n in rows}


def alert_rows(db: Any, rule_id: int) -> list[dict[str, Any]]:
    """The rule's alerts as stored."""
    columns = (ALERTS.c.state, ALERTS.c.fired_at, ALERTS.c.last_eval_at)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(*columns).where(ALERTS.c.rule_id == rule_id))]


def states(db: Any, rule_id: int) -> list[str]:
    return [a["state"] for a in alert_rows(db, rule_id)]


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def a_pending_alert_fires_once_after_its_node_is_killed(
    cluster: Cluster, db: Any, rule: dict[str, Any]
) -> tuple[ProcessServer, ProcessServer]:
    """``rule`` (a threshold on ``type: order`` events, ``for`` a few seconds)
    goes pending; the lease holder is killed (SIGKILL); the other node takes
    the lease and fires the alert within a minute, once, with one notification
    per target. Returns (the killed node, the survivor)."""
    r = cluster.post("/api/rules", json=rule)
    assert r.status_code == 201, r.text
    made = r.json()
    assert cluster.post("/api/events", json=[{"type": "order", "source": "shop"}] * 5).status_code == 201
    wait_until(lambda: states(db, made["id"]) == ["pending"], timeout=30, message="a pending alert")
    holder = lease_holder(cluster)
    holder.stop(signal.SIGKILL)
    assert holder.proc is not None and holder.proc.returncode == -signal.SIGKILL
    # Killed while pending: nothing fired yet.
    assert states(db, made["id"]) == ["pending"] and notifications(db, made["id"], "firing") == {}
    (survivor,) = (n for n in cluster.nodes if n is not holder)
    assert lease_holder(cluster) is survivor
    # Through nginx: once the killed node's worker is gone too, nginx skips it (connection refused).
    wait_until(lambda: refuses(holder.port), message="the killed node's port closed")
    wait_until(lambda: states(db, made["id"]) == ["firing"], timeout=60, message="the alert firing")
    # A few more evaluations by the survivor, then: one alert, one firing notice per target.
    fired_at = alert_rows(db, made["id"])[0]["fired_at"]
    wait_until(
        lambda: alert_rows(db, made["id"])[0]["last_eval_at"] >= fired_at + timedelta(seconds=3),
        message="more evaluations",
    )
    assert states(db, made["id"]) == ["firing"]
    sent = notifications(db, made["id"], "firing")
    assert [t["type"] for t in made["spec"]["targets"]] == ["live", "log"]  # the default targets
    assert sent == {"live": 1, "log": 1}
    active = cluster.get("/api/alerts/active").json()["alerts"]
    assert [a["state"] for a in active if a["rule"] == rule["name"]] == ["firing"], active
    return holder, survivor
