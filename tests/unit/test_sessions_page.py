"""A session's page: an ended session shows its final speed, not a current
one, and the interactions' title says when the table holds only the latest."""

from __future__ import annotations

from typing import Any

from layouts import sessions


def metrics(active: bool, executions: int) -> dict[str, Any]:
    return {
        "session_id": "sess_1",
        "active": active,
        "user": "maria_s",
        "started_at": "2026-11-19T09:00:00+00:00",
        "total_boxes": 120.0,
        "session_duration_s": 1800.0,
        "average_speed": 0.0667,
        "current_speed": 0.05,
        "total_executions": executions,
    }


def texts(component: Any) -> list[str]:
    """Every string in a component tree, in order."""
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if children is None:
        return []
    items = children if isinstance(children, list) else [children]
    return [t for child in items for t in texts(child)]


def test_an_ended_session_shows_its_final_speed() -> None:
    ended = texts(sessions.detail(metrics(active=False, executions=40)))
    assert "final speed (last 10 min)" in ended and "current speed (10 min)" not in ended
    assert "0.050/s" in ended and "Interactions (40)" in ended
    active = texts(sessions.detail(metrics(active=True, executions=40)))
    assert "current speed (10 min)" in active and "final speed (last 10 min)" not in active


def test_the_interactions_title_says_when_only_the_latest_are_listed() -> None:
    page = texts(sessions.detail(metrics(active=False, executions=1086)))
    assert "Interactions (showing the latest 500 of 1,086)" in page
    assert sessions.interactions_title(500) == "Interactions (500)"
