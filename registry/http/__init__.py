"""The node's HTTP layer (spec §6): Litestar controllers over the log and the index.

:mod:`~registry.http.wire` (msgspec Structs), :mod:`~registry.http.problems` (RFC 9457),
:mod:`~registry.http.ratelimit`, :mod:`~registry.http.runtime` (the running node),
:mod:`~registry.services.submissions` and :mod:`~registry.services.queries` (the use cases), and
:mod:`~registry.http.controllers` (route handlers). The app is built by
:func:`registry.app.create_app`.
"""
