"""The trusted-platforms file (spec §9.6 item 1): which platform keys this node trusts.

A JSON file, for example::

    {"platforms": [
      {"name": "cara", "key": "did:key:z6Mk...", "scope": ["cara.app"], "quota": 100000},
      {"name": "stock", "key": "did:key:z6Mk...", "scope": "*", "quota": 5000}
    ]}

``name`` is what answers show as the identity level ``platform:NAME`` (lowercase ``a-z 0-9 -``,
1 to 63 characters); ``key`` the platform's Ed25519 ``did:key``; ``scope`` the URL hosts whose
works it may attest (a host covers its subdomains), or ``"*"`` for any; ``quota`` attested works
(packed hashes and works) it may submit per day on this node. A node refuses an attestation by
a key not in the file, listing a URL outside the scope, or beyond the quota.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from registry.config.settings import SettingsError
from registry.core.errors import ProtocolError
from registry.core.keys import PublicKey

__all__ = ["TrustedPlatform", "load_platforms_file", "parse_platforms"]

_NAME: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HOST: Final = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}")
MAX_FILE_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class TrustedPlatform:
    """One platform this node trusts (spec §9.6): name, key, scope (None: any host), quota."""

    name: str
    key: str
    scope: tuple[str, ...] | None
    quota: int

    def covers(self, host: str) -> bool:
        """Whether the platform may attest works published at ``host`` (or a subdomain)."""
        if self.scope is None:
            return True
        return any(host == s or host.endswith("." + s) for s in self.scope)


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    key: str
    scope: str | list[str]
    quota: int


class _File(msgspec.Struct, forbid_unknown_fields=True):
    platforms: list[_Entry]


def parse_platforms(data: bytes, where: str = "trusted platforms") -> list[TrustedPlatform]:
    """Parse and check a trusted-platforms document.

    Raises:
        SettingsError: one line saying what is wrong and where.
    """
    try:
        parsed = msgspec.json.decode(data, type=_File)
    except msgspec.DecodeError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    out: list[TrustedPlatform] = []
    names: set[str] = set()
    keys: set[str] = set()
    for n, entry in enumerate(parsed.platforms, 1):
        at = f"{where}: platform {n}"
        if not _NAME.fullmatch(entry.name):
            raise SettingsError(f"{at}: name {entry.name!r} must be lowercase a-z, 0-9 and '-'")
        try:
            PublicKey.from_did(entry.key)
        except ProtocolError as exc:
            raise SettingsError(f"{at} ({entry.name}): key: {exc}") from None
        if entry.name in names or entry.key in keys:
            raise SettingsError(f"{at} ({entry.name}): name and key must each appear once")
        names.add(entry.name)
        keys.add(entry.key)
        scope: tuple[str, ...] | None
        if entry.scope == "*":
            scope = None
        elif isinstance(entry.scope, list) and entry.scope:
            bad = [h for h in entry.scope if not _HOST.fullmatch(h)]
            if bad:
                raise SettingsError(f"{at} ({entry.name}): scope {bad[0]!r} is not a host name")
            scope = tuple(sorted(set(entry.scope)))
        else:
            raise SettingsError(f'{at} ({entry.name}): scope is "*" or a list of host names')
        if entry.quota < 0:
            raise SettingsError(f"{at} ({entry.name}): quota must be 0 or more works per day")
        out.append(TrustedPlatform(entry.name, entry.key, scope, entry.quota))
    return out


def load_platforms_file(path: Path) -> list[TrustedPlatform]:
    """Read and check the trusted-platforms file at ``path``.

    Raises:
        SettingsError: unreadable, too large or invalid (one line).
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"trusted platforms file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SettingsError(f"trusted platforms file {path}: larger than {MAX_FILE_BYTES} bytes")
    return parse_platforms(data, f"trusted platforms file {path}")
