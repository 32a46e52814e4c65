"""Deterministic consent state: which declarations are current, per work (spec §3.5).

:class:`ConsentState` accumulates declarations in memory and answers, for a work identified by
its SHA-256 or by a (normalised) URL, every creator's current claim and the combined
preferences. It is what a node keeps as its index and what the SDK uses offline against a
snapshot. The answer depends only on the *set* of declarations added, never on the order in
which they arrived or on duplicates (spec §3.5.6): every rule below is either monotone
(supersession) or a maximum over a total order (latest signed issue time, then declaration id).

Nothing here verifies signatures or decodes bytes: callers add records that have already been
accepted (``registry.core.records.load_record``), with their declaration id
(``registry.core.records.record_id`` of the log entry). Lookups are dictionary gets: the
resolution of each subject is recomputed when a declaration touching it is added, so a batch of
10,000 lookups costs 10,000 dictionary gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Literal, NamedTuple

import msgspec

from registry.core.errors import RecordError
from registry.core.prefs import DISALLOW, combine
from registry.core.records import Declaration

__all__ = [
    "EMPTY_RESOLUTION",
    "Claim",
    "ConsentState",
    "CreatorDeclaration",
    "Mention",
    "Resolution",
    "Subject",
    "resolution_of",
    "subjects_of",
    "winners",
]

SubjectKind = Literal["sha256", "url"]
# spec §3.5.1: a subject is ("sha256", lowercase hex) or ("url", normalised URL)
Subject = tuple[SubjectKind, str]

_HEX: Final = frozenset("0123456789abcdef")
_NOBODY: Final[frozenset[str]] = frozenset()


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """One creator's current statement about a subject (spec §3.5.4).

    ``origins`` lists, sorted, the log origins in which this declaration was seen; the same
    declaration mirrored by several nodes is one claim (spec §3.5.5). ``verified`` says whether
    the creator is identity-verified for this subject (spec §3.5.7, §9.4.4).

    The other members come from resolution with trust records (spec §9.4.5, made by
    :func:`registry.core.trust.as_resolution`); their defaults are what a claim is without
    any: ``principal`` (empty: the creator itself), ``level`` and ``levels`` (identity levels,
    strongest first), ``evidence`` (binding and attestation record ids), ``counted`` (whether
    the claim counts in the combined preferences under the policy, spec §9.4.7) and
    ``disputed_by`` (counter-statement ids, spec §9.4.6).
    """

    creator: str
    declaration_id: str
    issued_at: int
    prefs: dict[str, str]
    origins: tuple[str, ...]
    verified: bool = False
    principal: str = ""
    level: str = "none"
    levels: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    counted: bool = True
    disputed_by: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """The first of :attr:`origins` in sorted order (every claim has at least one)."""
        return self.origins[0]


class Resolution(msgspec.Struct, frozen=True, kw_only=True):
    """Everything known about one subject (spec §3.5.4).

    ``claims``: each creator's current claim, sorted by creator DID. ``prefs``: the claims'
    preferences combined per category, any disallow wins (spec §3.2), keys sorted. Treat both
    as read-only: resolutions are shared between lookups.
    """

    claims: tuple[Claim, ...] = ()
    prefs: dict[str, str] = msgspec.field(default_factory=dict)

    def reserved(self, category: str = "train-ai") -> bool:
        """True if some current claim disallows ``category`` (it is ``"n"`` in :attr:`prefs`)."""
        return self.prefs.get(category) == DISALLOW

    def preference(self, category: str) -> str | None:
        """``"y"``, ``"n"`` or ``None`` (unknown) for ``category`` after combining."""
        return self.prefs.get(category)


EMPTY_RESOLUTION: Final = Resolution()

Status = Literal["current", "overridden", "superseded"]


class CreatorDeclaration(msgspec.Struct, frozen=True, kw_only=True):
    """One of a creator's declarations and where it stands (spec §3.5.3).

    ``status``: ``"superseded"`` if a declaration by the same creator lists it in
    ``supersedes``; ``"current"`` if it is the creator's winning declaration for at least one
    subject; otherwise ``"overridden"`` (a later declaration of the creator wins every subject).
    """

    declaration_id: str
    record: Declaration
    origins: tuple[str, ...]
    status: Status
    superseded_by: tuple[str, ...]


class Mention(NamedTuple):
    """One declaration mentioning a subject, as the winner rule sees it (spec §3.5.3)."""

    declaration_id: str
    creator: str
    issued_at: int
    superseded: bool


def winners(mentions: Iterable[Mention]) -> dict[str, str]:
    """Per creator, the id of the winning declaration among ``mentions`` (spec §3.5.3).

    Superseded declarations never win; among the others of one creator, the greatest
    (issued_at, declaration id) wins. A creator whose every mention is superseded is absent.
    The in-memory :class:`ConsentState` and the node's persistent index
    (``registry.storage.index``) both decide winners with this function.
    """
    best: dict[str, tuple[int, str]] = {}
    for mention in mentions:
        if mention.superseded:
            continue
        key = (mention.issued_at, mention.declaration_id)
        current = best.get(mention.creator)
        if current is None or key > current:
            best[mention.creator] = key
    return {creator: key[1] for creator, key in best.items()}


def resolution_of(claims: Iterable[Claim]) -> Resolution:
    """The resolution made of the current ``claims`` of one subject (spec §3.5.4): claims
    sorted by creator, preferences combined (any disallow wins); empty if there are none."""
    ordered = tuple(sorted(claims, key=lambda c: c.creator))
    if not ordered:
        return EMPTY_RESOLUTION
    return Resolution(claims=ordered, prefs=combine(c.prefs for c in ordered))


def subjects_of(record: Declaration) -> list[Subject]:
    """The subjects a declaration speaks about (spec §3.5.1), without duplicates, in order."""
    seen: dict[Subject, None] = {}
    for work in record.works:
        seen[("sha256", work.sha256)] = None
        for url in work.urls:
            seen[("url", url)] = None
    return list(seen)


class _Entry:
    """What the state keeps per declaration id."""

    __slots__ = ("origins", "record", "solo", "subjects", "superseded_by")

    def __init__(self, record: Declaration, subjects: list[Subject], origin: str) -> None:
        self.record = record
        self.subjects = subjects
        # Both change rarely, so they are immutable (a set costs 216 bytes even when empty).
        self.origins: tuple[str, ...] = (origin,)  # sorted
        self.superseded_by: frozenset[str] = _NOBODY
        # The resolution of a subject this declaration alone speaks about, shared by all such
        # subjects (the common case); reset when its origins or its creator's verification change.
        self.solo: Resolution | None = None


class ConsentState:
    """An order-independent, in-memory accumulator of declarations (spec §3.5).

    ``verified_creators``: DIDs whose identity is verified (spec §3.5.7); none by default.
    Not thread-safe: one writer, or external locking.
    """

    def __init__(self, *, verified_creators: Iterable[str] = ()) -> None:
        self._entries: dict[str, _Entry] = {}
        # declaration ids mentioning a subject, superseded or not
        # (a subject one declaration alone mentions, the common case, maps to that id itself:
        # a set per subject would double the state's memory)
        self._by_subject: dict[Subject, str | set[str]] = {}
        # target id -> ids of declarations listing it in ``supersedes`` (target may be unseen)
        self._supersessions: dict[str, set[str]] = {}
        self._by_creator: dict[str, set[str]] = {}
        self._verified: set[str] = set(verified_creators)
        self._sha256: dict[str, Resolution] = {}
        self._url: dict[str, Resolution] = {}

    def __len__(self) -> int:
        """The number of distinct declarations added."""
        return len(self._entries)

    def __contains__(self, declaration_id: object) -> bool:
        return declaration_id in self._entries

    @property
    def verified_creators(self) -> frozenset[str]:
        """The identity-verified creator DIDs (spec §3.5.7)."""
        return frozenset(self._verified)

    def set_verified(self, did: str, verified: bool = True) -> None:
        """Mark a creator as identity-verified or not, and refresh their claims."""
        if verified == (did in self._verified):
            return
        if verified:
            self._verified.add(did)
        else:
            self._verified.discard(did)
        touched: set[Subject] = set()
        for declaration_id in self._by_creator.get(did, ()):
            entry = self._entries[declaration_id]
            entry.solo = None
            touched.update(entry.subjects)
        self._refresh(touched)

    def add(self, declaration_id: str, record: Declaration, *, origin: str) -> bool:
        """Add a declaration seen in the log ``origin``; True if it was not known before.

        The record must already be verified by the caller; ``declaration_id`` is its record id
        (lowercase hex SHA-256 of the log entry). Adding a known declaration again only records
        one more origin (spec §3.5.5).

        Raises:
            RecordError: ``declaration_id`` is not 64 lowercase hex characters, or is already
                bound to a different record.
        """
        if len(declaration_id) != 64 or not _HEX.issuperset(declaration_id):
            raise RecordError("declaration id must be 64 lowercase hex characters")
        entry = self._entries.get(declaration_id)
        if entry is not None:
            if entry.record != record:
                raise RecordError(f"declaration {declaration_id} is bound to another record")
            if origin not in entry.origins:
                entry.origins = tuple(sorted((*entry.origins, origin)))
                entry.solo = None
                self._refresh(entry.subjects)
            return False

        entry = _Entry(record, subjects_of(record), origin)
        self._entries[declaration_id] = entry
        self._by_creator.setdefault(record.creator, set()).add(declaration_id)
        for subject in entry.subjects:
            known = self._by_subject.get(subject)
            if known is None:
                self._by_subject[subject] = declaration_id
            elif isinstance(known, str):
                self._by_subject[subject] = {known, declaration_id}
            else:
                known.add(declaration_id)
        touched: set[Subject] = set(entry.subjects)

        # spec §3.5.2: supersession counts only between declarations of the same creator; it
        # is monotone, so it applies whichever of the two declarations arrives first.
        for superseder in self._supersessions.get(declaration_id, ()):
            if self._entries[superseder].record.creator == record.creator:
                entry.superseded_by |= {superseder}
        for target in record.supersedes:
            self._supersessions.setdefault(target, set()).add(declaration_id)
            superseded = self._entries.get(target)
            if superseded is not None and superseded.record.creator == record.creator:
                superseded.superseded_by |= {declaration_id}
                touched.update(superseded.subjects)
        self._refresh(touched)
        return True

    def resolve_sha256(self, sha256: str) -> Resolution:
        """The resolution for a work's SHA-256 (lowercase hex); empty if nothing is known."""
        return self._sha256.get(sha256, EMPTY_RESOLUTION)

    def resolve_url(self, url: str) -> Resolution:
        """The resolution for a normalised URL (spec §2); empty if nothing is known."""
        return self._url.get(url, EMPTY_RESOLUTION)

    def resolve(self, subject: Subject) -> Resolution:
        """The resolution for a subject of either kind."""
        table = self._sha256 if subject[0] == "sha256" else self._url
        return table.get(subject[1], EMPTY_RESOLUTION)

    def resolve_many_sha256(self, hashes: Sequence[str]) -> list[Resolution]:
        """:meth:`resolve_sha256` for each hash, in order: the batch hot path."""
        get = self._sha256.get
        return [get(h, EMPTY_RESOLUTION) for h in hashes]

    def resolve_many_urls(self, urls: Sequence[str]) -> list[Resolution]:
        """:meth:`resolve_url` for each normalised URL, in order."""
        get = self._url.get
        return [get(u, EMPTY_RESOLUTION) for u in urls]

    def by_creator(self, did: str) -> list[CreatorDeclaration]:
        """A creator's declarations, oldest first by (issued_at, id), with their status."""
        out: list[CreatorDeclaration] = []
        for declaration_id in self._by_creator.get(did, ()):
            entry = self._entries[declaration_id]
            status: Status
            if entry.superseded_by:
                status = "superseded"
            elif any(self._winner(did, subject) == declaration_id for subject in entry.subjects):
                status = "current"
            else:
                status = "overridden"
            out.append(
                CreatorDeclaration(
                    declaration_id=declaration_id,
                    record=entry.record,
                    origins=entry.origins,
                    status=status,
                    superseded_by=tuple(sorted(entry.superseded_by)),
                )
            )
        out.sort(key=lambda d: (d.record.issued_at, d.declaration_id))
        return out

    @property
    def subject_counts(self) -> tuple[int, int]:
        """How many SHA-256 and URL subjects have at least one current claim (for metrics)."""
        return len(self._sha256), len(self._url)

    def subjects(self) -> Iterable[Subject]:
        """Every subject with at least one current claim."""
        for sha256 in self._sha256:
            yield ("sha256", sha256)
        for url in self._url:
            yield ("url", url)

    def declarations(self) -> Iterable[tuple[str, Declaration, tuple[str, ...], bool]]:
        """Every declaration added: (id, record, sorted origins, superseded), in no order.

        ``superseded``: a declaration of the same creator lists it in ``supersedes``
        (spec §3.5.2). The node's ``registry index rebuild`` compares its stored index with this.
        """
        for declaration_id, entry in self._entries.items():
            yield declaration_id, entry.record, entry.origins, bool(entry.superseded_by)

    def declaration(self, declaration_id: str) -> Declaration | None:
        """The declaration with this id, if added."""
        entry = self._entries.get(declaration_id)
        return None if entry is None else entry.record

    def mentions(self, subject: Subject) -> tuple[str, ...]:
        """Ids of every declaration mentioning ``subject``, superseded or not, sorted."""
        return tuple(sorted(self._mentions(subject)))

    def listed_by(self, declaration_id: str) -> frozenset[str]:
        """Ids of the declarations, of any creator, listing ``declaration_id`` in ``supersedes``
        (spec §3.5.2 counts only the same creator's; §9.4.2 the same principal's)."""
        return frozenset(self._supersessions.get(declaration_id, ()))

    def superseded_by(self, declaration_id: str) -> frozenset[str]:
        """Ids of the declarations of the same creator that supersede ``declaration_id``."""
        entry = self._entries.get(declaration_id)
        return _NOBODY if entry is None else entry.superseded_by

    def winner(self, creator: str, subject: Subject) -> str | None:
        """The creator's winning declaration id for a subject (spec §3.5.3), or None."""
        return self._winner(creator, subject)

    # -- internals -----------------------------------------------------------------------

    def _mentions(self, subject: Subject) -> Iterable[str]:
        """Ids of the declarations mentioning a subject, superseded or not."""
        ids = self._by_subject.get(subject, ())
        return (ids,) if isinstance(ids, str) else ids

    def _winner(self, creator: str, subject: Subject) -> str | None:
        """The creator's winning declaration id for a subject (spec §3.5.3), or None."""
        return winners(m for m in self._mention_rows(subject) if m.creator == creator).get(creator)

    def _mention_rows(self, subject: Subject) -> Iterable[Mention]:
        for declaration_id in self._mentions(subject):
            entry = self._entries[declaration_id]
            yield Mention(
                declaration_id,
                entry.record.creator,
                entry.record.issued_at,
                bool(entry.superseded_by),
            )

    def _refresh(self, subjects: Iterable[Subject]) -> None:
        for subject in subjects:
            resolution = self._compute(subject)
            table = self._sha256 if subject[0] == "sha256" else self._url
            if resolution.claims:
                table[subject[1]] = resolution
            else:
                table.pop(subject[1], None)

    def _claim(self, declaration_id: str, entry: _Entry) -> Claim:
        return Claim(
            creator=entry.record.creator,
            declaration_id=declaration_id,
            issued_at=entry.record.issued_at,
            prefs=dict(sorted(entry.record.prefs.items())),
            origins=entry.origins,
            verified=entry.record.creator in self._verified,
        )

    def _compute(self, subject: Subject) -> Resolution:
        ids = self._by_subject.get(subject, ())
        if isinstance(ids, str):
            # One declaration speaks about the subject: the general rules below reduce to its
            # own claim unless it is superseded or a withdrawal. The resolution object is
            # shared by every subject it alone speaks about (a rebuild makes one per
            # declaration, not one per work and URL).
            declaration_id = ids
            entry = self._entries[declaration_id]
            if entry.superseded_by or entry.record.withdraw:
                return EMPTY_RESOLUTION
            if entry.solo is None:
                claim = self._claim(declaration_id, entry)
                # combine() of one claim is its (validated, sorted) prefs: share the dict
                entry.solo = Resolution(claims=(claim,), prefs=claim.prefs)
            return entry.solo
        # spec §3.5.3: per creator, the non-superseded declaration with the greatest
        # (issued_at, declaration id) wins; a winning withdrawal leaves no claim.
        claims: list[Claim] = []
        for declaration_id in winners(self._mention_rows(subject)).values():
            entry = self._entries[declaration_id]
            if not entry.record.withdraw:
                claims.append(self._claim(declaration_id, entry))
        # spec §3.5.4: combined over all current claims, any disallow wins
        return resolution_of(claims)
