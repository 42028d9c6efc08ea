"""Drill-down pages read their id from the address, percent-decoded."""

from __future__ import annotations

from typing import Any

from layouts import executions, ids, sessions


def store_data(component: Any, store_id: str) -> Any:
    stack = [component]
    while stack:
        node = stack.pop()
        if getattr(node, "id", None) == store_id:
            return node.data
        children = getattr(node, "children", None)
        stack.extend(children if isinstance(children, list) else [children] if children is not None else [])
    raise AssertionError(f"no {store_id}")


def test_a_session_id_is_decoded_from_the_path() -> None:
    assert store_data(sessions.page("/sessions/sess%20a%2Bb", {}), ids.S_ID) == "sess a+b"


def test_an_execution_id_is_decoded_from_the_path() -> None:
    assert store_data(executions.page("/executions/run%3A1%20x", {}), ids.X_ID) == "run:1 x"
