"""The node's HTTP layer (spec §6): the Litestar adaptation of the use cases, nothing more.

:mod:`~registry.http.problems` (RFC 9457; maps core and domain errors to problems),
:mod:`~registry.http.ratelimit`, :mod:`~registry.http.runtime` (the running node), and
:mod:`~registry.http.controllers` (route handlers), which decode requests into the wire
contract (:mod:`registry.wire`), call the use cases (:mod:`registry.services`) and shape the
response. The app is built by :func:`registry.app.create_app`.
"""
