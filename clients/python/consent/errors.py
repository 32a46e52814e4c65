"""The SDK's exceptions: one base, each carrying a one-line human diagnostic.

::

    ConsentError                 base of everything the SDK raises on purpose
    ├── KeyFileError             a key file is missing, unreadable, or the passphrase is wrong
    ├── NodeError                the node answered with an RFC 9457 problem (status, slug, detail)
    │   └── NotSupportedError    the node does not offer this endpoint (e.g. PDQ matching)
    ├── TransportError           the node could not be reached, or retries ran out
    ├── VerificationError        a receipt, declaration or answer failed to verify (wraps the
    │                            core's ProtocolError as ``__cause__``)
    ├── ReceiptStoreError        the local receipts folder is damaged or belongs to another key
    └── InputError               a file refused for fingerprinting (empty, a decompression bomb)

Errors of the protocol core (:class:`registry.core.errors.ProtocolError`) raised while
*building* a record (an invalid URL, a preference name) are passed through unchanged: they
already say what is wrong. The CLI prints ``str(error)`` on one line and exits non-zero.
"""

from __future__ import annotations

__all__ = [
    "ConsentError",
    "InputError",
    "KeyFileError",
    "NodeError",
    "NotSupportedError",
    "ReceiptStoreError",
    "TransportError",
    "VerificationError",
]


class ConsentError(Exception):
    """Base class of the SDK's errors."""


class KeyFileError(ConsentError):
    """A creator key file cannot be created or opened (missing, malformed, wrong passphrase)."""


class NodeError(ConsentError):
    """The node refused a request: an HTTP error status, usually with an RFC 9457 problem.

    ``status`` is the HTTP status, ``slug`` the last path segment of the problem ``type``
    (e.g. ``"bad-signature"``), ``detail`` the node's explanation.
    """

    def __init__(self, status: int, slug: str, detail: str, *, url: str = "") -> None:
        self.status = status
        self.slug = slug
        self.detail = detail
        self.url = url
        where = f" ({url})" if url else ""
        super().__init__(f"node answered {status} {slug}: {detail}{where}")


class NotSupportedError(NodeError):
    """The node does not offer what was asked (the endpoint is absent from its description)."""


class TransportError(ConsentError):
    """The node could not be reached, or it stayed overloaded after every retry."""


class VerificationError(ConsentError):
    """Something that should verify did not: a receipt, a declaration, a node's answer."""


class ReceiptStoreError(ConsentError):
    """The local receipts folder cannot be used (damaged state file, another creator's)."""


class InputError(ConsentError):
    """A file the SDK refuses to fingerprint: empty, or an image over the pixel limit."""
