"""Every opt-out signal a careful crawler should respect, for one URL or file, combined.

Signals read, in this order, each mapped to the AIPREF vocabulary by ``registry.core.prefs``
(spec §3.4):

- ``registry``: the consent registry, by URL and by the SHA-256 of the bytes;
- ``c2pa``: a C2PA/CAWG ``training-mining`` assertion in the file (``from_cawg``; needs the
  ``c2pa`` extra, c2pa-python);
- ``xmp``: the IPTC/PLUS ``plus:DataMining`` property in the file's XMP (JPEG APP1, PNG iTXt,
  as Pillow reads them; ``from_plus_data_mining``, spec §3.4.2 item 9);
- ``content-usage``: the AIPREF ``Content-Usage`` response header (``parse_content_usage``);
- ``robots.txt``: the AIPREF ``Content-Usage`` rule of the robots.txt group for our user agent
  (RFC 9309 group selection; the longest matching rule path wins;
  ``parse_robots_content_usage``);
- ``content-signal``: Cloudflare's ``Content-Signal`` rule in that group, or the
  ``Content-Signal`` response header (``from_content_signals``);
- ``ai.txt``: Spawning's ``/ai.txt``, the ``Allow``/``Disallow`` rule for the path
  (``from_ai_txt``, spec §3.4.2 item 7);
- ``rsl``: the RSL 1.0 licence named by robots.txt ``License:`` lines, the ``<content>`` whose
  ``url`` matches the path (``from_rsl``, spec §3.4.2 item 8);
- ``tdm-reservation``: the W3C TDMRep response header (``from_tdmrep``);
- ``tdmrep.json``: ``/.well-known/tdmrep.json``, the first rule whose ``location`` matches the
  path (``from_tdmrep``);
- ``x-robots-tag``: ``noai`` / ``noimageai`` in ``X-Robots-Tag``, unscoped or scoped to our
  user agent (``from_robots_tags``).

Combining (spec §3.2): any disallow wins. The :class:`Verdict` says which signal decided: the
first signal in the order above that disallows the category; if none does, the first that
allows it; if none says anything, the use is allowed (an opt-out regime) and ``decided_by`` is
None. A signal that could not be read (network error, malformed value) is recorded with its
``error`` and ignored, unless the caller lists it in ``fail_closed``: then its failure
disallows, and ``decided_by`` says so.

The parsing functions are pure (text in, :class:`Signal` out); :class:`SignalEvaluator` and
:class:`AsyncSignalEvaluator` do the fetching with httpx.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final, Self
from urllib.parse import urljoin, urlsplit

import httpx

from consent._version import __version__
from consent.client import AsyncConsentClient, ConsentClient
from consent.errors import ConsentError
from registry.core.errors import PreferenceError, ProtocolError
from registry.core.prefs import (
    combine,
    from_ai_txt,
    from_cawg,
    from_content_signals,
    from_plus_data_mining,
    from_robots_tags,
    from_rsl,
    from_tdmrep,
    parse_content_usage,
    parse_robots_content_usage,
)

__all__ = [
    "SIGNAL_ORDER",
    "AsyncSignalEvaluator",
    "Signal",
    "SignalEvaluator",
    "Verdict",
    "ai_txt_signal",
    "c2pa_signal",
    "decide",
    "header_signals",
    "robots_license_urls",
    "robots_signals",
    "rsl_signal",
    "tdmrep_json_signal",
    "xmp_signal",
]

SIGNAL_ORDER: Final = (
    "registry",
    "c2pa",
    "xmp",
    "content-usage",
    "robots.txt",
    "content-signal",
    "ai.txt",
    "rsl",
    "tdm-reservation",
    "tdmrep.json",
    "x-robots-tag",
)
DEFAULT_AGENT: Final = "consent-registry-client"
_MAX_ROBOTS_BYTES: Final = 500 * 1024  # RFC 9309 §2.5: parse at least 500 KiB
_ROBOTS_PARAM_DIRECTIVES: Final = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)


@dataclass(frozen=True)
class Signal:
    """One signal read: its name, the AIPREF statement it makes, where it was found."""

    name: str
    prefs: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready view."""
        out: dict[str, object] = {"name": self.name, "prefs": dict(self.prefs)}
        if self.source:
            out["source"] = self.source
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Verdict:
    """Whether ``category`` is allowed for a URL or file, and which signal decided."""

    subject: str
    category: str
    allowed: bool
    decided_by: str | None
    prefs: Mapping[str, str]
    signals: tuple[Signal, ...]

    def to_json(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "subject": self.subject,
            "category": self.category,
            "allowed": self.allowed,
            "decided_by": self.decided_by,
            "prefs": dict(self.prefs),
            "signals": [s.to_json() for s in self.signals],
        }


def decide(
    subject: str,
    signals: Iterable[Signal],
    *,
    category: str = "train-ai",
    fail_closed: Iterable[str] = (),
) -> Verdict:
    """Combine signals into a verdict (any disallow wins) and name the deciding signal."""
    rank = {name: i for i, name in enumerate(SIGNAL_ORDER)}
    ordered = tuple(sorted(signals, key=lambda s: rank.get(s.name, len(rank))))
    prefs = combine(s.prefs for s in ordered if not s.error)
    strict = set(fail_closed)
    decided: str | None = None
    allowed = True
    for signal in ordered:
        if not signal.error and signal.prefs.get(category) == "n":
            decided, allowed = signal.name, False
            break
    else:
        failed = [s for s in ordered if s.error and s.name in strict]
        if failed:
            decided, allowed = f"{failed[0].name} (unavailable; fail closed)", False
        else:
            decided = next(
                (s.name for s in ordered if not s.error and s.prefs.get(category) == "y"), None
            )
    return Verdict(
        subject=subject,
        category=category,
        allowed=allowed,
        decided_by=decided,
        prefs=prefs,
        signals=ordered,
    )


# --- pure readers -----------------------------------------------------------------------------


def _agent_token(user_agent: str) -> str:
    """The product token of a User-Agent (RFC 9309 §2.2.1): ``Bot/1.0 (...)`` -> ``bot``."""
    return user_agent.split("/", 1)[0].split(maxsplit=1)[0].lower() if user_agent.strip() else ""


def _x_robots_tag(values: Sequence[str], agent: str) -> Signal | None:
    applicable: list[str] = []
    for value in values:
        head, sep, rest = value.partition(":")
        scoped = sep and "," not in head and head.strip().lower() not in _ROBOTS_PARAM_DIRECTIVES
        if scoped:
            if head.strip().lower() in (agent, "*"):
                applicable.append(rest)
        else:
            applicable.append(value)
    if not applicable:
        return None
    text = ", ".join(applicable)
    return Signal("x-robots-tag", from_robots_tags(text), source=text)


def header_signals(headers: httpx.Headers | Mapping[str, str], *, user_agent: str) -> list[Signal]:
    """Signals in an HTTP response's headers: Content-Usage, tdm-reservation,
    Content-Signal, X-Robots-Tag."""
    hdrs = headers if isinstance(headers, httpx.Headers) else httpx.Headers(headers)
    signals: list[Signal] = []
    usage = hdrs.get_list("content-usage")
    if usage:
        joined = ", ".join(usage)  # spec §3.3.1 item 1: field lines joined with ", "
        try:
            signals.append(Signal("content-usage", parse_content_usage(joined), source=joined))
        except ProtocolError as exc:
            signals.append(Signal("content-usage", source=joined, error=str(exc)))
    reservation = hdrs.get("tdm-reservation")
    if reservation is not None:
        value = reservation.strip()
        try:
            prefs = from_tdmrep({"tdm-reservation": value})
            signals.append(Signal("tdm-reservation", prefs, source=value))
        except PreferenceError as exc:
            signals.append(Signal("tdm-reservation", source=value, error=str(exc)))
    content_signal = hdrs.get_list("content-signal")
    if content_signal:
        joined = ", ".join(content_signal)
        try:
            signals.append(Signal("content-signal", from_content_signals(joined), source=joined))
        except PreferenceError as exc:
            signals.append(Signal("content-signal", source=joined, error=str(exc)))
    robots = _x_robots_tag(hdrs.get_list("x-robots-tag"), _agent_token(user_agent))
    if robots is not None:
        signals.append(robots)
    return signals


def _pattern_matches(pattern: str, path: str) -> bool:
    """RFC 9309 §2.2.3 path matching: ``*`` any characters, a final ``$`` the end."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.match(regex + ("$" if anchored else ""), path) is not None


def _robots_groups(text: str) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """RFC 9309 groups: (user agents, [(field, value), ...]) in file order."""
    groups: list[tuple[list[str], list[tuple[str, str]]]] = []
    agents: list[str] = []
    rules: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = (
            raw.split("#", 1)[0].strip()
            if not raw.lower().lstrip().startswith(("content-usage", "content-signal"))
            else raw.strip()
        )
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        if name == "user-agent":
            if rules:
                groups.append((agents, rules))
                agents, rules = [], []
            agents.append(value.strip().lower())
        elif agents:
            rules.append((name, value.strip()))
    if agents:
        groups.append((agents, rules))
    return groups


def _select_group(
    groups: list[tuple[list[str], list[tuple[str, str]]]], agent: str
) -> list[tuple[str, str]]:
    """The rules of the groups that apply to ``agent`` (RFC 9309 §2.2.1): the groups naming
    its product token, merged, else the ``*`` groups."""
    chosen = [rules for agents, rules in groups if agent and agent in agents]
    if not chosen:
        chosen = [rules for agents, rules in groups if "*" in agents]
    return [rule for group in chosen for rule in group]


def robots_signals(text: str, *, user_agent: str, path: str, source: str = "") -> list[Signal]:
    """The AIPREF ``Content-Usage`` and ``Content-Signal`` rules of robots.txt for ``path``.

    The group is chosen as RFC 9309 §2.2.1 says: the groups naming our product token (merged),
    else the ``*`` groups. Among its ``Content-Usage`` rules those whose path pattern matches
    ``path`` (a rule without path matches everything) apply, the longest path winning
    (draft-ietf-aipref-attach); rules of equal length are combined (any disallow wins).
    """
    rules = _select_group(_robots_groups(text), _agent_token(user_agent))
    signals: list[Signal] = []
    best: list[tuple[int, dict[str, str], str]] = []
    errors: list[str] = []
    for name, value in rules:
        if name != "content-usage":
            continue
        try:
            rule_path, prefs = parse_robots_content_usage(value)
        except ProtocolError as exc:
            errors.append(f"{value!r}: {exc}")
            continue
        if rule_path is not None and not _pattern_matches(rule_path, path):
            continue
        best.append((len(rule_path or ""), prefs, value))
    if best:
        longest = max(length for length, _, _ in best)
        winners = [(prefs, value) for length, prefs, value in best if length == longest]
        text_rules = "; ".join(value for _, value in winners)
        prefs = combine(p for p, _ in winners)
        signals.append(Signal("robots.txt", prefs, source=f"{source} Content-Usage: {text_rules}"))
    elif errors:
        signals.append(Signal("robots.txt", source=source, error="; ".join(errors)))
    for name, value in rules:
        if name == "content-signal":
            try:
                signals.append(Signal("content-signal", from_content_signals(value), source=value))
            except PreferenceError as exc:
                signals.append(Signal("content-signal", source=value, error=str(exc)))
    return signals


def ai_txt_signal(text: str, *, user_agent: str, path: str, source: str = "") -> Signal | None:
    """The ``ai.txt`` rule for ``path`` (Spawning; robots.txt syntax).

    The group is chosen as in robots.txt (RFC 9309 §2.2.1); among its ``Allow``/``Disallow``
    rules with a non-empty pattern, the longest matching pattern wins, ``Allow`` on a tie
    (RFC 9309 §2.2.2). Spawning's generator writes extension patterns (``*.jpg``) without a
    leading ``/``; they match anywhere, as ``*`` does. None if no rule matches.
    """
    rules = _select_group(_robots_groups(text), _agent_token(user_agent))
    best: tuple[int, bool, str] | None = None
    for name, value in rules:
        if name not in ("allow", "disallow") or not value:
            continue
        if _pattern_matches(value if value.startswith(("/", "*")) else "*" + value, path):
            candidate = (len(value), name == "allow", name)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is None:
        return None
    kind = "Allow" if best[1] else "Disallow"
    return Signal("ai.txt", from_ai_txt(kind), source=f"{source} {kind}")


def robots_license_urls(text: str, base: str) -> list[str]:
    """The RSL licence URLs a robots.txt names (``License:`` lines, any group), absolute."""
    urls = []
    for raw in text.splitlines():
        name, sep, value = raw.split("#", 1)[0].partition(":")
        if sep and name.strip().lower() == "license" and value.strip():
            urls.append(urljoin(base, value.strip()))
    return urls


_RSL: Final = "{https://rslstandard.org/rsl}"


def _rsl_url_path(url: str) -> str:
    return urlsplit(url).path or "/" if url.startswith(("http://", "https://")) else url


def rsl_signal(text: str | bytes, path: str, *, source: str = "") -> Signal | None:
    """The RSL 1.0 licence terms for ``path``: of the ``<content>`` elements whose ``url``
    matches (a path or URL with RFC 9309 matching), the longest; its licences' ``usage``
    permits and prohibits, combined (spec §3.4.2 item 8). None if no content matches.

    (ElementTree on expat ≥ 2.4 refuses entity amplification; RSL needs no DTD.)
    """
    try:
        root = ET.fromstring(text)  # noqa: S314 - see the docstring
    except ET.ParseError as exc:
        return Signal("rsl", source=source, error=f"not XML: {exc}")
    if root.tag != _RSL + "rsl":
        return Signal("rsl", source=source, error="not an RSL document (namespace)")
    best: tuple[int, ET.Element] | None = None
    for content in root.iter(_RSL + "content"):
        pattern = _rsl_url_path(content.get("url", ""))
        matches = bool(pattern) and _pattern_matches(pattern, path)
        if matches and (best is None or len(pattern) > best[0]):
            best = (len(pattern), content)
    if best is None:
        return None
    statements = []
    for licence in best[1].iter(_RSL + "license"):
        usage: dict[str, list[str]] = {"permits": [], "prohibits": []}
        for element in ("permits", "prohibits"):
            for node in licence.iter(_RSL + element):
                if node.get("type", "usage") == "usage":
                    usage[element] += (node.text or "").replace(",", " ").split()
        try:
            statements.append(from_rsl(usage))
        except PreferenceError as exc:
            return Signal("rsl", source=source, error=str(exc))
    pattern = best[1].get("url", "")
    return Signal("rsl", combine(statements), source=f"{source} content {pattern}")


_PLUS_DATA_MINING: Final = "{http://ns.useplus.org/ldf/xmp/1.0/}DataMining"
_RDF_RESOURCE: Final = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}resource"


def xmp_signal(data: bytes) -> Signal | None:
    """The IPTC/PLUS ``plus:DataMining`` value in an image's XMP, if any.

    The packet is read where Pillow finds it (JPEG APP1, PNG ``iTXt``, WebP); the property may
    be an element (text or ``rdf:resource``) or an attribute of ``rdf:Description``. None for
    files Pillow cannot open or without the property.
    """
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(io.BytesIO(data)) as image:
            packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if not packet:
        return None
    try:
        root = ET.fromstring(packet)  # noqa: S314 - expat ≥ 2.4 refuses amplification
    except ET.ParseError as exc:
        return Signal("xmp", source="XMP", error=f"unreadable XMP: {exc}")
    values = [
        (node.text or node.get(_RDF_RESOURCE) or "").strip()
        for node in root.iter(_PLUS_DATA_MINING)
    ]
    values += [node.attrib.get(_PLUS_DATA_MINING, "") for node in root.iter()]
    values = [v for v in values if v]
    if not values:
        return None
    try:
        prefs = combine(from_plus_data_mining(v) for v in values)
    except PreferenceError as exc:
        return Signal("xmp", source="plus:DataMining", error=str(exc))
    return Signal("xmp", prefs, source=f"plus:DataMining {' '.join(values)}")


def tdmrep_json_signal(document: object, path: str, *, source: str = "") -> Signal | None:
    """The TDMRep rule for ``path`` from a ``/.well-known/tdmrep.json`` document.

    The document is an array of rules with ``location`` (a path pattern, ``*`` wildcards and
    an optional final ``$``), ``tdm-reservation`` (0 or 1) and optionally ``tdm-policy``. The
    first rule whose location matches applies (W3C TDMRep, "TDM Reservation Protocol in a
    JSON file"); None if none does.
    """
    if not isinstance(document, list):
        return Signal("tdmrep.json", source=source, error="tdmrep.json is not a JSON array")
    for rule in document:
        if not isinstance(rule, dict) or not isinstance(rule.get("location"), str):
            continue
        if _pattern_matches(rule["location"], path):
            try:
                prefs = from_tdmrep(rule)
            except PreferenceError as exc:
                return Signal("tdmrep.json", source=source, error=str(exc))
            return Signal("tdmrep.json", prefs, source=f"{source} location {rule['location']}")
    return None


_C2PA_LABELS: Final = ("cawg.training-mining", "c2pa.training-mining")


def c2pa_signal(data: bytes, media_type: str | None = None) -> Signal | None:
    """A C2PA/CAWG ``training-mining`` assertion in the file's active manifest, if any.

    Needs c2pa-python (the ``c2pa`` extra); without it, or without a manifest, None. A manifest
    that cannot be read gives a Signal with ``error``.
    """
    try:
        import c2pa  # type: ignore[import-untyped]  # noqa: PLC0415 - optional extra
    except ImportError:
        return None
    try:
        reader = c2pa.Reader.try_create(media_type or "", io.BytesIO(data))
        if reader is None:
            return None
        with reader:
            manifest = reader.get_active_manifest() or {}
    except Exception as exc:  # c2pa raises many kinds; all mean "unreadable"
        if "NotSupported" in type(exc).__name__:
            return None  # a media type C2PA does not cover carries no assertion
        return Signal("c2pa", error=f"unreadable C2PA manifest: {exc}")
    statements = []
    for assertion in manifest.get("assertions", []):
        if isinstance(assertion, dict) and assertion.get("label") in _C2PA_LABELS:
            try:
                statements.append(from_cawg(assertion.get("data") or {}))
            except PreferenceError as exc:
                return Signal("c2pa", source=str(assertion.get("label")), error=str(exc))
    if not statements:
        return None
    return Signal("c2pa", combine(statements), source="training-mining assertion")


def _content_signals(data: bytes, media_type: str | None) -> list[Signal]:
    """The signals a file's bytes carry: C2PA and XMP."""
    found = [c2pa_signal(data, media_type), xmp_signal(data)]
    return [signal for signal in found if signal is not None]


def _ai_rsl_signals(
    fetched: Mapping[str, tuple[str | None, str | None]], origin: str, path: str, agent: str
) -> list[Signal]:
    """Signals of the fetched ``ai.txt`` (key ``"ai.txt"``) and RSL licences (key: URL)."""
    signals: list[Signal] = []
    for key, (text, error) in fetched.items():
        name, where = ("ai.txt", origin + "/ai.txt") if key == "ai.txt" else ("rsl", key)
        if error:
            signals.append(Signal(name, source=where, error=error))
            continue
        if text is None:
            continue
        found = (
            ai_txt_signal(text, user_agent=agent, path=path, source=where)
            if name == "ai.txt"
            else rsl_signal(text.encode("utf-8"), path, source=where)
        )
        if found is not None:
            signals.append(found)
    return signals


# --- fetching ---------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _registry_signal(answers: Sequence[object], source: str) -> Signal:
    statements = [getattr(a, "prefs", {}) for a in answers]
    return Signal("registry", combine(statements), source=source)


class SignalEvaluator:
    """Reads every signal for URLs and files (synchronous).

    ``registry``: a :class:`ConsentClient` (None: the registry is not asked). ``fail_closed``:
    names of signals whose failure disallows (e.g. ``{"registry"}``). ``fetch_body``: download
    the content of URLs (needed for the registry's hash lookup and C2PA); else only headers
    (``HEAD``-like ``GET`` of zero bytes is not portable, so ``GET`` is used and closed early).
    """

    def __init__(
        self,
        *,
        registry: ConsentClient | None = None,
        http: httpx.Client | None = None,
        user_agent: str = f"{DEFAULT_AGENT}/{__version__}",
        categories: Sequence[str] = ("train-ai",),
        fail_closed: Iterable[str] = (),
        fetch_body: bool = True,
        timeout: float = 20.0,
    ) -> None:
        self.registry = registry
        self.user_agent = user_agent
        self.category = categories[0] if categories else "train-ai"
        self.fail_closed = frozenset(fail_closed)
        self.fetch_body = fetch_body
        self._own_http = http is None
        self._http = http or httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": user_agent}
        )
        self._robots: dict[str, tuple[str | None, str | None]] = {}
        self._tdmrep: dict[str, tuple[object, str | None]] = {}
        self._files: dict[str, tuple[str | None, str | None]] = {}

    def close(self) -> None:
        """Close the HTTP client if this evaluator made it."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _get_text(self, url: str) -> tuple[str | None, str | None]:
        """(text, error) of a site file; a 4xx is "no file" (RFC 9309 §2.3.1.3)."""
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            return None, f"cannot fetch {url}: {exc or type(exc).__name__}"
        if 400 <= response.status_code < 500:
            return None, None
        if response.status_code >= 500:
            return None, f"{url} answered {response.status_code}"
        return response.content[:_MAX_ROBOTS_BYTES].decode("utf-8", errors="replace"), None

    def _site_signals(self, url: str) -> list[Signal]:
        origin, path = _origin(url), _path(url)
        if origin not in self._robots:
            self._robots[origin] = self._get_text(origin + "/robots.txt")
        text, error = self._robots[origin]
        signals: list[Signal] = []
        if error:
            signals.append(Signal("robots.txt", source=origin + "/robots.txt", error=error))
        elif text is not None:
            signals += robots_signals(
                text, user_agent=self.user_agent, path=path, source=origin + "/robots.txt"
            )
        signals += self._extra_site_signals(origin, path, text)
        if origin not in self._tdmrep:
            raw, error = self._get_text(origin + "/.well-known/tdmrep.json")
            doc: object = None
            if raw is not None:
                try:
                    doc = json.loads(raw)
                except ValueError:
                    error = "tdmrep.json is not JSON"
            self._tdmrep[origin] = (doc, error)
        doc, error = self._tdmrep[origin]
        where = origin + "/.well-known/tdmrep.json"
        if error:
            signals.append(Signal("tdmrep.json", source=where, error=error))
        elif doc is not None:
            found = tdmrep_json_signal(doc, path, source=where)
            if found is not None:
                signals.append(found)
        return signals

    def _cached_text(self, url: str) -> tuple[str | None, str | None]:
        if url not in self._files:
            self._files[url] = self._get_text(url)
        return self._files[url]

    def _extra_site_signals(self, origin: str, path: str, robots: str | None) -> list[Signal]:
        """ai.txt, and the RSL licences robots.txt names."""
        fetched = {"ai.txt": self._cached_text(origin + "/ai.txt")}
        for url in robots_license_urls(robots or "", origin + "/"):
            fetched[url] = self._cached_text(url)
        return _ai_rsl_signals(fetched, origin, path, self.user_agent)

    def _registry(self, *, url: str | None = None, sha256: str | None = None) -> Signal | None:
        if self.registry is None:
            return None
        try:
            answers = self.registry.check(
                sha256s=[sha256] if sha256 else [], urls=[url] if url else []
            )
        except ConsentError as exc:
            return Signal("registry", source=self.registry.base_url, error=str(exc))
        return _registry_signal(answers, self.registry.base_url)

    def evaluate_url(self, url: str) -> Verdict:
        """Fetch ``url`` (and its site's robots.txt and tdmrep.json) and read every signal."""
        signals = self._site_signals(url)
        sha256: str | None = None
        try:
            with self._http.stream("GET", url) as response:
                signals += header_signals(response.headers, user_agent=self.user_agent)
                if self.fetch_body and response.status_code < 400:
                    body = response.read()
                    sha256 = hashlib.sha256(body).hexdigest()
                    media = response.headers.get("content-type", "").split(";")[0].strip()
                    signals += _content_signals(body, media or None)
        except httpx.HTTPError as exc:
            signals.append(Signal("content-usage", source=url, error=f"cannot fetch: {exc}"))
        registry = self._registry(url=url, sha256=sha256)
        if registry is not None:
            signals.append(registry)
        return decide(url, signals, category=self.category, fail_closed=self.fail_closed)

    def evaluate_file(self, path: Path) -> Verdict:
        """Read the signals a local file carries: the registry (SHA-256), C2PA and XMP."""
        data = path.read_bytes()
        signals = _content_signals(data, None)
        registry = self._registry(sha256=hashlib.sha256(data).hexdigest())
        if registry is not None:
            signals.append(registry)
        return decide(str(path), signals, category=self.category, fail_closed=self.fail_closed)


class AsyncSignalEvaluator:
    """The asyncio twin of :class:`SignalEvaluator` (same signals, same verdicts)."""

    def __init__(
        self,
        *,
        registry: AsyncConsentClient | None = None,
        http: httpx.AsyncClient | None = None,
        user_agent: str = f"{DEFAULT_AGENT}/{__version__}",
        categories: Sequence[str] = ("train-ai",),
        fail_closed: Iterable[str] = (),
        fetch_body: bool = True,
        timeout: float = 20.0,
    ) -> None:
        self.registry = registry
        self.user_agent = user_agent
        self.category = categories[0] if categories else "train-ai"
        self.fail_closed = frozenset(fail_closed)
        self.fetch_body = fetch_body
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": user_agent}
        )
        self._site: dict[str, list[Signal]] = {}

    async def aclose(self) -> None:
        """Close the HTTP client if this evaluator made it."""
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _get_text(self, url: str) -> tuple[str | None, str | None]:
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            return None, f"cannot fetch {url}: {exc or type(exc).__name__}"
        if 400 <= response.status_code < 500:
            return None, None
        if response.status_code >= 500:
            return None, f"{url} answered {response.status_code}"
        return response.content[:_MAX_ROBOTS_BYTES].decode("utf-8", errors="replace"), None

    async def _site_signals(self, url: str) -> list[Signal]:
        origin, path = _origin(url), _path(url)
        signals: list[Signal] = []
        text, error = await self._get_text(origin + "/robots.txt")
        if error:
            signals.append(Signal("robots.txt", source=origin + "/robots.txt", error=error))
        elif text is not None:
            signals += robots_signals(
                text, user_agent=self.user_agent, path=path, source=origin + "/robots.txt"
            )
        fetched = {"ai.txt": await self._get_text(origin + "/ai.txt")}
        for license_url in robots_license_urls(text or "", origin + "/"):
            fetched[license_url] = await self._get_text(license_url)
        signals += _ai_rsl_signals(fetched, origin, path, self.user_agent)
        where = origin + "/.well-known/tdmrep.json"
        raw, error = await self._get_text(where)
        if error:
            signals.append(Signal("tdmrep.json", source=where, error=error))
        elif raw is not None:
            try:
                found = tdmrep_json_signal(json.loads(raw), path, source=where)
            except ValueError:
                found = Signal("tdmrep.json", source=where, error="tdmrep.json is not JSON")
            if found is not None:
                signals.append(found)
        return signals

    async def evaluate_url(self, url: str) -> Verdict:
        """Fetch ``url`` and its site files and read every signal."""
        signals = await self._site_signals(url)
        sha256: str | None = None
        try:
            async with self._http.stream("GET", url) as response:
                signals += header_signals(response.headers, user_agent=self.user_agent)
                if self.fetch_body and response.status_code < 400:
                    body = await response.aread()
                    sha256 = hashlib.sha256(body).hexdigest()
                    media = response.headers.get("content-type", "").split(";")[0].strip()
                    signals += _content_signals(body, media or None)
        except httpx.HTTPError as exc:
            signals.append(Signal("content-usage", source=url, error=f"cannot fetch: {exc}"))
        if self.registry is not None:
            try:
                answers = await self.registry.check(sha256s=[sha256] if sha256 else [], urls=[url])
                signals.append(_registry_signal(answers, self.registry.base_url))
            except ConsentError as exc:
                signals.append(Signal("registry", source=self.registry.base_url, error=str(exc)))
        return decide(url, signals, category=self.category, fail_closed=self.fail_closed)
