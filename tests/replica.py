"""What the read-replica tests ask of a server and of the standby, whether the
server is one process (``LiveServer``) or nodes behind nginx (``Cluster``):
anything with ``get`` and ``post``.

The standby's replay is paused to tell the two apart: events written on the
primary meanwhile are on the primary only, so a count that leaves them out
was answered by the standby."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from layouts import ids
from tests.conftest import Replicated, wait_until


def post(server: Any, source: str, n: int) -> None:
    now = datetime.now(timezone.utc)
    r = server.post("/api/events", json=[{"type": "ping", "source": source, "ts": now.isoformat()}] * n)
    assert r.status_code == 201, r.text


def explore_count(server: Any, source: str) -> int:
    """The events of ``source`` in the last hour, as Explore's API counts them."""
    now = datetime.now(timezone.utc)
    params = {"metric": "count", "source": source, "since": (now - timedelta(hours=1)).isoformat()}
    r = server.get("/api/query", params={**params, "until": (now + timedelta(minutes=1)).isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    return sum(int(row["value"]) for row in body["rows"])


def on_standby(replicated: Replicated, source: str) -> int:
    count = replicated.standby.query(replicated.name, f"SELECT count(*) FROM events WHERE source = '{source}'")
    return int(count)


@contextlib.contextmanager
def replay_paused(replicated: Replicated) -> Iterator[None]:
    """The standby keeps what it has replayed and applies nothing new until the end."""
    replicated.standby.query("postgres", "SELECT pg_wal_replay_pause()")
    wait_until(
        lambda: replicated.standby.query("postgres", "SELECT pg_get_wal_replay_pause_state()") == "paused",
        message="replay paused",
    )
    try:
        yield
    finally:
        replicated.standby.query("postgres", "SELECT pg_wal_replay_resume()")


def shown(tree: Any) -> list[str]:
    """The texts a component tree shows (its string children, not its hover titles)."""
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, list):
        return [t for item in tree for t in shown(item)]
    if isinstance(tree, dict):
        return shown(tree.get("props", {}).get("children"))
    return []


def system_cards(server: Any) -> dict[str, str]:
    """The System page's cards (label -> value), as the browser gets them from its callback."""
    outputs = [
        {"id": ids.SY_CARDS, "property": "children"},
        {"id": ids.SY_CHART, "property": "figure"},
        {"id": ids.SY_TIMINGS, "property": "rowData"},
        {"id": ids.SY_FULL, "property": "children"},
        {"id": ids.SY_GROWTH, "property": "figure"},
    ]
    body = {
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..",
        "outputs": outputs,
        "inputs": [
            {"id": ids.TIME_RANGE, "property": "data", "value": None},
            {"id": ids.REFRESH, "property": "n_intervals", "value": 1},
            {"id": ids.THEME_STORE, "property": "data", "value": None},
        ],
        "changedPropIds": [f"{ids.REFRESH}.n_intervals"],
        "state": [],
    }
    r = server.post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.text
    texts = shown(r.json()["response"][ids.SY_CARDS]["children"])
    return dict(zip(texts[0:-1:2], texts[1::2]))  # label, value, ...; then the line under the cards


def statements(replicated: Replicated, server: str) -> dict[str, int]:
    """The statements that ``server`` ("primary" or "standby") has run in the
    replicated database, each with how many times (its own ``pg_stat_statements``)."""
    import psycopg

    port = replicated.standby.port if server == "standby" else replicated.primary.port
    conninfo = f"host=127.0.0.1 port={port} user=postgres dbname={replicated.name}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)",
            (replicated.name,),
        ).fetchall()
    return {query: int(calls) for query, calls in rows}


def counted(replicated: Replicated, server: str, ask: Any, sql: str) -> tuple[Any, int]:
    """``ask()``'s answer, and how many times ``server`` ran statements containing ``sql`` meanwhile."""
    before = statements(replicated, server)
    answer = ask()
    after = statements(replicated, server)
    return answer, sum(n - before.get(q, 0) for q, n in after.items() if sql in q)
