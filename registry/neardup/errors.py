"""Errors of the near-duplicate indexes (registry.neardup).

::

    NearDupError            base (a ValueError: every one is a bad argument)
    ├── InvalidHashError    a hash is not ``bits/4`` lowercase hex digits / ``bits/8`` bytes
    ├── InvalidIsccError    an ISCC string is malformed or carries no Content-Code
    └── InvalidQueryError   a bad distance, quality, payload or array shape
"""

from __future__ import annotations

__all__ = ["InvalidHashError", "InvalidIsccError", "InvalidQueryError", "NearDupError"]


class NearDupError(ValueError):
    """Base of every error raised by :mod:`registry.neardup`; the HTTP layer maps it to 400."""


class InvalidHashError(NearDupError):
    """A hash is not the expected number of lowercase hex digits (or bytes)."""


class InvalidIsccError(NearDupError):
    """An ISCC code is malformed, or is not (and does not contain) a Content-Code."""


class InvalidQueryError(NearDupError):
    """A distance, quality, payload id or array argument is out of range or mis-shaped."""
