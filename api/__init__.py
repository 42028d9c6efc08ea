"""The HTTP API: Flask blueprints mounted on the Dash server."""

from __future__ import annotations

from flask import Flask, Response

from api import admin, alerts, boards, compat, exports, forecast, ingest, openapi, pdf, query, read, read_scripts
from api.fast_ingest import install_fast_ingest
from api.limits import register_limits
from api.metrics import register_metrics
from services import Services
from web.cors import install_cors
from web.http import API_PREFIXES, ApiError, IdConverter, install_error_handlers


def register_api(server: Flask, services: Services) -> None:
    settings = services.settings
    server.extensions["pulseboard"] = services
    server.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    server.config["PULSE_API_KEYS"] = settings.keys()
    server.config["PULSE_MAX_BATCH"] = settings.max_batch
    install_cors(server, settings)
    register_limits(server, services)  # first: a flood is refused before any other work
    server.url_map.converters["id"] = IdConverter
    server.register_blueprint(ingest.bp)
    server.register_blueprint(compat.bp)
    server.register_blueprint(read.bp)
    server.register_blueprint(read_scripts.bp)
    server.register_blueprint(query.bp)
    server.register_blueprint(forecast.bp)
    server.register_blueprint(exports.bp)
    server.register_blueprint(alerts.bp)
    server.register_blueprint(boards.bp)
    server.register_blueprint(admin.bp)
    server.register_blueprint(pdf.bp)
    server.register_blueprint(openapi.bp)
    install_error_handlers(server)
    install_fast_ingest(server, services, register_metrics(server, services))

    # Unknown API paths answer 404 JSON instead of falling into the pages' catch-all.
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    for prefix in API_PREFIXES:

        def not_found(rest: str = "") -> Response:
            raise ApiError(404, "no such API route; see /api/openapi.json")

        server.add_url_rule(
            f"{prefix}<path:rest>", f"not_found_{prefix.strip('/').replace('/', '_')}", not_found, methods=methods
        )
