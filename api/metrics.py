"""``GET /metrics``: Pulseboard's own counters in the Prometheus text format.

Each app has its own registry (tests build many apps in one process):
ingested events, HTTP requests and their latency per endpoint, live clients,
database size and rows, and open alerts per state and severity.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts import manage
from services import Services

# Routes not recorded as self-monitoring events: the page's own plumbing and streams.
QUIET = ("/_dash", "/assets", "/_favicon", "/metrics", "/api/stream", "/ws", "/realtime/stream")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class AlertStates(Collector):
    """``pulseboard_alerts{state, severity}``: pending and firing alerts, read at scrape time."""

    STATES = ("pending", "firing")
    SEVERITIES = ("error", "warning", "info")

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Any:

        with self.services.db.read() as conn:
            open_alerts = manage.active_alerts(conn)
        family = GaugeMetricFamily(
            "pulseboard_alerts", "Open alerts by state and severity", labels=["state", "severity"]
        )
        for state in self.STATES:
            for severity in self.SEVERITIES:
                n = sum(1 for a in open_alerts if a["state"] == state and a["severity"] == severity)
                family.add_metric([state, severity], n)
        yield family


def register_metrics(server: Flask, services: Services) -> None:
    registry = CollectorRegistry()
    events = Counter("pulseboard_events_ingested", "Events stored (committed)", registry=registry)
    requests_total = Counter(
        "pulseboard_http_requests", "HTTP requests", ["endpoint", "method", "status"], registry=registry
    )
    latency = Histogram(
        "pulseboard_http_request_seconds",
        "HTTP request latency",
        ["endpoint"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    clients = Gauge("pulseboard_live_clients", "Open WebSocket and SSE subscribers", registry=registry)
    db_bytes = Gauge("pulseboard_database_bytes", "Size of the database", registry=registry)
    last_id = Gauge("pulseboard_last_event_id", "Id of the newest stored event", registry=registry)
    clients.set_function(lambda: services.live.broker.client_count)
    db_bytes.set_function(lambda: services.db.size_bytes() or 0)
    last_id.set_function(lambda: services.live.broker.last_id)
    services.listeners.append(lambda rows: events.inc(len(rows)))
    registry.register(AlertStates(services))

    @server.before_request
    def _start_timer() -> None:
        g.pulse_started = time.perf_counter()

    @server.after_request
    def _observe(response: Response) -> Response:
        started = getattr(g, "pulse_started", None)
        if started is not None and request.url_rule is not None:
            endpoint = request.url_rule.rule
            seconds = time.perf_counter() - started
            latency.labels(endpoint).observe(seconds)
            requests_total.labels(endpoint, request.method, str(response.status_code)).inc()
            if services.jobs is not None and not endpoint.startswith(QUIET):
                services.jobs.monitor.request(endpoint, request.method, response.status_code, seconds, services.now())
        return response

    def metrics() -> Any:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    server.add_url_rule("/metrics", "prometheus_metrics", metrics, methods=["GET"])
