"""The SDK's version (one place, read by the package metadata and the User-Agent)."""

__version__ = "0.1.0"
