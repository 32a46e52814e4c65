"""What the node tells its operator: structured logs (:mod:`~registry.observability.logs`) and
Prometheus metrics (:mod:`~registry.observability.metrics`)."""
