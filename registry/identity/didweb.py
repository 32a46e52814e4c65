"""Domain control by a ``did:web`` document (spec §9.2): fetch it within limits, then read it.

A creator asks the node to check that HOST names their ``did:key``; the node fetches
``https://HOST/.well-known/did.json`` for them, from wherever HOST's DNS points. Every limit of
§9.2 is applied here, because the server at the other end may be hostile:

- HOST is a domain as a ``binding`` names it (§9.3.1) and not a public suffix (Public Suffix
  List, ``publicsuffixlist``): control of ``github.io`` is not control of every site under it;
- ``https`` only; ``FetchPolicy.allow_http`` (tests) fetches plain ``http`` instead;
- HOST is resolved once per check, and the node connects only to public addresses
  (:func:`registry.net.is_public_address`; ``allow_private`` lifts this for tests). The
  connection goes to the address that was checked (the request's URL holds the address; the
  ``Host`` header, TLS SNI and certificate check use HOST), so DNS cannot answer differently
  between the check and the connection (DNS rebinding);
- one deadline (default 10 s) for DNS, connecting, TLS and the whole body;
- at most 64 KiB of body, counted after decompression (:func:`registry.net.read_bounded`);
- redirects are followed only to the same host, at most :data:`MAX_REDIRECTS` times, each hop
  under the same rules (and never from https to plain http unless ``allow_http``).

The answer is judged by :func:`check_document`, and the whole check returns a
:class:`DomainCheck` (it raises only for input that could never be checked).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import msgspec
from publicsuffixlist import PublicSuffixList

import registry
from registry import net
from registry.core.errors import RecordError
from registry.core.keys import DID_KEY_PREFIX, PublicKey
from registry.core.records import validate_domain
from registry.identity.errors import DocumentError, InvalidDomainError

__all__ = [
    "DEFAULT_TIMEOUT",
    "DID_JSON_PATH",
    "MAX_DOCUMENT_BYTES",
    "MAX_REDIRECTS",
    "VERIFICATION_METHOD_TYPES",
    "DocumentFetch",
    "DomainCheck",
    "FetchPolicy",
    "Resolver",
    "Verdict",
    "check_document",
    "check_domain_control",
    "checked_domain",
    "fetch_document",
    "fixed_resolver",
    "is_public_suffix",
    "parse_resolve",
    "system_resolver",
]

DID_JSON_PATH: Final = "/.well-known/did.json"
"""Where a ``did:web:HOST`` document lives (W3C did:web method, §9.2)."""
MAX_DOCUMENT_BYTES: Final = 64 * 1024
"""Largest document body the node reads, after decompression (§9.2)."""
DEFAULT_TIMEOUT: Final = 10.0
"""Seconds for DNS, connecting, TLS and the body of one check, redirects included (§9.2)."""
MAX_REDIRECTS: Final = 3
"""Same-host redirects followed before the check is refused (§9.2, ADR 0020)."""
VERIFICATION_METHOD_TYPES: Final = frozenset({"Multikey", "Ed25519VerificationKey2020"})
"""``verificationMethod`` types whose ``publicKeyMultibase`` may name the key (§9.2 item 2)."""
USER_AGENT: Final = f"consent-registry/{registry.__version__} (domain check, spec 9.2)"
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_GONE_STATUSES: Final = frozenset({404, 410})
"""The document is gone: the domain answered, and names no key (§9.2: a lapse)."""

Resolver = Callable[[str, int], Awaitable[Sequence[tuple[str, int]]]]
"""``(host, port) -> [(address, port), ...]``, like the ``sockaddr`` of ``getaddrinfo``."""


class Verdict(enum.StrEnum):
    """What a domain check found."""

    NAMED = "named"
    """The document names the key: a binding may be appended."""
    NOT_NAMED = "not-named"
    """The domain answered (a document, or 404/410) and it does not name the key: on a
    re-check, a lapse (§9.2)."""
    UNREACHABLE = "unreachable"
    """No answer: DNS, connection, TLS, timeout, an HTTP error status. Never a lapse by itself."""
    REFUSED = "refused"
    """A limit of §9.2 forbids the check or its answer (public suffix, plain http, non-public
    address, redirect to another host, too large, unknown encoding)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchPolicy:
    """The operator's limits on a domain check, and how it reaches the network.

    ``allow_http``: fetch over plain ``http`` (tests only; production uses ``https``).
    ``allow_private``: connect to loopback, private and other non-public addresses (tests
    only). ``timeout``: the one deadline of a check, seconds. ``tls``: the TLS context used to
    check server certificates (None: the default CA bundle). ``resolver``: how names are
    resolved (None: :func:`system_resolver`).
    """

    allow_http: bool = False
    allow_private: bool = False
    timeout: float = DEFAULT_TIMEOUT
    tls: ssl.SSLContext | None = None
    resolver: Resolver | None = None

    def __post_init__(self) -> None:
        """Raises ValueError for a deadline that is not positive."""
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, not {self.timeout}")


@dataclass(frozen=True, kw_only=True, slots=True)
class DomainCheck:
    """The outcome of one domain check.

    ``evidence`` is the SHA-256 (lowercase hex) of the exact body bytes the domain answered,
    after content decoding, when it answered (``NAMED`` and ``NOT_NAMED``; for a 404 whose body
    could not be read, of the empty string); None when it did not. ``url`` is the URL whose
    answer was judged (after same-host redirects); ``reason`` says what was found, in a line.
    """

    domain: str
    did: str
    verdict: Verdict
    reason: str
    evidence: str | None = None
    url: str = ""

    @property
    def named(self) -> bool:
        """True if the domain names the key (a binding may be appended)."""
        return self.verdict is Verdict.NAMED


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentFetch:
    """What fetching a domain's ``did.json`` gave (one fetch serves every key of the domain).

    Either an answer: ``status`` 200 (a document), 404 or 410 (no document), with ``body`` the
    bytes answered after content decoding (empty if a 404 body could not be read); or no
    usable answer: ``failure`` (``UNREACHABLE`` or ``REFUSED``) and ``reason``. ``url`` is the
    URL that answered (after same-host redirects) or the first one asked.
    """

    domain: str
    url: str
    status: int | None = None
    body: bytes | None = field(default=None, repr=False)
    failure: Verdict | None = None
    reason: str = ""

    @property
    def evidence(self) -> str | None:
        """SHA-256 (lowercase hex) of the bytes answered; None if there was no answer."""
        return None if self.body is None else hashlib.sha256(self.body).hexdigest()

    def check(self, did: str) -> DomainCheck:
        """Whether this fetch shows the domain naming ``did`` (:func:`check_document`)."""
        if self.failure is not None or self.body is None:
            return self._outcome(did, self.failure or Verdict.UNREACHABLE, self.reason)
        if self.status != httpx.codes.OK:
            return self._outcome(did, Verdict.NOT_NAMED, f"{self.url}: HTTP {self.status}")
        try:
            where = check_document(self.body, self.domain, did)
        except DocumentError as exc:
            return self._outcome(did, Verdict.NOT_NAMED, f"{self.url}: {exc}")
        return self._outcome(did, Verdict.NAMED, f"{self.url} names the key in {where}")

    def _outcome(self, did: str, verdict: Verdict, reason: str) -> DomainCheck:
        return DomainCheck(
            domain=self.domain,
            did=did,
            verdict=verdict,
            reason=reason,
            evidence=self.evidence,
            url=self.url,
        )


class _EndError(Exception):
    """Ends a check early with a verdict (internal)."""

    def __init__(self, verdict: Verdict, reason: str) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason


@functools.cache
def _psl() -> PublicSuffixList:
    # the list ships inside the package (offline); parsed once per process, on first use
    return PublicSuffixList()


def is_public_suffix(domain: str) -> bool:
    """Whether ``domain`` is a public suffix (``com``, ``co.uk``, ``github.io``...), by the
    Public Suffix List's ICANN and private sections; an unlisted top-level label counts as one
    (the list's implicit ``*`` rule)."""
    return bool(_psl().is_public(domain))


def checked_domain(domain: str) -> str:
    """``domain`` as a binding names it (§9.3.1), lowercased (DNS names ignore case).

    Raises:
        InvalidDomainError: not a domain by §9.3.1 (a port, a trailing dot, an IP address,
            a URL, characters outside ``a-z 0-9 - _ .``...).
    """
    lowered = domain.lower() if domain.isascii() else domain
    try:
        validate_domain(lowered)
    except RecordError as exc:
        raise InvalidDomainError(str(exc)) from None
    return lowered


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def check_document(document: bytes, domain: str, did: str) -> str:
    """Check that a ``did.json`` body names ``did`` for ``domain`` (§9.2); say where.

    The document must be a UTF-8 JSON object whose ``id`` is ``did:web:`` + ``domain`` and
    which lists ``did`` in ``alsoKnownAs``, or has a ``verificationMethod`` of a type in
    :data:`VERIFICATION_METHOD_TYPES` whose ``publicKeyMultibase`` is the key's multibase
    (``did`` without ``did:key:``). Returns ``"alsoKnownAs"`` or ``"verificationMethod[i]"``.

    Raises:
        DocumentError: the body is not such a document (the reason is in the message).
    """
    try:
        value = msgspec.json.decode(document)
    except msgspec.DecodeError as exc:
        raise DocumentError(f"the document is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise DocumentError("the document is not a JSON object")
    expected = f"did:web:{domain}"
    if value.get("id") != expected:
        found = value.get("id")
        shown = repr(found[:100]) if isinstance(found, str) else "missing or not a string"
        raise DocumentError(f"the document's id is {shown}, not {expected!r}")
    if did in _as_list(value.get("alsoKnownAs")):
        return "alsoKnownAs"
    multibase = did.removeprefix(DID_KEY_PREFIX)
    for index, method in enumerate(_as_list(value.get("verificationMethod"))):
        if (
            isinstance(method, dict)
            and method.get("type") in VERIFICATION_METHOD_TYPES
            and method.get("publicKeyMultibase") == multibase
        ):
            return f"verificationMethod[{index}]"
    raise DocumentError(f"the document does not name {did} (alsoKnownAs, verificationMethod)")


def fixed_resolver(
    table: Mapping[str, tuple[str, int]], fallback: Resolver | None = None
) -> Resolver:
    """A resolver answering the hosts of ``table`` with a fixed (address, port), like
    ``curl --resolve`` (split-horizon DNS, tests); other hosts go to ``fallback`` (default:
    :func:`system_resolver`). The address limits of §9.2 still apply to the answer."""
    other = fallback or system_resolver

    async def resolve(host: str, port: int) -> Sequence[tuple[str, int]]:
        fixed = table.get(host.lower())
        return [fixed] if fixed is not None else await other(host, port)

    return resolve


def parse_resolve(text: str) -> dict[str, tuple[str, int]]:
    """``HOST=ADDRESS:PORT`` items, comma separated (``[v6]:port`` for IPv6), as a table.

    Raises:
        ValueError: an item that is not of that form.
    """
    table: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, sep, target = item.partition("=")
        address, colon, port = target.rpartition(":")
        if not sep or not colon or not host or not address or not port.isdigit():
            raise ValueError(f"{item!r} is not HOST=ADDRESS:PORT")
        table[host.strip().lower()] = (address.strip("[]"), int(port))
    return table


async def system_resolver(host: str, port: int) -> list[tuple[str, int]]:
    """Resolve ``host`` with the system resolver: its addresses, in the order given, unique."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[tuple[str, int]] = []
    for *_, sockaddr in infos:
        pair = (str(sockaddr[0]), int(sockaddr[1]))
        if pair not in found:
            found.append(pair)
    return found


class _Fetch:
    """One check's requests: one client, one resolution per (host, port)."""

    def __init__(self, domain: str, policy: FetchPolicy, client: httpx.AsyncClient) -> None:
        self.domain = domain
        self.policy = policy
        self.client = client
        self.resolve = policy.resolver or system_resolver
        self.resolved: dict[tuple[str, int], list[tuple[str, int]]] = {}

    async def addresses(self, host: str, port: int) -> list[tuple[str, int]]:
        """The addresses the node may connect to for ``host``: resolved once, then checked."""
        if (host, port) in self.resolved:
            return self.resolved[(host, port)]
        try:
            found = list(await self.resolve(host, port))
        except OSError as exc:
            raise _EndError(Verdict.UNREACHABLE, f"{host} does not resolve: {exc}") from None
        if not found:
            raise _EndError(Verdict.UNREACHABLE, f"{host} resolves to no address")
        allowed = found
        if not self.policy.allow_private:
            allowed = [pair for pair in found if _public(pair[0])]
        if not allowed:
            shown = ", ".join(address for address, _ in found[:4])
            raise _EndError(
                Verdict.REFUSED,
                f"{host} resolves only to non-public addresses ({shown}); "
                "the node connects to public addresses only",
            )
        self.resolved[(host, port)] = allowed
        return allowed

    async def get(self, url: httpx.URL) -> tuple[int, bytes, str | None]:
        """GET ``url`` at one of its host's checked addresses: (status, body, Location)."""
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        failures: list[str] = []
        for address, address_port in await self.addresses(host, port):
            # the URL holds the checked address; Host, SNI and the certificate name are HOST
            pinned = url.copy_with(host=address, port=address_port)
            request = self.client.build_request(
                "GET",
                pinned,
                headers={"Host": url.netloc.decode("ascii")},
                extensions={"sni_hostname": host},
            )
            try:
                response = await self.client.send(request, stream=True)
            except httpx.ConnectError as exc:
                failures.append(f"{address}: {_describe(exc)}")
                continue  # another address of the host may answer
            except httpx.HTTPError as exc:
                raise _EndError(Verdict.UNREACHABLE, f"{url}: {_describe(exc)}") from None
            try:
                return await _read(response, url)
            except httpx.HTTPError as exc:
                raise _EndError(Verdict.UNREACHABLE, f"{url}: {_describe(exc)}") from None
            finally:
                await response.aclose()
        reason = f"cannot connect to {host}: {'; '.join(failures)}"
        raise _EndError(Verdict.UNREACHABLE, reason)

    def follow(self, url: httpx.URL, location: str | None) -> httpx.URL:
        """The target of a redirect from ``url``, if §9.2 lets the check follow it."""
        if not location:
            raise _EndError(Verdict.UNREACHABLE, f"{url}: redirect without a Location")
        target = url.join(location)  # httpx refused a malformed Location already (send)
        shown = str(target)[:200]
        if target.scheme not in _schemes(self.policy):
            raise _EndError(Verdict.REFUSED, f"redirect to {shown!r}: only https is fetched")
        if target.host != self.domain:
            raise _EndError(Verdict.REFUSED, f"redirect to another host refused: {shown!r}")
        return target


def _schemes(policy: FetchPolicy) -> tuple[str, ...]:
    return ("http", "https") if policy.allow_http else ("https",)


def _public(address: str) -> bool:
    try:
        return net.is_public_address(address)
    except ValueError:
        return False


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


async def _read(response: httpx.Response, url: httpx.URL) -> tuple[int, bytes, str | None]:
    status = response.status_code
    if status in _REDIRECT_STATUSES:
        return status, b"", response.headers.get("location")
    if status == httpx.codes.OK:
        try:
            return status, await net.read_bounded(response, MAX_DOCUMENT_BYTES), None
        except net.BoundedReadError as exc:
            raise _EndError(Verdict.REFUSED, f"{url}: {exc}") from None
    if status in _GONE_STATUSES:
        try:
            body = await net.read_bounded(response, MAX_DOCUMENT_BYTES)
        except net.BoundedReadError:
            body = b""
        return status, body, None
    raise _EndError(Verdict.UNREACHABLE, f"{url}: HTTP {status}")


async def _fetch(fetch: _Fetch, url: httpx.URL) -> DocumentFetch:
    for _ in range(MAX_REDIRECTS + 1):
        status, body, location = await fetch.get(url)
        if status not in _REDIRECT_STATUSES:
            return DocumentFetch(domain=fetch.domain, url=str(url), status=status, body=body)
        url = fetch.follow(url, location)
    raise _EndError(Verdict.REFUSED, f"more than {MAX_REDIRECTS} redirects")


async def fetch_document(domain: str, policy: FetchPolicy | None = None) -> DocumentFetch:
    """Fetch ``domain``'s ``did:web`` document within the limits of §9.2 (module docstring).
    Never raises for what the network or the server does: the result says what happened.

    Raises:
        InvalidDomainError: ``domain`` is not a domain by §9.3.1.
    """
    policy = policy or FetchPolicy()
    domain = checked_domain(domain)
    scheme = "http" if policy.allow_http else "https"
    url = httpx.URL(f"{scheme}://{domain}{DID_JSON_PATH}")
    if is_public_suffix(domain):
        reason = f"{domain} is a public suffix: controlling it is not controlling sites under it"
        return DocumentFetch(domain=domain, url=str(url), failure=Verdict.REFUSED, reason=reason)
    client = httpx.AsyncClient(
        verify=policy.tls or True,
        trust_env=False,  # no proxy from the environment: the node connects to what it checked
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout),
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/did+json, application/json;q=0.9, */*;q=0.1",
            "Accept-Encoding": "gzip",
        },
    )
    try:
        async with asyncio.timeout(policy.timeout), client:
            return await _fetch(_Fetch(domain, policy, client), url)
    except _EndError as stop:
        failure, reason = stop.verdict, stop.reason
    except TimeoutError:
        failure, reason = (
            Verdict.UNREACHABLE,
            f"{url}: no complete answer within {policy.timeout:g} s",
        )
    return DocumentFetch(domain=domain, url=str(url), failure=failure, reason=reason)


async def check_domain_control(
    domain: str, did: str, policy: FetchPolicy | None = None
) -> DomainCheck:
    """Check that ``domain`` names ``did`` in its ``did:web`` document (§9.2): fetch it with
    :func:`fetch_document`, judge it with :meth:`DocumentFetch.check`.

    Raises:
        InvalidDomainError: ``domain`` is not a domain by §9.3.1.
        KeyFormatError: ``did`` is not an Ed25519 ``did:key`` (§1.5.2).
    """
    PublicKey.from_did(did)
    return (await fetch_document(domain, policy)).check(did)
