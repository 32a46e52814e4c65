"""The consent-registry protocol, pure: no I/O, no clock, no environment.

Time and randomness are passed in; verification functions raise a subclass of
:class:`registry.core.errors.ProtocolError` and never return a boolean. Importing this package
needs only ``msgspec`` and ``cryptography``: the node, the client SDK and third-party verifiers
all build on it. The normative text is ``spec/``; comments cite its sections (``spec §2.7``).

Modules (one concept each):

- :mod:`~registry.core.errors`: the exception hierarchy.
- :mod:`~registry.core.encoding`: RFC 8785 canonical JSON, base64, base58btc, hex (spec §1).
- :mod:`~registry.core.keys`: Ed25519 keys and ``did:key`` identifiers (spec §1).
- :mod:`~registry.core.records`: signed records, the declaration, limits, record ids (spec §2).
- :mod:`~registry.core.urls`: URL normalisation for the URL index (spec §2).
- :mod:`~registry.core.prefs`: AIPREF vocabulary, ``Content-Usage``, mapping table (spec §3).
- :mod:`~registry.core.state`: deterministic resolution of many declarations (spec §3).
- :mod:`~registry.core.merkle`: RFC 6962 / RFC 9162 Merkle trees and proofs (spec §4).
- :mod:`~registry.core.tiles`: C2SP tlog-tiles paths, tiles and entry bundles (spec §4).
- :mod:`~registry.core.note`: C2SP signed notes (spec §5).
- :mod:`~registry.core.checkpoint`: C2SP tlog-checkpoint and tlog-cosignature (spec §5).
- :mod:`~registry.core.proof`: C2SP tlog-proof receipts (spec §5).
"""
