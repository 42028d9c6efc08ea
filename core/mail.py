"""E-mail addresses as alert targets and report schedules take them."""

from __future__ import annotations

import re
from collections.abc import Iterable

_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+$")


def addresses(given: str | Iterable[str]) -> list[str]:
    """The addresses of a comma-separated text (or a list), each checked;
    ``ValueError`` names the first bad one, or a repeated one.

    >>> addresses("ops@example.com, dev@example.com")
    ['ops@example.com', 'dev@example.com']
    >>> addresses(["ops@example.com", "nobody"])
    Traceback (most recent call last):
    ...
    ValueError: 'nobody' is not an e-mail address
    >>> addresses("a@x.example,a@x.example")
    Traceback (most recent call last):
    ...
    ValueError: an address is listed twice
    """
    items = given.split(",") if isinstance(given, str) else list(given)
    found = [str(a).strip() for a in items if str(a).strip()]
    bad = [a for a in found if not _EMAIL.match(a)]
    if bad or not found:
        raise ValueError(f"{bad[0] if bad else given!r} is not an e-mail address")
    if len(set(found)) != len(found):
        raise ValueError("an address is listed twice")
    return found
