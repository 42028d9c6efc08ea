"""``GET /metrics``: Pulseboard's own counters in the Prometheus text format.

Each app has its own registry (tests build many apps in one process):
ingested events, HTTP requests and their latency per endpoint, live clients,
database size and rows, open alerts per state and severity, and with a
read replica whether it is up and its replay lag.
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


class ReplicaMetrics(Collector):
    """``pulseboard_read_replica_up`` and ``pulseboard_read_replica_lag_seconds``
    (while up), read at scrape time; nothing without ``--db-read``."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Any:
        status = self.services.db.replica_status()
        if not status.configured:
            return
        yield GaugeMetricFamily(
            "pulseboard_read_replica_up", "1 while the read replica answers, 0 while its reads go to the primary",
            value=1 if status.up else 0,
        )  # fmt: skip
        if status.up and status.lag_seconds is not None:
            yield GaugeMetricFamily(
                "pulseboard_read_replica_lag_seconds", "Replay lag of the read replica behind the primary",
                value=status.lag_seconds,
            )  # fmt: skip


class RequestMetrics:
    """Each request's count and latency per route (``pulseboard_http_requests``,
    ``pulseboard_http_request_seconds``) and its self-monitoring event."""

    def __init__(self, registry: CollectorRegistry, services: Services) -> None:
        self.services = services
        self.requests = Counter(
            "pulseboard_http_requests", "HTTP requests", ["endpoint", "method", "status"], registry=registry
        )
        self.latency = Histogram(
            "pulseboard_http_request_seconds",
            "HTTP request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # Label children by route, kept here: prometheus_client looks them up under a lock each time.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        key = (endpoint, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.latency.labels(endpoint),
                self.requests.labels(endpoint, method, str(status)),
            )
        children[0].observe(seconds)
        children[1].inc()
        jobs = self.services.jobs
        if jobs is not None and not endpoint.startswith(QUIET):
            jobs.monitor.request(endpoint, method, status, seconds, self.services.now())


def register_metrics(server: Flask, services: Services) -> RequestMetrics:
    """``GET /metrics`` and the request hooks that feed it; the
    :class:`RequestMetrics` is kept in ``server.extensions["pulseboard_metrics"]``."""
    registry = CollectorRegistry()
    events = Counter("pulseboard_events_ingested", "Events stored (committed)", registry=registry)
    request_metrics = server.extensions["pulseboard_metrics"] = RequestMetrics(registry, services)
    clients = Gauge("pulseboard_live_clients", "Open WebSocket and SSE subscribers", registry=registry)
    db_bytes = Gauge("pulseboard_database_bytes", "Size of the database", registry=registry)
    last_id = Gauge("pulseboard_last_event_id", "Id of the newest stored event", registry=registry)
    lease = Gauge(
        "pulseboard_job_lease", "1 while this process runs the jobs that run once (alerts, exports)", registry=registry
    )
    clients.set_function(lambda: services.live.broker.client_count)
    db_bytes.set_function(lambda: services.db.size_bytes() or 0)
    last_id.set_function(lambda: services.live.broker.last_id)
    lease.set_function(lambda: 1 if services.jobs is not None and services.jobs.lease.held else 0)
    services.listeners.append(lambda rows: events.inc(len(rows)))
    registry.register(AlertStates(services))
    registry.register(ReplicaMetrics(services))

    @server.before_request
    def _start_timer() -> None:
        g.pulse_started = time.perf_counter()

    @server.after_request
    def _observe(response: Response) -> Response:
        started = getattr(g, "pulse_started", None)
        if started is not None and request.url_rule is not None:
            request_metrics.observe(
                request.url_rule.rule, request.method, response.status_code, time.perf_counter() - started
            )
        return response

    def metrics() -> Any:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    server.add_url_rule("/metrics", "prometheus_metrics", metrics, methods=["GET"])
    return request_metrics
