"""Identity checks the node makes itself: domain control by a ``did:web`` document (spec §9.2).

:func:`check_domain_control` fetches ``https://HOST/.well-known/did.json`` within every limit
of §9.2 and says whether it names a ``did:key`` (:class:`DomainCheck`, :class:`Verdict`);
:mod:`registry.services.bindings` turns a positive check into a node-signed ``binding``
record and re-checks bindings in force.
"""

from __future__ import annotations

from registry.identity.didweb import (
    DEFAULT_TIMEOUT,
    DID_JSON_PATH,
    MAX_DOCUMENT_BYTES,
    MAX_REDIRECTS,
    DocumentFetch,
    DomainCheck,
    FetchPolicy,
    Resolver,
    Verdict,
    check_document,
    check_domain_control,
    checked_domain,
    fetch_document,
    is_public_suffix,
    system_resolver,
)
from registry.identity.errors import DocumentError, IdentityError, InvalidDomainError

__all__ = [
    "DEFAULT_TIMEOUT",
    "DID_JSON_PATH",
    "MAX_DOCUMENT_BYTES",
    "MAX_REDIRECTS",
    "DocumentError",
    "DocumentFetch",
    "DomainCheck",
    "FetchPolicy",
    "IdentityError",
    "InvalidDomainError",
    "Resolver",
    "Verdict",
    "check_document",
    "check_domain_control",
    "checked_domain",
    "fetch_document",
    "is_public_suffix",
    "system_resolver",
]
