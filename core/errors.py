"""Domain errors: what went wrong, in the words of the domain, with no HTTP
status. The web layer maps each kind to a status code in one place
(``web.http``); the command line and the jobs print or log them as they are.

Every error carries ``message`` (one line for a person) and ``errors`` (a
list of ``{"field": ..., "message": ...}`` items, possibly with ``index``
for a batch item), so that a client can point at the field to fix.

>>> err = InvalidInput("window", "expected a duration like 10min, got 'x'")
>>> err.message
"parameter 'window': expected a duration like 10min, got 'x'"
>>> err.errors
[{'field': 'window', 'message': "expected a duration like 10min, got 'x'"}]
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of the errors the domain raises for a request it cannot serve."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class InvalidInput(DomainError):
    """A parameter (a query-string field, a form field, a setting of a saved
    query) has a value the domain cannot use."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        text = f"parameter '{field}': {message}" if field else message
        super().__init__(text, [{"field": field, "message": message}] if field else [])


class InvalidField(InvalidInput):
    """A field of a document (a rule, a schedule, a silence) has a value the
    domain cannot use; ``str(exc)`` reads "invalid field 'x': why"."""

    def __init__(self, field: str, message: str) -> None:
        DomainError.__init__(self, f"invalid field '{field}': {message}", [{"field": field, "message": message}])
        self.field = field


class InvalidDocument(DomainError):
    """A document (an event, a batch, a rule) failed validation; ``errors``
    names each field, with ``index`` for the item of a batch."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Conflict(DomainError):
    """The request contradicts what is stored (a duplicate name, a stale state)."""


class TooLarge(DomainError):
    """The request asks for more work than the limits allow."""


class SettingsError(ValueError):
    """A setting (or a file a setting names) has a bad value; the message is
    one line meant for the user. Stops the start, not a request."""
