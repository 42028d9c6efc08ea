"""Schemathesis against the live server's ``/api/openapi.json``: every
documented operation gets generated requests, valid ones and invalid ones
(wrong types, out-of-range numbers, missing fields, odd strings), and every
answer must be

- not a 5xx,
- a status code the document lists for that operation,
- of a content type the document lists, with a body matching its schema.

The run is reproducible (``derandomize``: the seed comes from the test) and
bounded: each operation gets the same number of cases and a share of the
time budget; the counts per operation are printed (``pytest -s``).

SQLite only: the same code paths run on PostgreSQL in the API tests.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.read_factories import every_kind, fixed_now

# Per generation mode: ~80 an operation, a few thousand in all. A deeper run:
# PULSE_FUZZ_CASES=500 PULSE_FUZZ_SECONDS=900 pytest -s tests/api/test_fuzz.py
CASES_PER_OPERATION = int(os.environ.get("PULSE_FUZZ_CASES", "40"))
BUDGET_S = float(os.environ.get("PULSE_FUZZ_SECONDS", "60"))  # whole run; each operation gets its share
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NOW = fixed_now()
SESSION = "sess_20231201_143022"


@pytest.fixture(scope="module")
def fuzz_server(make_shared_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A live server on SQLite holding a little of every kind of data, so that
    read routes compute something rather than answer empty."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'pulse.db'}"
    server = make_shared_server(url)
    every_kind(server, NOW, SESSION)
    quiet = logging.getLogger("werkzeug")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # thousands of request lines otherwise
    yield server
    quiet.setLevel(level)


def is_stream(operation: Any) -> bool:
    """An operation answering an endless ``text/event-stream``."""
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in r.get("content", {}) for r in responses.values())


def check_stream(case: Any, base_url: str, http: requests.Session) -> list[str]:
    """An event stream never ends: check the status and content type of its
    answer, read its first chunk, and hang up."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    kwargs.pop("session", None)
    with http.request(**kwargs, stream=True, timeout=10) as response:
        documented = set(case.operation.definition.raw["responses"])
        problems = []
        if response.status_code >= 500 and response.status_code != 503 or str(response.status_code) not in documented:
            problems.append(f"{response.status_code} {response.text[:300]!r} not documented ({sorted(documented)})")
        ctype = response.headers.get("Content-Type", "")
        expected = "text/event-stream" if response.status_code == 200 else "application/json"
        if not ctype.startswith(expected):
            problems.append(f"{response.status_code} answered {ctype!r}, documented {expected!r}")
        if response.status_code == 200:
            next(response.iter_content(64), b"")
    return problems


def run_operation(
    operation: Any, base_url: str, http: requests.Session, mode: GenerationMode, seconds: float
) -> tuple[int, list[str]]:
    """Generate and send cases for one operation; (cases sent, failure reports)."""
    sent = 0
    failures: list[str] = []
    stop_at = time.monotonic() + seconds
    streams = is_stream(operation)

    @settings(
        max_examples=CASES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is reported as found
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        nonlocal sent
        if time.monotonic() > stop_at or len(failures) >= 3:
            return
        sent += 1
        if streams:
            failures.extend(f"{operation.label} [{mode.value}]: {f}" for f in check_stream(case, base_url, http))
            return
        response = case.call(base_url=base_url, session=http, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup: keep the report, go on
            failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")

    try:
        fuzz()
    except Unsatisfiable:  # nothing to negate (an operation without parameters or body)
        pass
    return sent, failures


# Hypothesis still draws every case of an operation whose time share is spent (it
# cannot be stopped by time), so on a loaded machine the test runs past the
# suite's default timeout; its own budget bounds the requests, not the drawing.
@pytest.mark.timeout(900)
def test_every_operation_survives_generated_requests_and_answers_as_documented(fuzz_server: Any) -> None:
    schema = schemathesis.openapi.from_url(fuzz_server.url + "/api/openapi.json")
    results = list(schema.get_all_operations())
    invalid = [str(r.err()) for r in results if isinstance(r, Err)]
    assert not invalid, f"operations the document describes wrongly: {invalid}"
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) > 30, [op.label for op in operations]
    share = BUDGET_S / (2 * len(operations))
    http = requests.Session()
    total = 0
    failures: list[str] = []
    counts: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started = time.monotonic()
            sent, found = run_operation(operation, fuzz_server.url, http, mode, share)
            total += sent
            failures += found
            counts.append(f"{operation.label} {mode.value}={sent} ({time.monotonic() - started:.1f} s)")
    http.close()
    print(f"\nfuzz: {total} cases over {len(operations)} operations\n  " + "\n  ".join(counts))
    assert total > 1000, f"only {total} cases ran"
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
