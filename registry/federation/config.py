"""Peer configuration: the operator's peers file and admin requests (spec §7.1).

A peers file is UTF-8 text; each line that is neither blank nor a comment (first non-space
character ``#``) names one peer::

    URL VKEY [WITNESS_VKEY]

``URL`` is the peer's base URL (https, or http where the operator allows it with
``peer_allow_http``: :func:`require_https`; its C2SP tlog-tiles prefix), ``VKEY`` the C2SP
verifier key of its checkpoints (type ``0x01``); the key's name is the peer's log origin.
``WITNESS_VKEY``, optional, is the peer's cosignature/v1 key; without it the node learns it
from the peer's ``/.well-known/consent-registry`` on first contact and pins it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from registry.core.errors import KeyFormatError
from registry.core.note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteVerifier
from registry.federation.errors import PeerConfigError

__all__ = ["PeerSpec", "load_peers_file", "parse_peer", "parse_peers", "require_https"]


@dataclass(frozen=True, slots=True)
class PeerSpec:
    """One configured peer: its base URL, log verifier and (optionally) witness verifier."""

    url: str
    verifier: NoteVerifier
    witness: NoteVerifier | None = None

    @property
    def origin(self) -> str:
        """The peer's log origin: the name of its checkpoint key (spec §5.5)."""
        return self.verifier.name


def _check_url(url: str) -> str:
    # urlsplit silently strips leading C0 controls and spaces, and removes tabs and newlines
    # anywhere (WHATWG): refuse them, so the URL used is exactly the URL checked.
    if not url.isascii() or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise PeerConfigError(f"peer URL {url!r} has a space, control or non-ASCII character")
    if not url.lower().startswith(("http://", "https://")):
        raise PeerConfigError(f"peer URL must be an http(s) URL with a host: {url!r}")
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number in 0..65535 raises here
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: "Invalid IPv6 URL"
        raise PeerConfigError(f"peer URL {url!r} does not parse: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PeerConfigError(f"peer URL must be an http(s) URL with a host: {url!r}")
    if parts.query or parts.fragment:
        raise PeerConfigError(f"peer URL must not have a query or fragment: {url!r}")
    return url.rstrip("/")


def require_https(peers: Iterable[PeerSpec], *, allow_http: bool) -> None:
    """Refuse plain ``http://`` peers unless ``allow_http`` (spec §7.1: anyone on the path of
    a plain http connection could serve a gzip bomb or stall the mirror).

    Raises:
        PeerConfigError: a peer URL is plain http and http is not allowed.
    """
    if allow_http:
        return
    for peer in peers:
        if peer.url.lower().startswith("http://"):
            raise PeerConfigError(
                f"peer URL {peer.url} is plain http: use https, or allow http between trusted "
                "nodes with --peer-allow-http (REGISTRY_PEER_ALLOW_HTTP=1)"
            )


def _verifier(vkey: str, alg: int, what: str) -> NoteVerifier:
    try:
        verifier = NoteVerifier.from_vkey(vkey)
    except KeyFormatError as exc:
        raise PeerConfigError(f"{what} is not a C2SP verifier key: {exc}") from None
    if verifier.alg != alg:
        raise PeerConfigError(f"{what} has signature type 0x{verifier.alg:02x}, not 0x{alg:02x}")
    return verifier


def parse_peer(url: str, vkey: str, witness_vkey: str | None = None) -> PeerSpec:
    """Validate one peer: an http(s) base URL, an Ed25519 note verifier key (its name is the
    origin) and optionally a cosignature/v1 verifier key.

    Raises:
        PeerConfigError: any part is malformed.
    """
    witness = None
    if witness_vkey is not None:
        witness = _verifier(witness_vkey, ALG_COSIGNATURE_V1, "witness key")
    return PeerSpec(_check_url(url), _verifier(vkey, ALG_ED25519, "verifier key"), witness)


def parse_peers(lines: Iterable[str], *, own_origin: str | None = None) -> list[PeerSpec]:
    """Parse the lines of a peers file (see the module docstring).

    Raises:
        PeerConfigError: a malformed line (with its number), two lines naming one origin, or a
            peer whose origin is this node's own.
    """
    peers: dict[str, PeerSpec] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) not in (2, 3):
            raise PeerConfigError(f"line {number}: expected 'URL VKEY [WITNESS_VKEY]'")
        try:
            peer = parse_peer(*fields)
        except PeerConfigError as exc:
            raise PeerConfigError(f"line {number}: {exc}") from None
        if peer.origin in peers:
            raise PeerConfigError(f"line {number}: origin {peer.origin} is listed twice")
        if peer.origin == own_origin:
            raise PeerConfigError(f"line {number}: {peer.origin} is this node's own origin")
        peers[peer.origin] = peer
    return list(peers.values())


def load_peers_file(path: Path, *, own_origin: str | None = None) -> list[PeerSpec]:
    """Read and parse a peers file.

    Raises:
        PeerConfigError: the file cannot be read or does not parse.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PeerConfigError(f"cannot read peers file {path}: {exc}") from None
    try:
        return parse_peers(text.splitlines(), own_origin=own_origin)
    except PeerConfigError as exc:
        raise PeerConfigError(f"{path}: {exc}") from None
