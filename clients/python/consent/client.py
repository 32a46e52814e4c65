"""HTTP clients for a consent-registry node (spec §6): :class:`ConsentClient` (sync) and
:class:`AsyncConsentClient` (asyncio), both on httpx.

Both offer the same methods. Batch checks are split into chunks the node accepts, sent with
bounded concurrency, retried with exponential back-off on 429 and 503 (honouring
``Retry-After``) and on connection errors, and answered in request order. Every request the
SDK makes is idempotent (a declaration submitted twice is logged once), so retrying is safe.

Request shapes and answer decoding are shared (:class:`_Api`); only the I/O differs.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import msgspec

from consent._version import __version__
from consent.answers import POLICIES, Answer, CheckAnswer, Policy
from consent.errors import (
    ConsentError,
    NodeError,
    NotSupportedError,
    TransportError,
    VerificationError,
)
from consent.proofs import (
    VerifiedDeclaration,
    VerifiedRecord,
    covers,
    verifier_from_key,
    verify_record_view,
    verify_view,
)
from consent.trust import TrustConfig
from registry.core import batchcheck
from registry.core.errors import ProtocolError
from registry.core.note import NoteVerifier
from registry.core.prefs import combine
from registry.core.records import decode_record
from registry.wire import (
    ISCC_MATCH_DISTANCE,
    PDQ_MATCH_DISTANCE,
    BatchItem,
    BatchResult,
    BindingResult,
    ClaimIdentity,
    CreatorAnswer,
    DeclarationView,
    IsccResponse,
    IsccResult,
    NodeInfo,
    PdqMatch,
    PdqResponse,
    PdqResult,
    PeerView,
    Problem,
    SubmitResult,
    WorkAnswer,
)

if TYPE_CHECKING:
    from consent.fingerprint import PdqQuery

__all__ = [
    "AsyncConsentClient",
    "ConsentClient",
    "RetryPolicy",
    "merge_pdq_results",
]

T = TypeVar("T")
NearAnswer = TypeVar("NearAnswer", PdqResponse, IsccResponse)

USER_AGENT: Final = f"consent-registry-client/{__version__}"
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
DEFAULT_CHUNK: Final = 1000
"""Items per batch-check request unless the node allows fewer (``limits.max_batch_items``)."""
SUBMIT_CHUNK_ITEMS: Final = 200
SUBMIT_CHUNK_BYTES: Final = 4 * 1024 * 1024
NEAR_CHUNK: Final = 1000
"""Queries per near-duplicate request unless the node says otherwise (spec §6.8.3)."""
PDQ_ENDPOINT: Final = "check_pdq"
"""Key of the near-duplicate endpoint in the node's ``endpoints`` (``POST /v1/check/pdq``)."""
ISCC_ENDPOINT: Final = "check_iscc"
"""Key of the ISCC near-duplicate endpoint in the node's ``endpoints`` (``POST /v1/check/iscc``)."""
PEERS_ENDPOINT: Final = "peers"
"""Key of the peer list in the node's ``endpoints`` (``GET /v1/peers``, spec §7.2.3)."""


@dataclass(frozen=True)
class _Near:
    """One near-duplicate endpoint of spec §6.8.3: its key in the node's ``endpoints``, the
    request member holding the queries, and what it is called in errors."""

    endpoint: str
    member: str
    label: str


_PDQ: Final = _Near(PDQ_ENDPOINT, "hashes", "near-duplicate (PDQ)")
_ISCC: Final = _Near(ISCC_ENDPOINT, "codes", "ISCC near-duplicate")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before retrying a request.

    Attempt ``n`` (0-based) waits ``Retry-After`` if the node sent one, else a random time in
    ``[0.5, 1] * min(max_delay, base_delay * 2**n)``. A ``Retry-After`` longer than
    ``max_retry_after`` is not waited for: the request fails at once with that reason.
    """

    max_retries: int = 5
    base_delay: float = 0.25
    max_delay: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``.

        Raises:
            TransportError: the node asks for a longer wait than ``max_retry_after``.
        """
        if response is not None:
            after = parse_retry_after(response.headers.get("retry-after"))
            if after is not None:
                if after > self.max_retry_after:
                    raise TransportError(
                        f"node asks to retry after {after:.0f} s (> {self.max_retry_after:.0f} s)"
                    )
                return after
        ceiling = min(self.max_delay, self.base_delay * (1 << min(attempt, 30)))
        jitter: float = random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
        return ceiling * jitter


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from an RFC 9110 §10.2.3 ``Retry-After`` (delay-seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _problem_of(response: httpx.Response) -> NodeError:
    try:
        problem = msgspec.json.decode(response.content, type=Problem)
        slug, detail = problem.slug, problem.detail or problem.title
    except msgspec.DecodeError:
        slug, detail = "http-error", response.text.strip()[:200] or response.reason_phrase
    url = str(response.request.url) if response.request else ""
    return NodeError(response.status_code, slug, detail, url=url)


def _decode(response: httpx.Response, kind: type[T]) -> T:
    if response.status_code >= 400:
        raise _problem_of(response)
    try:
        return msgspec.json.decode(response.content, type=kind)
    except msgspec.DecodeError as exc:
        raise NodeError(
            response.status_code, "bad-answer", f"unexpected answer: {exc}", url=str(response.url)
        ) from exc


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _entry_chunks(entries: Sequence[bytes], max_items: int, max_bytes: int) -> list[list[bytes]]:
    """Split declarations into batch bodies of at most ``max_items`` and about ``max_bytes``."""
    out: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for entry in entries:
        if current and (len(current) >= max_items or size + len(entry) + 1 > max_bytes):
            out.append(current)
            current, size = [], 0
        current.append(entry)
        size += len(entry) + 1
    if current:
        out.append(current)
    return out


def _batch_body(entries: Sequence[bytes], member: bytes = b"declarations") -> bytes:
    return b'{"' + member + b'":[' + b",".join(entries) + b"]}"


RECORDS_PATH: Final = "/v1/records"
"""Submission of records of every kind, trust records included (spec §9.8 item 1)."""
BINDINGS_PATH: Final = "/v1/bindings"
"""Ask the node to check a domain and log a binding (spec §9.2, §9.8 item 2)."""


def _policy_params(policy: Policy | None) -> dict[str, str]:
    """``?policy=`` for a query (spec §9.4.7); none: the node's default (``verified``).

    Raises:
        ValueError: not one of ``any``, ``verified``, ``verified-only``.
    """
    if policy is None:
        return {}
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}: one of {', '.join(POLICIES)}")
    return {"policy": policy}


_ENCODER: Final = msgspec.json.Encoder()
_JSON: Final = {"Content-Type": "application/json"}
_OCTETS: Final = {"Content-Type": "application/octet-stream"}
CHECK_DIGESTS_PATH: Final = "/v1/check/sha256"
IDENTITY_HEADER: Final = "Consent-Identity"
"""What a node answering the binary check with identity sends (``1``, spec §6.8.4)."""
"""The binary batch check (spec §6.8.4)."""


class _Api:
    """Paths, bodies and answer decoding shared by the sync and async clients."""

    def __init__(self, chunk_size: int, log_keys: Mapping[str, str] | None) -> None:
        self.chunk_size = chunk_size
        self.info: NodeInfo | None = None
        self.log_keys = dict(log_keys or {})
        self.peer_keys: dict[str, str] | None = None

    def accept_info(self, info: NodeInfo, node_key: str | None) -> NodeInfo:
        """Keep the node's description, after checking it against the pinned key if any."""
        if node_key is not None and info.verifier_key != node_key.strip():
            raise VerificationError(
                f"the node's verifier key {info.verifier_key!r} is not the pinned "
                f"{node_key.strip()!r}: refusing to trust it"
            )
        self.info = info
        return info

    def verifier(self, origin: str | None = None) -> NoteVerifier:
        """The key to verify checkpoints of ``origin`` (default: the node's own log).

        Keys given as ``log_keys`` win; then the node's own key for its origin; then the key
        the node lists for that peer (``/v1/peers``, fetched by the caller into peer_keys).
        """
        if self.info is None:  # pragma: no cover - callers fetch info first
            raise VerificationError("node description not fetched")
        origin = origin or self.info.origin
        key = self.log_keys.get(origin)
        if key is None and origin == self.info.origin:
            key = self.info.verifier_key
        if key is None and self.peer_keys is not None:
            key = self.peer_keys.get(origin)
        if key is None:
            raise VerificationError(f"no verifier key for the log {origin!r}: pass it in log_keys")
        return verifier_from_key(key)

    def needs_peers(self, origin: str) -> bool:
        return (
            self.info is not None
            and origin != self.info.origin
            and origin not in self.log_keys
            and self.peer_keys is None
        )

    def peers_path(self) -> str:
        """Where the node lists its peers (spec §7.2.3)."""
        endpoints = self.info.endpoints if self.info else {}
        return endpoints.get(PEERS_ENDPOINT, "/v1/peers")

    def accept_peers(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            self.peer_keys = {}
            return
        peers = _decode(response, list[PeerView])
        self.peer_keys = {p.origin: p.verifier_key for p in peers}

    @staticmethod
    def check_covers(
        verified: VerifiedDeclaration, sha256: str | None, url: str | None
    ) -> VerifiedDeclaration:
        if (sha256 is not None or url is not None) and not covers(
            verified.record, sha256=sha256, url=url
        ):
            raise VerificationError(
                f"declaration {verified.id} does not mention {sha256 or url}: the answer is wrong"
            )
        return verified

    def check_chunk_size(self) -> int:
        limit = self.info.limits.get("max_batch_items", self.chunk_size) if self.info else 0
        return max(1, min(self.chunk_size, limit or self.chunk_size))

    def near_chunk_size(self) -> int:
        """Queries per near-duplicate request: the node's ``max_near_batch`` (spec §6.8.3)."""
        limit = self.info.limits.get("max_near_batch", NEAR_CHUNK) if self.info else NEAR_CHUNK
        return max(1, min(self.check_chunk_size(), limit))

    @staticmethod
    def check_body(items: Sequence[tuple[str, str]]) -> bytes:
        return _ENCODER.encode(
            {
                "sha256s": [key for kind, key in items if kind == "sha256"],
                "urls": [key for kind, key in items if kind == "url"],
            }
        )

    @staticmethod
    def check_answers(items: Sequence[tuple[str, str]], response: httpx.Response) -> list[Answer]:
        answer = _decode(response, CheckAnswer)
        hashes, urls = iter(answer.sha256s), iter(answer.urls)
        out = []
        for kind, key in items:
            item = next(hashes) if kind == "sha256" else next(urls)
            out.append(
                Answer(
                    kind="sha256" if kind == "sha256" else "url",
                    key=key,
                    prefs=item.prefs,
                    declarations=item.declarations,
                    error=item.error,
                    policy=answer.policy,
                    claims=item.claims,
                )
            )
        return out

    @staticmethod
    def trust(info: NodeInfo) -> TrustConfig:
        """The trust configuration a node publishes (spec §9.6 item 3); empty if none."""
        return TrustConfig() if info.trust is None else TrustConfig.from_info(info.trust)

    @staticmethod
    def digest_body(hashes: Sequence[str]) -> bytes:
        """The binary check's body (spec §6.8.4): the raw 32-byte digests, concatenated.

        Raises:
            ValueError: a hash is not 64 hex digits.
        """
        body = b"".join(bytes.fromhex(h) for h in hashes)
        if len(body) != 32 * len(hashes):
            raise ValueError("every SHA-256 must be 64 hex digits")
        return body

    @staticmethod
    def digest_params(policy: Policy | None, identity: bool) -> dict[str, str]:
        """The binary check's query: ``policy`` and, if asked, ``identity=1`` (spec §6.8.4)."""
        return {**_policy_params(policy), **({"identity": "1"} if identity else {})}

    @staticmethod
    def digest_answers(
        hashes: Sequence[str], response: httpx.Response, identity: bool = False
    ) -> list[Answer] | None:
        """The answers of a binary check, in order; None if the node has no binary check (an
        older node: 404 or 405) or, when ``identity`` was asked, answered without it (no
        ``Consent-Identity: 1``: a node that ignores the parameter), so that the caller falls
        back to the JSON form."""
        if response.status_code in (404, 405):
            return None
        if response.status_code >= 400:
            raise _problem_of(response)
        if identity and response.headers.get(IDENTITY_HEADER) != "1":
            return None
        try:
            decoded = batchcheck.decode_answers(response.content, len(hashes), identity=identity)
        except ProtocolError as exc:
            raise NodeError(
                response.status_code,
                "bad-answer",
                f"unexpected answer: {exc}",
                url=str(response.url),
            ) from exc
        return [
            Answer(kind="sha256", key=key)
            if item is None
            else Answer(
                kind="sha256",
                key=key,
                prefs=item.prefs,
                declarations=item.declarations,
                claims=[
                    ClaimIdentity(
                        declaration=c.declaration,
                        level=c.level,
                        evidence=c.evidence,
                        counted=c.counted,
                        disputed_by=c.disputed_by,
                    )
                    for c in item.claims or ()
                ],
            )
            for key, item in zip(hashes, decoded, strict=True)
        ]

    def near_path(self, near: _Near) -> str:
        """The path of a near-duplicate endpoint, as the node lists it (spec §6.2).

        Raises:
            NotSupportedError: the node does not list it.
        """
        endpoint = self.info.endpoints.get(near.endpoint) if self.info else None
        if not endpoint:
            raise NotSupportedError(
                404,
                "not-supported",
                f"this node offers no {near.label} lookup: its /.well-known/"
                f"consent-registry lists no '{near.endpoint}' endpoint",
            )
        return endpoint

    @staticmethod
    def near_body(near: _Near, queries: Sequence[str], max_distance: int) -> bytes:
        return _ENCODER.encode({near.member: list(queries), "max_distance": max_distance})

    @staticmethod
    def near_answer(response: httpx.Response, kind: type[NearAnswer], asked: int) -> NearAnswer:
        """Decode a near-duplicate answer: one result per query, in request order (§6.8.3).

        Raises:
            NodeError: the node refused the request, or answered another number of results.
        """
        answer = _decode(response, kind)
        if len(answer.results) != asked:
            raise NodeError(
                response.status_code,
                "bad-answer",
                f"{len(answer.results)} results for {asked} queries",
                url=str(response.url),
            )
        return answer


def _items(sha256s: Iterable[str], urls: Iterable[str]) -> list[tuple[str, str]]:
    return [("sha256", h) for h in sha256s] + [("url", u) for u in urls]


def _subject(answer: Answer | WorkAnswer) -> tuple[str | None, str | None]:
    if isinstance(answer, Answer):
        if answer.kind == "sha256":
            return answer.key, None
        return (None, answer.key) if answer.kind == "url" else (None, None)
    return answer.sha256, answer.url


def node_url(url: str) -> str:
    """A node's base URL without its trailing slash.

    Raises:
        ConsentError: not an absolute http(s) URL with a host (e.g. the scheme is missing): said
            at once, rather than retried as a connection error.
    """
    parsed = urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        hint = f" (did you mean http://{url.strip()}?)" if "://" not in url else ""
        raise ConsentError(f"node URL {url!r} is not an http:// or https:// URL{hint}")
    return url.strip().rstrip("/")


class ConsentClient:
    """A synchronous client for one node.

    ``base_url`` is the node's URL (``https://registry.example``). ``transport`` replaces
    httpx's network transport (tests). ``concurrency`` bounds the parallel requests of a batch
    check; ``chunk_size`` the items per request (never more than the node's limit).

    Verifying answers: ``node_key`` pins the node's own verifier key (otherwise the key its
    ``/.well-known/consent-registry`` presents first is used); ``log_keys`` maps other log
    origins to their verifier keys, for declarations the node mirrors from peers. Without a
    key there, the key the node lists for that peer (``/v1/peers``) is used: the creator's
    signature is still checked, but the inclusion proof then rests on the node's word.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 4,
        chunk_size: int = DEFAULT_CHUNK,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        node_key: str | None = None,
        log_keys: Mapping[str, str] | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=node_url(base_url),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._api = _Api(chunk_size, log_keys)
        self._concurrency = max(1, concurrency)
        self._sleep = sleep
        self._node_key = node_key
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The node's base URL."""
        return str(self._http.base_url).rstrip("/")

    @property
    def log_keys(self) -> Mapping[str, str]:
        """The verifier keys the caller pinned for other logs (``log_keys=``), by origin."""
        return dict(self._api.log_keys)

    def peer_client(self, base_url: str) -> ConsentClient:
        """A client for another node, such as a peer this node lists (:meth:`peers`), with
        this client's timeout and retry policy but none of its headers, transport or pinned
        keys: what was given for this node is not sent to another."""
        return ConsentClient(base_url, timeout=self._timeout, retry=self._retry, sleep=self._sleep)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, path, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                failure: str = f"cannot reach {self.base_url}: {exc or type(exc).__name__}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                failure = f"{response.status_code} from {self.base_url}{path}"
            if attempt >= self._retry.max_retries:
                raise TransportError(f"{failure} (gave up after {attempt + 1} attempts)")
            self._sleep(self._retry.delay(attempt, response))
            attempt += 1

    # --- node description and log -----------------------------------------------------------

    def info(self, *, refresh: bool = False) -> NodeInfo:
        """The node's description (``/.well-known/consent-registry``), fetched once."""
        with self._lock:
            if self._api.info is None or refresh:
                response = self._request("GET", "/.well-known/consent-registry")
                return self._api.accept_info(_decode(response, NodeInfo), self._node_key)
            return self._api.info

    def get_bytes(self, path: str) -> bytes:
        """The body of ``GET path`` on the node (retried like every request), e.g. a snapshot
        file (spec §8.8).

        Raises:
            NodeError: the node answered an error.
        """
        response = self._request("GET", path)
        if response.status_code >= 400:
            raise _problem_of(response)
        return response.content

    def checkpoint(self) -> bytes:
        """The node's latest signed checkpoint (C2SP tlog-checkpoint note)."""
        response = self._request("GET", "/checkpoint")
        if response.status_code >= 400:
            raise _problem_of(response)
        return response.content

    def peers(self) -> list[PeerView]:
        """The logs the node mirrors (``GET /v1/peers``, spec §7.2.3): origin, URL, verifier
        key, the size it verified, whether it is flagged for equivocation.

        Raises:
            NodeError: the node answered an error. TransportError.
        """
        self.info()
        return _decode(self._request("GET", self._api.peers_path()), list[PeerView])

    # --- creators ---------------------------------------------------------------------------

    def submit(self, entry: bytes) -> SubmitResult:
        """Submit one signed declaration (its entry bytes); answered with its receipt.

        Raises:
            NodeError: the node rejected it (e.g. ``bad-signature``); TransportError.
        """
        response = self._request(
            "POST", "/v1/declarations", content=entry, headers={"Content-Type": "application/json"}
        )
        return _decode(response, SubmitResult)

    def submit_batch(
        self,
        entries: Sequence[bytes],
        *,
        max_items: int = SUBMIT_CHUNK_ITEMS,
        max_bytes: int = SUBMIT_CHUNK_BYTES,
        on_chunk: Callable[[Sequence[bytes], list[BatchItem]], None] | None = None,
    ) -> list[BatchItem]:
        """Submit many declarations through the batch endpoint, in chunks; results in order.

        ``on_chunk(entries, results)`` is called after each chunk (to store receipts as they
        come). Invalid declarations get a result with a ``problem``; they do not fail others.
        """
        limit = self.info().limits.get("max_batch_items", max_items)
        results: list[BatchItem] = []
        for chunk in _entry_chunks(entries, min(max_items, limit), max_bytes):
            response = self._request(
                "POST",
                "/v1/declarations:batch",
                content=_batch_body(chunk),
                headers={"Content-Type": "application/json"},
            )
            answer = _decode(response, BatchResult)
            if on_chunk is not None:
                on_chunk(chunk, answer.results)
            results.extend(answer.results)
        return results

    def declaration(self, declaration_id: str) -> DeclarationView:
        """A declaration by id: its entry, index, origin and a fresh receipt."""
        return _decode(self._request("GET", f"/v1/declarations/{declaration_id}"), DeclarationView)

    def creator(self, did: str) -> CreatorAnswer:
        """Everything the node holds from creator ``did``, oldest first, with statuses."""
        return _decode(self._request("GET", f"/v1/creators/{quote(did)}"), CreatorAnswer)

    # --- trust records (spec §9) ------------------------------------------------------------

    def submit_record(self, entry: bytes) -> SubmitResult:
        """Submit one signed record of any kind (a declaration or a trust record, spec §9.3)
        to ``POST /v1/records``; answered with its id, index and receipt.

        Raises:
            NodeError: the node refused it, e.g. 403 ``untrusted-platform`` (an attestation
                by a platform key it does not trust, or beyond its scope), 422
                ``future-dated``; TransportError (429 ``rate-limited`` is retried first).
        """
        response = self._request("POST", RECORDS_PATH, content=entry, headers=_JSON)
        return _decode(response, SubmitResult)

    def submit_records(
        self,
        entries: Sequence[bytes],
        *,
        max_items: int = SUBMIT_CHUNK_ITEMS,
        max_bytes: int = SUBMIT_CHUNK_BYTES,
        on_chunk: Callable[[Sequence[bytes], list[BatchItem]], None] | None = None,
    ) -> list[BatchItem]:
        """Submit many records through ``POST /v1/records:batch``, in chunks, as
        :meth:`submit_batch` does for declarations; results in order, a refused record gets
        a result with a ``problem`` and does not fail the others."""
        limit = self.info().limits.get("max_batch_items", max_items)
        results: list[BatchItem] = []
        for chunk in _entry_chunks(entries, min(max_items, limit), max_bytes):
            body = _batch_body(chunk, b"records")
            response = self._request("POST", RECORDS_PATH + ":batch", content=body, headers=_JSON)
            answer = _decode(response, BatchResult)
            if on_chunk is not None:
                on_chunk(chunk, answer.results)
            results.extend(answer.results)
        return results

    def record(self, record_id: str) -> DeclarationView:
        """A record of any kind by id (``GET /v1/records/{id}``): entry, index, origin and a
        fresh receipt."""
        return _decode(self._request("GET", f"{RECORDS_PATH}/{record_id}"), DeclarationView)

    def verify_record(self, record_id: str) -> VerifiedRecord:
        """Fetch a record of any kind and verify it locally: its signer's signature and its
        inclusion in its log's signed checkpoint (under the keys :meth:`verify_declaration`
        uses).

        Raises:
            VerificationError: a check fails. NodeError: the node does not hold it.
        """
        self.info()
        view = self.record(record_id)
        if self._api.needs_peers(view.origin):
            self._api.accept_peers(self._request("GET", self._api.peers_path()))
        return verify_record_view(view, self._api.verifier(view.origin))

    def bind_domain(self, domain: str, did: str) -> BindingResult:
        """Ask the node to check that ``https://DOMAIN/.well-known/did.json`` names ``did``
        (spec §9.2); on success it logs a node-signed ``binding`` and returns it.

        Raises:
            NodeError: 422 ``domain-check-failed`` with the reason in ``detail`` (not
                published yet, does not name the key, unreachable, not https, ...).
        """
        body = _ENCODER.encode({"domain": domain, "did": did})
        return _decode(
            self._request("POST", BINDINGS_PATH, content=body, headers=_JSON), BindingResult
        )

    def trust(self) -> TrustConfig:
        """The node's published trust configuration (spec §9.6 item 3): the node keys whose
        bindings and the platform keys whose attestations it counts. Empty from a node
        without spec §9."""
        return self._api.trust(self.info())

    def verify_declaration(
        self, declaration_id: str, *, sha256: str | None = None, url: str | None = None
    ) -> VerifiedDeclaration:
        """Fetch a declaration and verify it locally: signature, inclusion in the node's signed
        checkpoint, and, if ``sha256`` or
        ``url`` is given, that it mentions that work.

        Raises:
            VerificationError: a check fails. NodeError: the node does not hold it.
        """
        self.info()
        view = self.declaration(declaration_id)
        if self._api.needs_peers(view.origin):
            self._api.accept_peers(self._request("GET", self._api.peers_path()))
        verified = verify_view(view, self._api.verifier(view.origin))
        return self._api.check_covers(verified, sha256, url)

    def verify_answer(self, answer: Answer | WorkAnswer) -> list[VerifiedDeclaration]:
        """Verify every declaration behind a positive answer (see :meth:`verify_declaration`).

        Raises:
            VerificationError: one of them does not verify or does not mention the work.
        """
        sha256, url = _subject(answer)
        return [self.verify_declaration(d, sha256=sha256, url=url) for d in answer.declarations]

    # --- crawlers ---------------------------------------------------------------------------

    def work_by_sha256(self, sha256: str, *, policy: Policy | None = None) -> WorkAnswer:
        """The resolved preferences and claims for the work with this SHA-256, under
        ``policy`` (spec §9.4.7; None: the node's default, ``verified``), each claim with its
        identity level (spec §9.4.5)."""
        params = _policy_params(policy)
        response = self._request("GET", f"/v1/works/sha256/{sha256}", params=params)
        return _decode(response, WorkAnswer)

    def work_by_url(self, url: str, *, policy: Policy | None = None) -> WorkAnswer:
        """The resolved preferences and claims for works published at ``url`` (see
        :meth:`work_by_sha256` for ``policy``)."""
        params = {"url": url, **_policy_params(policy)}
        return _decode(self._request("GET", "/v1/works/url", params=params), WorkAnswer)

    def check(
        self,
        *,
        sha256s: Iterable[str] = (),
        urls: Iterable[str] = (),
        policy: Policy | None = None,
    ) -> list[Answer]:
        """Batch check: one :class:`Answer` per hash then per URL, in the order given, under
        ``policy`` (spec §9.4.7; None: the node's default).

        Split into chunks of the node's limit, sent ``concurrency`` at a time, each retried.
        """
        params = _policy_params(policy)
        items = _items(sha256s, urls)
        if not items:
            return []
        self.info()
        chunks = _chunks(items, self._api.check_chunk_size())

        def one(chunk: Sequence[tuple[str, str]]) -> list[Answer]:
            body = self._api.check_body(chunk)
            response = self._request(
                "POST", "/v1/check", content=body, headers=_JSON, params=params
            )
            return self._api.check_answers(chunk, response)

        with ThreadPoolExecutor(max_workers=min(self._concurrency, len(chunks))) as pool:
            parts = list(pool.map(one, chunks))
        return [answer for part in parts for answer in part]

    def check_sha256s(
        self, sha256s: Iterable[str], *, policy: Policy | None = None, identity: bool = False
    ) -> list[Answer]:
        """Batch check of SHA-256s (lowercase hex) in the binary form (spec §6.8.4): 32 bytes
        per hash up, one byte per unknown hash down, under ``policy`` (spec §9.4.7; None: the
        node's default). The same prefs and declarations as :meth:`check`; with ``identity``
        each known hash's ``claims`` too (level, evidence, counted, disputed_by, one per
        declaration: what :meth:`check` gives, for every declaration), without it none. It
        falls back to :meth:`check` on a node without the binary form, or without identity
        when it is asked.

        Raises:
            ValueError: a hash is not 64 hex digits, or the policy is unknown.
        """
        hashes = list(sha256s)
        params = self._api.digest_params(policy, identity)
        if not hashes:
            return []
        self.info()

        def one(chunk: Sequence[str]) -> list[Answer]:
            body = self._api.digest_body(chunk)
            response = self._request(
                "POST", CHECK_DIGESTS_PATH, content=body, headers=_OCTETS, params=params
            )
            answers = self._api.digest_answers(chunk, response, identity)
            return self.check(sha256s=chunk, policy=policy) if answers is None else answers

        chunks = _chunks(hashes, self._api.check_chunk_size())
        with ThreadPoolExecutor(max_workers=min(self._concurrency, len(chunks))) as pool:
            parts = list(pool.map(one, chunks))
        return [answer for part in parts for answer in part]

    def check_pdq(
        self, hashes: Sequence[str], *, max_distance: int = PDQ_MATCH_DISTANCE
    ) -> list[PdqResult]:
        """Near-duplicate check by PDQ hash: declared works within ``max_distance`` bits
        (0..64), one result per hash in the order given (spec §6.8.3).

        Raises:
            NotSupportedError: the node lists no ``check_pdq`` endpoint.
            NodeError: the node refused a hash (400 ``bad-request``) or the distance.
        """
        answers = self._near(_PDQ, hashes, max_distance, PdqResponse)
        return [result for answer in answers for result in answer.results]

    def check_pdq_copies(self, copies: Sequence[PdqQuery]) -> list[PdqResult]:
        """Near-duplicate check of images by all their query hashes (spec §6.8.3 item 6,
        recommended check): each copy as :func:`consent.fingerprint.pdq_query_hashes` gives
        it, each hash asked at its own distance (one request per distance). One result per
        copy, its ``pdq`` the copy's own hash, each declared work once at its smallest
        distance.

        A match farther than :data:`~consent.fingerprint.PDQ_WEAK_DISTANCE` whose declared
        image has a PDQ quality below :data:`~consent.fingerprint.PDQ_WEAK_QUALITY` is dropped:
        the quality is read from the match's declarations (one ``GET /v1/declarations/{id}``
        each, only for such matches, which are rare).

        Raises:
            NotSupportedError: the node lists no ``check_pdq`` endpoint.
            NodeError: the node refused a hash or a distance.
        """
        asked = _by_distance(copies)
        answers = {d: self.check_pdq(hashes, max_distance=d) for d, hashes in asked.items()}
        merged = _merge_copies(copies, answers)
        views = [self._declaration_or_none(i) for i in _far_declarations(merged)]
        return _drop_weak_declared(merged, _declared_qualities(views))

    def _declaration_or_none(self, declaration_id: str) -> DeclarationView | None:
        try:
            return self.declaration(declaration_id)
        except NodeError:
            return None

    def check_iscc(
        self, codes: Sequence[str], *, max_distance: int = ISCC_MATCH_DISTANCE
    ) -> list[IsccResult]:
        """Near-duplicate check by ISCC: declared works of the same content kind whose
        Content-Code is within ``max_distance`` bits (0..32), one result per code in the order
        given (spec §6.8.3). A lightly edited text keeps a nearby Text-Code.

        Raises:
            NotSupportedError: the node lists no ``check_iscc`` endpoint.
            NodeError: the node refused a code (400 ``bad-request``: malformed, or without a
                Content-Code) or the distance.
        """
        answers = self._near(_ISCC, codes, max_distance, IsccResponse)
        return [result for answer in answers for result in answer.results]

    def _near(
        self, near: _Near, queries: Sequence[str], max_distance: int, kind: type[NearAnswer]
    ) -> list[NearAnswer]:
        if not queries:
            return []
        self.info()
        path = self._api.near_path(near)
        answers: list[NearAnswer] = []
        for chunk in _chunks(queries, self._api.near_chunk_size()):
            body = self._api.near_body(near, chunk, max_distance)
            response = self._request("POST", path, content=body, headers=_JSON)
            answers.append(self._api.near_answer(response, kind, len(chunk)))
        return answers


def merge_pdq_results(pdq: str, results: Iterable[PdqResult]) -> PdqResult:
    """One result for a copy asked about by several hashes (spec §6.8.3 item 6): each declared
    work once, at its smallest distance, nearest first; prefs combined (any disallow wins,
    spec §3.2)."""
    best: dict[str, PdqMatch] = {}
    for result in results:
        for match in result.matches:
            if match.sha256 not in best or match.distance < best[match.sha256].distance:
                best[match.sha256] = match
    matches = sorted(best.values(), key=lambda m: (m.distance, m.sha256))
    return PdqResult(pdq=pdq, prefs=combine(m.prefs for m in matches), matches=matches)


def _far_declarations(results: Sequence[PdqResult]) -> list[str]:
    """The declarations of every match farther than ``PDQ_WEAK_DISTANCE``: their image's PDQ
    quality decides whether the match stands (spec §6.8.3 item 6)."""
    from consent.fingerprint import PDQ_WEAK_DISTANCE  # noqa: PLC0415 - numpy, Pillow, pdqhash

    far = (m for result in results for m in result.matches if m.distance > PDQ_WEAK_DISTANCE)
    return sorted({declaration for match in far for declaration in match.declarations})


def _declared_qualities(views: Iterable[DeclarationView | None]) -> dict[tuple[str, str], int]:
    """(declaration id, work SHA-256) -> the declared ``pdq_quality``; a declaration that is
    missing or does not decode says nothing (its matches stand)."""
    out: dict[tuple[str, str], int] = {}
    for view in views:
        if view is None:
            continue
        try:
            record = decode_record(bytes(view.record))
        except ProtocolError:
            continue
        for work in record.works:
            if work.pdq_quality is not None:
                out[(view.id, work.sha256)] = work.pdq_quality
    return out


def _drop_weak_declared(
    results: Sequence[PdqResult], qualities: Mapping[tuple[str, str], int]
) -> list[PdqResult]:
    """Each result without its matches farther than ``PDQ_WEAK_DISTANCE`` whose every listed
    declaration gives the work a PDQ quality below ``PDQ_WEAK_QUALITY`` (spec §6.8.3 item 6:
    a flat, low-contrast image's hash lies nearer unrelated ones, whichever side it is on)."""
    from consent.fingerprint import PDQ_WEAK_DISTANCE, PDQ_WEAK_QUALITY  # noqa: PLC0415

    def weak(match: PdqMatch) -> bool:
        if match.distance <= PDQ_WEAK_DISTANCE or not match.declarations:
            return False
        declared = [qualities.get((d, match.sha256)) for d in match.declarations]
        return all(q is not None and q < PDQ_WEAK_QUALITY for q in declared)

    out = []
    for result in results:
        kept = [match for match in result.matches if not weak(match)]
        if len(kept) == len(result.matches):
            out.append(result)
        else:
            out.append(
                merge_pdq_results(result.pdq, [PdqResult(pdq=result.pdq, prefs={}, matches=kept)])
            )
    return out


def _by_distance(copies: Sequence[PdqQuery]) -> dict[int, list[str]]:
    """Every copy's query hashes, flat in copy order, per distance they are asked at."""
    out: dict[int, list[str]] = {}
    for copy in copies:
        for distance, hashes in copy.by_distance().items():
            out.setdefault(distance, []).extend(hashes)
    return out


def _merge_copies(
    copies: Sequence[PdqQuery], answers: Mapping[int, Sequence[PdqResult]]
) -> list[PdqResult]:
    """Split the flat answers (per distance) back per copy and merge each copy's results."""
    out: list[PdqResult] = []
    taken = dict.fromkeys(answers, 0)
    for copy in copies:
        mine: dict[str, PdqResult] = {}
        for distance, hashes in copy.by_distance().items():
            start = taken[distance]
            mine.update(zip(hashes, answers[distance][start : start + len(hashes)], strict=True))
            taken[distance] = start + len(hashes)
        out.append(merge_pdq_results(copy.pdq, _standing(copy, mine)))
    return out


def _standing(copy: PdqQuery, results: Mapping[str, PdqResult]) -> list[PdqResult]:
    """Each query hash's result with only the matches that stand (spec §6.8.3 item 6): within
    the hash's standing distance, or, for a flip or rotation, confirmed by its crops."""
    standing = copy.standing()
    confirmed = copy.confirmed({h: [m.sha256 for m in r.matches] for h, r in results.items()})
    out = []
    for hex_hash, result in results.items():
        limit, works = standing[hex_hash], confirmed.get(hex_hash, set())
        kept = [m for m in result.matches if m.distance <= limit or m.sha256 in works]
        out.append(PdqResult(pdq=hex_hash, prefs={}, matches=kept))
    return out


class AsyncConsentClient:
    """The asyncio twin of :class:`ConsentClient` (same methods, awaitable).

    ``transport`` may be ``httpx.ASGITransport(app=...)`` to talk to a node app in process.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        chunk_size: int = DEFAULT_CHUNK,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        node_key: str | None = None,
        log_keys: Mapping[str, str] | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=node_url(base_url),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._api = _Api(chunk_size, log_keys)
        self._concurrency = max(1, concurrency)
        self._sleep = sleep
        self._node_key = node_key

    @property
    def base_url(self) -> str:
        """The node's base URL."""
        return str(self._http.base_url).rstrip("/")

    @property
    def log_keys(self) -> Mapping[str, str]:
        """The verifier keys the caller pinned for other logs (``log_keys=``), by origin."""
        return dict(self._api.log_keys)

    def peer_client(self, base_url: str) -> AsyncConsentClient:
        """A client for another node; see :meth:`ConsentClient.peer_client`."""
        return AsyncConsentClient(
            base_url, timeout=self._timeout, retry=self._retry, sleep=self._sleep
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.request(method, path, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                failure: str = f"cannot reach {self.base_url}: {exc or type(exc).__name__}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                failure = f"{response.status_code} from {self.base_url}{path}"
            if attempt >= self._retry.max_retries:
                raise TransportError(f"{failure} (gave up after {attempt + 1} attempts)")
            await self._sleep(self._retry.delay(attempt, response))
            attempt += 1

    async def info(self, *, refresh: bool = False) -> NodeInfo:
        """The node's description (``/.well-known/consent-registry``), fetched once."""
        if self._api.info is None or refresh:
            response = await self._request("GET", "/.well-known/consent-registry")
            return self._api.accept_info(_decode(response, NodeInfo), self._node_key)
        return self._api.info

    async def get_bytes(self, path: str) -> bytes:
        """The body of ``GET path`` on the node; see :meth:`ConsentClient.get_bytes`."""
        response = await self._request("GET", path)
        if response.status_code >= 400:
            raise _problem_of(response)
        return response.content

    async def checkpoint(self) -> bytes:
        """The node's latest signed checkpoint (C2SP tlog-checkpoint note)."""
        response = await self._request("GET", "/checkpoint")
        if response.status_code >= 400:
            raise _problem_of(response)
        return response.content

    async def peers(self) -> list[PeerView]:
        """The logs the node mirrors; see :meth:`ConsentClient.peers`."""
        await self.info()
        return _decode(await self._request("GET", self._api.peers_path()), list[PeerView])

    async def submit(self, entry: bytes) -> SubmitResult:
        """Submit one signed declaration; see :meth:`ConsentClient.submit`."""
        response = await self._request(
            "POST", "/v1/declarations", content=entry, headers={"Content-Type": "application/json"}
        )
        return _decode(response, SubmitResult)

    async def submit_batch(
        self,
        entries: Sequence[bytes],
        *,
        max_items: int = SUBMIT_CHUNK_ITEMS,
        max_bytes: int = SUBMIT_CHUNK_BYTES,
        on_chunk: Callable[[Sequence[bytes], list[BatchItem]], None] | None = None,
    ) -> list[BatchItem]:
        """Submit many declarations in chunks; see :meth:`ConsentClient.submit_batch`."""
        limit = (await self.info()).limits.get("max_batch_items", max_items)
        results: list[BatchItem] = []
        for chunk in _entry_chunks(entries, min(max_items, limit), max_bytes):
            response = await self._request(
                "POST",
                "/v1/declarations:batch",
                content=_batch_body(chunk),
                headers={"Content-Type": "application/json"},
            )
            answer = _decode(response, BatchResult)
            if on_chunk is not None:
                on_chunk(chunk, answer.results)
            results.extend(answer.results)
        return results

    async def declaration(self, declaration_id: str) -> DeclarationView:
        """A declaration by id: its entry, index, origin and a fresh receipt."""
        response = await self._request("GET", f"/v1/declarations/{declaration_id}")
        return _decode(response, DeclarationView)

    async def creator(self, did: str) -> CreatorAnswer:
        """Everything the node holds from creator ``did``."""
        return _decode(await self._request("GET", f"/v1/creators/{quote(did)}"), CreatorAnswer)

    async def submit_record(self, entry: bytes) -> SubmitResult:
        """Submit one signed record of any kind; see :meth:`ConsentClient.submit_record`."""
        response = await self._request("POST", RECORDS_PATH, content=entry, headers=_JSON)
        return _decode(response, SubmitResult)

    async def submit_records(
        self,
        entries: Sequence[bytes],
        *,
        max_items: int = SUBMIT_CHUNK_ITEMS,
        max_bytes: int = SUBMIT_CHUNK_BYTES,
        on_chunk: Callable[[Sequence[bytes], list[BatchItem]], None] | None = None,
    ) -> list[BatchItem]:
        """Submit many records in chunks; see :meth:`ConsentClient.submit_records`."""
        limit = (await self.info()).limits.get("max_batch_items", max_items)
        results: list[BatchItem] = []
        for chunk in _entry_chunks(entries, min(max_items, limit), max_bytes):
            body = _batch_body(chunk, b"records")
            response = await self._request(
                "POST", RECORDS_PATH + ":batch", content=body, headers=_JSON
            )
            answer = _decode(response, BatchResult)
            if on_chunk is not None:
                on_chunk(chunk, answer.results)
            results.extend(answer.results)
        return results

    async def record(self, record_id: str) -> DeclarationView:
        """A record of any kind by id; see :meth:`ConsentClient.record`."""
        response = await self._request("GET", f"{RECORDS_PATH}/{record_id}")
        return _decode(response, DeclarationView)

    async def verify_record(self, record_id: str) -> VerifiedRecord:
        """Fetch and verify a record of any kind; see :meth:`ConsentClient.verify_record`."""
        await self.info()
        view = await self.record(record_id)
        if self._api.needs_peers(view.origin):
            self._api.accept_peers(await self._request("GET", self._api.peers_path()))
        return verify_record_view(view, self._api.verifier(view.origin))

    async def bind_domain(self, domain: str, did: str) -> BindingResult:
        """Ask the node to check a domain; see :meth:`ConsentClient.bind_domain`."""
        body = _ENCODER.encode({"domain": domain, "did": did})
        response = await self._request("POST", BINDINGS_PATH, content=body, headers=_JSON)
        return _decode(response, BindingResult)

    async def trust(self) -> TrustConfig:
        """The node's published trust configuration; see :meth:`ConsentClient.trust`."""
        return self._api.trust(await self.info())

    async def verify_declaration(
        self, declaration_id: str, *, sha256: str | None = None, url: str | None = None
    ) -> VerifiedDeclaration:
        """Fetch and verify a declaration; see :meth:`ConsentClient.verify_declaration`."""
        await self.info()
        view = await self.declaration(declaration_id)
        if self._api.needs_peers(view.origin):
            self._api.accept_peers(await self._request("GET", self._api.peers_path()))
        verified = verify_view(view, self._api.verifier(view.origin))
        return self._api.check_covers(verified, sha256, url)

    async def verify_answer(self, answer: Answer | WorkAnswer) -> list[VerifiedDeclaration]:
        """Verify every declaration behind a positive answer."""
        sha256, url = _subject(answer)
        return [
            await self.verify_declaration(d, sha256=sha256, url=url) for d in answer.declarations
        ]

    async def work_by_sha256(self, sha256: str, *, policy: Policy | None = None) -> WorkAnswer:
        """A work's answer by SHA-256; see :meth:`ConsentClient.work_by_sha256`."""
        params = _policy_params(policy)
        response = await self._request("GET", f"/v1/works/sha256/{sha256}", params=params)
        return _decode(response, WorkAnswer)

    async def work_by_url(self, url: str, *, policy: Policy | None = None) -> WorkAnswer:
        """A work's answer by URL; see :meth:`ConsentClient.work_by_url`."""
        params = {"url": url, **_policy_params(policy)}
        response = await self._request("GET", "/v1/works/url", params=params)
        return _decode(response, WorkAnswer)

    async def check(
        self,
        *,
        sha256s: Iterable[str] = (),
        urls: Iterable[str] = (),
        policy: Policy | None = None,
    ) -> list[Answer]:
        """Batch check, answers in request order; see :meth:`ConsentClient.check`."""
        params = _policy_params(policy)
        items = _items(sha256s, urls)
        if not items:
            return []
        await self.info()
        gate = asyncio.Semaphore(self._concurrency)

        async def one(chunk: Sequence[tuple[str, str]]) -> list[Answer]:
            async with gate:
                body = self._api.check_body(chunk)
                response = await self._request(
                    "POST", "/v1/check", content=body, headers=_JSON, params=params
                )
            return self._api.check_answers(chunk, response)

        chunks = _chunks(items, self._api.check_chunk_size())
        parts = await asyncio.gather(*(one(chunk) for chunk in chunks))
        return [answer for part in parts for answer in part]

    async def check_sha256s(
        self, sha256s: Iterable[str], *, policy: Policy | None = None, identity: bool = False
    ) -> list[Answer]:
        """Binary batch check of SHA-256s; see :meth:`ConsentClient.check_sha256s`."""
        hashes = list(sha256s)
        params = self._api.digest_params(policy, identity)
        if not hashes:
            return []
        await self.info()
        gate = asyncio.Semaphore(self._concurrency)

        async def one(chunk: Sequence[str]) -> list[Answer]:
            async with gate:
                body = self._api.digest_body(chunk)
                response = await self._request(
                    "POST", CHECK_DIGESTS_PATH, content=body, headers=_OCTETS, params=params
                )
            answers = self._api.digest_answers(chunk, response, identity)
            if answers is None:
                return await self.check(sha256s=chunk, policy=policy)
            return answers

        chunks = _chunks(hashes, self._api.check_chunk_size())
        parts = await asyncio.gather(*(one(chunk) for chunk in chunks))
        return [answer for part in parts for answer in part]

    async def check_pdq(
        self, hashes: Sequence[str], *, max_distance: int = PDQ_MATCH_DISTANCE
    ) -> list[PdqResult]:
        """Near-duplicate check by PDQ hash; see :meth:`ConsentClient.check_pdq`."""
        answers = await self._near(_PDQ, hashes, max_distance, PdqResponse)
        return [result for answer in answers for result in answer.results]

    async def check_pdq_copies(self, copies: Sequence[PdqQuery]) -> list[PdqResult]:
        """Near-duplicate check of images by all their query hashes; see
        :meth:`ConsentClient.check_pdq_copies`."""
        asked = _by_distance(copies)
        answers = {d: await self.check_pdq(hashes, max_distance=d) for d, hashes in asked.items()}
        merged = _merge_copies(copies, answers)
        views = [await self._declaration_or_none(i) for i in _far_declarations(merged)]
        return _drop_weak_declared(merged, _declared_qualities(views))

    async def _declaration_or_none(self, declaration_id: str) -> DeclarationView | None:
        try:
            return await self.declaration(declaration_id)
        except NodeError:
            return None

    async def check_iscc(
        self, codes: Sequence[str], *, max_distance: int = ISCC_MATCH_DISTANCE
    ) -> list[IsccResult]:
        """Near-duplicate check by ISCC; see :meth:`ConsentClient.check_iscc`."""
        answers = await self._near(_ISCC, codes, max_distance, IsccResponse)
        return [result for answer in answers for result in answer.results]

    async def _near(
        self, near: _Near, queries: Sequence[str], max_distance: int, kind: type[NearAnswer]
    ) -> list[NearAnswer]:
        if not queries:
            return []
        await self.info()
        path = self._api.near_path(near)
        answers: list[NearAnswer] = []
        for chunk in _chunks(queries, self._api.near_chunk_size()):
            body = self._api.near_body(near, chunk, max_distance)
            response = await self._request("POST", path, content=body, headers=_JSON)
            answers.append(self._api.near_answer(response, kind, len(chunk)))
        return answers
