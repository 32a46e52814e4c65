"""The node's settings: one frozen value built from CLI options or ``REGISTRY_*`` variables.

Nothing here is read at import time. :func:`Settings.from_env` reads an environment mapping
when it is called (the ``registry serve`` command passes its resolved options to worker
processes through the environment, see :meth:`Settings.to_env`), and :func:`registry.app.
create_app` takes a :class:`Settings` as its argument.

Every field has an environment variable named ``REGISTRY_`` + the field name in upper case
(``REGISTRY_DATA_DIR``, ``REGISTRY_RATE_LIMIT``...). The node signing key is the one secret,
kept in a key file outside the database (ADR 0012): ``REGISTRY_SIGNING_KEY_FILE`` names it
(created, mode 0600, if missing), by default ``node.key`` in the data directory;
``REGISTRY_SIGNING_KEY`` may hand a C2SP ``PRIVATE+KEY+...`` string to a node's first start,
which writes it to the key file. The operator token of the admin API (spec §7.2.2) is the
other secret: ``REGISTRY_ADMIN_TOKEN``, or ``REGISTRY_ADMIN_TOKEN_FILE``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from registry.core.records import DEFAULT_CLOCK_SKEW

if TYPE_CHECKING:
    from registry.log.custody import KeyFile

__all__ = [
    "DEFAULT_PORT",
    "ENV_PREFIX",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "Settings",
    "SettingsError",
    "read_secret_file",
    "read_signing_key_file",
]

ENV_PREFIX: Final = "REGISTRY_"
DEFAULT_PORT: Final = 8000
LOG_LEVELS: Final = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS: Final = ("auto", "json", "console")


class SettingsError(ValueError):
    """A setting has a value the node cannot use (raised with a one-line explanation)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a node process needs to know; immutable once built.

    ``origin`` None means "the origin stored in the database, else the log's default";
    ``database_url`` None means SQLite in ``data_dir``. ``rate_limit`` is requests per minute
    per client address, 0 disables rate limiting. ``creator_hourly_limit`` is records accepted
    per unverified signing key and sliding hour (per worker), ``verified_hourly_limit`` the same
    for keys with identity evidence (spec §9.1), ``address_hourly_limit`` records of unverified
    keys per client address (an IPv6 /64) and hour; 0 disables each. ``trusted_platforms`` is
    the trusted-platforms file (spec §9.6). ``cors_origins`` and ``trusted_proxies`` are comma
    or space separated lists (empty: none). The ``binding_*`` fields are the limits of domain
    checks (spec §9.2): plain http and non-public addresses are for tests only,
    ``binding_timeout`` is one check's deadline and ``binding_recheck_interval`` the time
    between re-checks of the bindings in force.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = Path("data")
    database_url: str | None = None
    origin: str | None = None
    workers: int = 1
    signing_key: str | None = dataclasses.field(default=None, repr=False)
    signing_key_file: Path | None = None
    batch_interval: float = 0.05
    max_batch: int = 1024
    max_pending: int = 10_000
    rate_limit: int = 6000
    max_body_size: int = 32 * 1024 * 1024
    max_batch_items: int = 10_000
    index_poll_interval: float = 0.2
    log_level: str = "info"
    peers_file: Path | None = None
    admin_token: str | None = dataclasses.field(default=None, repr=False)
    peer_poll_interval: float = 5.0
    peer_timeout: float = 10.0
    peer_max_backoff: float = 60.0
    peer_concurrency: int = 8
    peer_allow_http: bool = False
    peer_round_timeout: float = 900.0
    snapshot_interval: float = 60.0
    log_format: str = "auto"
    creator_hourly_limit: int = 10_000
    verified_hourly_limit: int = 100_000
    address_hourly_limit: int = 2_000
    trusted_platforms: Path | None = None
    clock_skew: int = DEFAULT_CLOCK_SKEW
    cors_origins: str = ""
    trusted_proxies: str = ""
    binding_allow_http: bool = False
    binding_allow_private: bool = False
    binding_timeout: float = 10.0
    binding_recheck_interval: float = 86400.0
    binding_checks_per_hour: int = 60
    binding_resolve: str = ""

    def __post_init__(self) -> None:
        """Check ranges once, so a bad value fails at start-up with a clear message.

        Raises:
            SettingsError: a value is out of range.
        """
        positive = (
            "port",
            "workers",
            "max_batch",
            "max_pending",
            "max_body_size",
            "max_batch_items",
            "peer_concurrency",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.port > 65535:
            raise SettingsError(f"port must be at most 65535, not {self.port}")
        if self.rate_limit < 0:
            raise SettingsError(f"rate_limit must be 0 (off) or positive, not {self.rate_limit}")
        if self.batch_interval < 0 or self.index_poll_interval <= 0:
            raise SettingsError("batch_interval must be >= 0 and index_poll_interval > 0")
        if self.snapshot_interval <= 0:
            raise SettingsError("snapshot_interval must be > 0")
        if self.binding_resolve:
            from registry.identity.didweb import parse_resolve  # noqa: PLC0415 - rarely set

            try:
                parse_resolve(self.binding_resolve)
            except ValueError as exc:
                raise SettingsError(f"binding_resolve: {exc}") from None
        peer_times = (
            self.peer_poll_interval,
            self.peer_timeout,
            self.peer_max_backoff,
            self.peer_round_timeout,
        )
        if min(peer_times) <= 0:
            raise SettingsError(
                "peer_poll_interval, peer_timeout, peer_max_backoff, peer_round_timeout must be > 0"
            )
        if min(self.binding_timeout, self.binding_recheck_interval) <= 0:
            raise SettingsError("binding_timeout and binding_recheck_interval must be > 0")
        if self.admin_token is not None and len(self.admin_token) < 16:
            raise SettingsError("admin_token must be at least 16 characters")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"log_format must be one of {', '.join(LOG_FORMATS)}")
        for name in ("creator_hourly_limit", "verified_hourly_limit", "address_hourly_limit"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be 0 (off) or positive")
        if self.clock_skew < 0:
            raise SettingsError(f"clock_skew must be 0 or more seconds, not {self.clock_skew}")
        for origin in self.cors_origin_list:
            if origin != "*" and not _is_web_origin(origin):
                raise SettingsError(
                    f"cors_origins: {origin!r} is not '*' or an origin like https://app.example"
                )
        for address in self.trusted_proxy_list:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise SettingsError(
                    f"trusted_proxies: {address!r} is not an IP address or network"
                ) from None
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
        if self.origin is not None and ("://" in self.origin or not self.origin.strip()):
            # C2SP tlog-tiles: the origin is a URL prefix with the scheme removed.
            raise SettingsError(
                f"origin must be schema-less, e.g. 'example.org/log': {self.origin!r}"
            )

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        """The browser origins allowed by CORS (``cors_origins``: comma or space separated)."""
        return tuple(o for o in self.cors_origins.replace(",", " ").split() if o)

    @property
    def trusted_proxy_list(self) -> tuple[str, ...]:
        """Addresses or networks of reverse proxies whose ``X-Forwarded-For`` is believed."""
        return tuple(a for a in self.trusted_proxies.replace(",", " ").split() if a)

    def resolved_database_url(self) -> str:
        """The database URL to open: ``database_url``, else the SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        from registry.log import database_url_for_data_dir  # noqa: PLC0415 - node-only import

        return database_url_for_data_dir(self.data_dir)

    def key_file_path(self) -> Path:
        """The node signing key's file: ``signing_key_file``, else ``node.key`` in the data
        directory (ADR 0012)."""
        from registry.log.custody import KEY_FILE_NAME  # noqa: PLC0415 - node-only import

        return self.signing_key_file or self.data_dir / KEY_FILE_NAME

    def key_custody(self) -> KeyFile:
        """The node key's custody: the key file; the data directory is the node's own (made
        0700), a configured file's directory is the operator's (left as it is)."""
        from registry.log.custody import KeyFile  # noqa: PLC0415 - node-only import

        return KeyFile(self.key_file_path(), own_dir=self.signing_key_file is None)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``REGISTRY_*`` variables (default: ``os.environ``).

        ``overrides`` win over the environment (the CLI passes its explicit options here).

        Raises:
            SettingsError: a variable does not parse, or a value is out of range.
        """
        source = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            raw = source.get(ENV_PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field.name, str(field.type), raw)
        token_file = source.get(ENV_PREFIX + "ADMIN_TOKEN_FILE")
        if "admin_token" not in values and token_file:
            values["admin_token"] = read_secret_file(Path(token_file), "admin token")
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)  # type: ignore[arg-type]
        except TypeError as exc:
            raise SettingsError(str(exc)) from exc

    def to_env(self) -> dict[str, str]:
        """The ``REGISTRY_*`` variables that make :meth:`from_env` rebuild these settings."""
        env: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                env[ENV_PREFIX + field.name.upper()] = str(value)
        return env


def read_signing_key_file(path: Path) -> str:
    """Read a C2SP signing key string from ``path`` (surrounding whitespace removed).

    Raises:
        SettingsError: the file cannot be read or is empty.
    """
    return read_secret_file(path, "signing key")


def read_secret_file(path: Path, what: str) -> str:
    """Read a secret (``what``: for messages) from ``path``, surrounding whitespace removed.

    Raises:
        SettingsError: the file cannot be read or is empty.
    """
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    if not text:
        raise SettingsError(f"{what} file {path} is empty")
    return text


def _is_web_origin(text: str) -> bool:
    """Whether ``text`` is a serialised web origin: scheme, host and optional port only."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.path
        and not parts.query
        and not parts.fragment
        and "@" not in parts.netloc
    )


def _parse(name: str, type_name: str, raw: str) -> object:
    """Convert one environment variable to its field's type (the annotation is a string)."""
    if type_name.startswith("bool"):
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not true or false")
    try:
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from exc
    if type_name.startswith("Path"):
        return Path(raw)
    return raw
