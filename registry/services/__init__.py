"""The node's use cases, independent of HTTP: accepting declarations
(:mod:`~registry.services.submissions`), answering queries (:mod:`~registry.services.queries`,
:mod:`~registry.services.near`), the per-creator quota (:mod:`~registry.services.quota`) and
domain-control bindings (:mod:`~registry.services.bindings`).
"""
