"""Errors of the identity checks (spec §9.2).

::

    IdentityError              base of every error below
    ├── InvalidDomainError     not a domain as a binding names it (§9.3.1); also a ValueError
    └── DocumentError          a did:web document does not name the key (the reason says why)

A malformed ``did:key`` is the core's :class:`registry.core.errors.KeyFormatError`.
"""

from __future__ import annotations

__all__ = ["DocumentError", "IdentityError", "InvalidDomainError"]


class IdentityError(Exception):
    """Base of every identity-check error."""


class InvalidDomainError(IdentityError, ValueError):
    """Not a domain by spec §9.3.1 (lowercase DNS name, no port, no trailing dot, no IP)."""


class DocumentError(IdentityError):
    """A ``did.json`` body that does not name the key: not JSON, wrong ``id``, key absent."""
