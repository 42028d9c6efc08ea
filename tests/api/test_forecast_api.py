"""GET /api/forecast: the Explore query's series and its forecast, with known
data, and the 400s that name the bad parameter.

Data: one ``gauge`` event per hour for the 48 hours before the hour of
``NOW`` (source ``host``), its value 10 + 2 x (hours since the first) with a
small fixed noise: a straight rise, so the maximum per hour keeps
rising by 2 an hour; and 6 ``ping`` events in the last hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.read_factories import HOUR, MIN, event, fixed_now, freeze, post_events, shared_server

NOW = fixed_now() + 30 * MIN  # half past noon: the current hour is still filling
TOP = NOW.replace(minute=0)
WOBBLE = [float(x) for x in np.random.default_rng(3).normal(0.0, 0.2, 48)]  # noise that repeats no cycle
GAUGE = {"source": "host", "type": "gauge", "metric": "max", "bucket": "1h", "window": "48h"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as live:
        rows = [
            event(TOP - (48 - i) * HOUR, "gauge", source="host", value=10.0 + 2.0 * i + WOBBLE[i]) for i in range(48)
        ]
        rows += [event(NOW - k * MIN, "ping", source="host") for k in range(6)]
        post_events(live, rows)
        freeze(live, NOW)
        yield live


def get(server: Any, **params: Any) -> dict[str, Any]:
    r = server.get("/api/forecast", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_rising_gauge_is_extrapolated_with_intervals(server: Any) -> None:
    body = get(server, **GAUGE, horizon="6h")
    assert body["query"]["bucket"] == "1h" and body["query"]["horizon_buckets"] == 6
    assert len(body["history"]) == 47  # the window starts half an hour after the first event
    assert body["model"]["name"] == "ets(A,Ad,N)"
    assert body["model"]["season_length"] == 0
    assert "no cycle found" in body["model"]["reason"]
    points = body["points"]
    assert [p["bucket"][:13] for p in points] == [(TOP + k * HOUR).isoformat()[:13] for k in range(6)]
    # The line goes on: 10 + 2 x 48 = 106 an hour after the last full hour, and rising.
    assert points[0]["value"] == pytest.approx(106.0, abs=2.0)
    assert all(b["value"] > a["value"] for a, b in zip(points, points[1:]))
    for p in points:
        assert p["lower_95"] <= p["lower_80"] <= p["value"] <= p["upper_80"] <= p["upper_95"]
    widths = [p["upper_95"] - p["lower_95"] for p in points]
    assert widths[-1] > widths[0]
    diagnostics = body["diagnostics"]
    assert diagnostics["history"] == 47 and diagnostics["step_seconds"] == 3600.0
    assert {"sigma", "phi", "fit_ms", "interval_scale"} <= set(diagnostics)


def test_the_horizon_defaults_to_a_fifth_of_the_window(server: Any) -> None:
    body = get(server, **GAUGE)
    assert len(body["points"]) == round(48 / 5)


def test_short_history_says_it_fell_back(server: Any) -> None:
    body = get(server, **(GAUGE | {"window": "6h"}), horizon="2h")
    assert body["model"]["name"] == "drift"
    assert "only 5 buckets of history" in body["model"]["reason"]
    assert body["points"][0]["value"] == pytest.approx(106.0, abs=1.0)


def test_counts_start_from_zero_and_no_data_is_an_empty_forecast(server: Any) -> None:
    # Pings only in the current, still-filling hour: no full bucket of history to go on.
    body = get(server, source="host", type="ping", bucket="1h", window="6h", horizon="2h")
    assert all(p["lower_95"] is None or p["lower_95"] >= 0 for p in body["points"])
    empty = get(server, source="nothing", bucket="1h", window="6h")
    assert empty["points"] == [] and empty["model"]["name"] == "none"


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"horizon": "soon"}, "horizon"),
        ({"horizon": "3d"}, "horizon"),  # longer than the window
        ({"horizon": "10s"}, "horizon"),  # shorter than a bucket
        ({"window": "30d", "bucket": "1min", "horizon": "2d"}, "horizon"),  # too many buckets
        ({"bucket": "none"}, "bucket"),
        ({"group_by": "source"}, "group_by"),
        ({"metric": "median"}, "metric"),
        ({"window": "soon"}, "window"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(server: Any, params: dict[str, str], name: str) -> None:
    r = server.get("/api/forecast", params=GAUGE | params)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert f"'{name}'" in r.json()["error"]


def test_the_route_is_in_the_openapi_document(server: Any) -> None:
    spec = server.get("/api/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/forecast"]["get"]["parameters"]}
    assert {"horizon", "metric", "bucket", "window", "source"} <= params
