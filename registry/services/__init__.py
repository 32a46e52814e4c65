"""The node's use cases, independent of HTTP: accepting declarations
(:mod:`~registry.services.submissions`), answering queries (:mod:`~registry.services.queries`,
:mod:`~registry.services.near`) and the per-creator quota (:mod:`~registry.services.quota`).
"""
