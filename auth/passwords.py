"""Password hashing (werkzeug's scrypt) and the rules a new password must meet."""

from __future__ import annotations

import functools

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
MAX_LENGTH = 1024  # hashing is deliberately slow; a megabyte "password" must not make it slower


class PasswordError(ValueError):
    pass


def check_new_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"the password must have at most {MAX_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    """A salted scrypt hash of a password that meets :func:`check_new_password`."""
    return generate_password_hash(check_new_password(password), method="scrypt")


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("not a password of anyone", method="scrypt")


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash (unknown user) still spend the same time, then fail."""
    if len(password) > MAX_LENGTH:
        return False
    if password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)
