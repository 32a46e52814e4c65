"""The node's configuration: :mod:`registry.config.settings` (environment, flags, defaults)."""
