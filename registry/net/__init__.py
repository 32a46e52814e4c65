"""Outbound HTTP to servers the node does not trust: bounded reads and address rules.

Shared by federation (a peer's tiles, spec §7.3.1) and the domain check (a creator's
``did.json``, spec §9.2): both read an answer as a stream and stop at a byte limit counted after
decompression (:func:`read_bounded`), and the domain check connects only to public addresses
(:func:`is_public_address`).

::

    BoundedReadError        the answer could not be read within its limits
    ├── BodyTooLargeError   larger than the limit (announced, streamed or once inflated)
    └── BodyEncodingError   an unrequested content encoding, or gzip that does not inflate
"""

from __future__ import annotations

from registry.net.addresses import is_public_address
from registry.net.bounded import (
    BodyEncodingError,
    BodyTooLargeError,
    BoundedReadError,
    read_bounded,
)

__all__ = [
    "BodyEncodingError",
    "BodyTooLargeError",
    "BoundedReadError",
    "is_public_address",
    "read_bounded",
]
