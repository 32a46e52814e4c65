"""The creator's workflow: build declarations from fingerprints, sign, submit, keep receipts.

Declarations are *deterministic*: the same works, preferences and ``issued_at`` always give
the same declarations (works sorted by SHA-256, packed greedily by entry size), and Ed25519
signatures are deterministic (RFC 8032), so the same entries. Together with the receipts
folder (:mod:`consent.receipts`) this makes every run resumable without double submission:

1. entries left pending by an interrupted run are submitted first (the node answers a
   resubmitted entry with its existing index: nothing is logged twice);
2. works whose latest local receipt (same node, same creator) already states the requested
   preferences are skipped;
3. the new entries are written to the state file *before* they are sent, and each receipt is
   stored as soon as its batch is answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from consent.client import ConsentClient
from consent.errors import ConsentError, VerificationError
from consent.fingerprint import Fingerprint
from consent.proofs import verifier_from_key, verify_entry, verify_view
from consent.receipts import ReceiptStore, StoredReceipt
from registry.core.errors import LimitError
from registry.core.keys import PrivateKey
from registry.core.records import (
    MAX_ENTRY_BYTES,
    MAX_WORKS,
    Declaration,
    Work,
    encode_record,
    entry_size,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
)
from registry.wire import NodeInfo

__all__ = [
    "Creator",
    "Progress",
    "SubmitReport",
    "collect_works",
    "pack_declarations",
]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called as declarations are answered."""


@dataclass
class SubmitReport:
    """What a run did: receipts stored, works skipped as already declared, rejections."""

    receipts: list[StoredReceipt] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Works ``declare`` left alone: this creator already states something else about them
    (other preferences, or a withdrawal); ``change`` restates them."""
    rejected: list[tuple[str, str]] = field(default_factory=list)
    resumed: int = 0
    works: int = 0

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary (the CLI's ``--json`` output)."""
        return {
            "declarations": [
                {"id": r.id, "index": r.index, "origin": r.origin, "works": len(r.record.works)}
                for r in self.receipts
            ],
            "works": self.works,
            "skipped": self.skipped,
            "kept": self.kept,
            "rejected": [{"id": i, "problem": p} for i, p in self.rejected],
            "resumed": self.resumed,
        }


def collect_works(
    fingerprints: Iterable[Fingerprint],
    *,
    urls: Mapping[Path, Sequence[str]] | None = None,
) -> tuple[list[Work], dict[str, list[str]]]:
    """Turn fingerprints into works: one per distinct SHA-256, URLs merged and normalised.

    Returns the works sorted by SHA-256 and, per SHA-256, the file paths it came from.

    Raises:
        RecordError: a URL is not an http(s) URL, or a work would carry too many URLs.
    """
    by_sha: dict[str, Fingerprint] = {}
    files: dict[str, list[str]] = {}
    work_urls: dict[str, set[str]] = {}
    for fp in fingerprints:
        by_sha.setdefault(fp.sha256, fp)
        files.setdefault(fp.sha256, []).append(str(fp.path))
        work_urls.setdefault(fp.sha256, set()).update((urls or {}).get(fp.path, ()))
    works = [
        new_work(
            sha,
            pdq=fp.pdq,
            pdq_quality=fp.pdq_quality,
            pdq_variants=fp.pdq_variants,
            iscc=fp.iscc,
            media_type=fp.media_type,
            urls=sorted(work_urls[sha]),
        )
        for sha, fp in sorted(by_sha.items())
    ]
    return works, {sha: sorted(set(paths)) for sha, paths in files.items()}


_WORK_ENCODER = msgspec.json.Encoder(order="sorted")


def pack_declarations(
    works: Sequence[Work],
    *,
    creator: str,
    issued_at: int,
    prefs: Mapping[str, str],
    supersedes: Iterable[str] = (),
    withdraw: bool = False,
) -> list[Declaration]:
    """Pack works into as few unsigned declarations as the limits allow (spec §2.6, §2.10).

    Works are taken in SHA-256 order and added to the current declaration while its signed
    entry stays within :data:`MAX_ENTRY_BYTES` and it has at most :data:`MAX_WORKS` works.
    Deterministic: the same arguments give the same declarations.

    Raises:
        RecordError: the works, preferences or superseded ids are invalid.
        LimitError: a single work does not fit in an entry.
    """
    ordered = sorted({w.sha256: w for w in works}.values(), key=lambda w: w.sha256)
    if not ordered:
        return []
    superseded = tuple(sorted(set(supersedes)))

    def build(group: Sequence[Work]) -> Declaration:
        return new_declaration(
            creator=creator,
            issued_at=issued_at,
            works=group,
            prefs=prefs,
            supersedes=superseded,
            withdraw=withdraw,
        )

    first = ordered[0]
    overhead = entry_size(build([first])) - len(_WORK_ENCODER.encode(first))
    groups: list[list[Work]] = [[]]
    size = overhead
    for work in ordered:
        cost = len(_WORK_ENCODER.encode(work)) + (1 if groups[-1] else 0)
        if groups[-1] and (size + cost > MAX_ENTRY_BYTES or len(groups[-1]) >= MAX_WORKS):
            groups.append([])
            size, cost = overhead, cost - 1
        groups[-1].append(work)
        size += cost
    declarations = [build(group) for group in groups]
    for declaration in declarations:
        if entry_size(declaration) > MAX_ENTRY_BYTES:
            raise LimitError(
                f"a work of {declaration.works[0].sha256[:16]} does not fit in one entry "
                "(too many or too long URLs?)"
            )
    return declarations


class Creator:
    """A creator acting through one node: declare, withdraw and change, keeping receipts.

    The node's verifier key is pinned in the receipts folder on first contact; a node that
    later presents another key is refused (:class:`VerificationError`). Every receipt is
    verified against that key before it is stored.
    """

    def __init__(
        self,
        key: PrivateKey,
        client: ConsentClient,
        store: ReceiptStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.client = client
        self.store = store
        self._clock = clock
        self._info: NodeInfo | None = None

    @property
    def did(self) -> str:
        """The creator's ``did:key``."""
        return self.key.public_key.did

    @property
    def keys(self) -> frozenset[str]:
        """This key and the keys it took over from by rotation (spec §9.4.2): declarations
        by any of them are this creator's, which a newer declaration of this key revises."""
        return frozenset({self.did, *self.store.predecessors()})

    def node_info(self) -> NodeInfo:
        """The node's description, checked against (or pinned into) the receipts folder.

        Raises:
            VerificationError: the node presents another key than the one pinned.
        """
        if self._info is None:
            info = self.client.info()
            pinned = self.store.pinned_key(self.client.base_url)
            if pinned is None:
                self.store.pin_key(self.client.base_url, info.verifier_key)
            elif pinned != info.verifier_key:
                raise VerificationError(
                    f"{self.client.base_url} now presents verifier key {info.verifier_key}, "
                    f"but {pinned} is pinned in {self.store.folder}/.nodes.json"
                )
            self._info = info
        return self._info

    # --- what this creator already declared (locally known) ----------------------------------

    def _latest(self) -> dict[str, tuple[int, str, Declaration]]:
        """Per SHA-256: the latest (issued_at, id, record) of this creator at this node."""
        origin = self.node_info().origin
        latest: dict[str, tuple[int, str, Declaration]] = {}
        for stored in self.store:
            record = stored.record
            if stored.origin != origin or record.creator not in self.keys:
                continue
            for work in record.works:
                known = latest.get(work.sha256)
                if known is None or (record.issued_at, stored.id) > known[:2]:
                    latest[work.sha256] = (record.issued_at, stored.id, record)
        return latest

    def _now(self, after: Iterable[int] = ()) -> int:
        return max([int(self._clock()), *(t + 1 for t in after)])

    # --- submitting --------------------------------------------------------------------------

    def _submit(
        self,
        entries: Sequence[bytes],
        files: Mapping[str, Sequence[str]],
        progress: Progress | None,
    ) -> SubmitReport:
        info = self.node_info()
        verifier = verifier_from_key(info.verifier_key)
        report = SubmitReport()
        done = 0

        def on_chunk(chunk: Sequence[bytes], results: Sequence[object]) -> None:
            nonlocal done
            for entry, item in zip(chunk, results, strict=True):
                declaration_id = record_id(entry)
                problem = getattr(item, "problem", None)
                receipt = getattr(item, "receipt", None)
                if problem is not None or receipt is None:
                    detail = getattr(problem, "detail", "") or "rejected"
                    report.rejected.append((declaration_id, detail))
                    continue
                verified = verify_entry(entry, receipt, verifier, expected_id=declaration_id)
                record_files = {
                    w.sha256: list(files.get(w.sha256, ())) for w in verified.record.works
                }
                stored = StoredReceipt(
                    id=declaration_id,
                    index=verified.index,
                    origin=verified.origin,
                    node=self.client.base_url,
                    verifier_key=info.verifier_key,
                    entry=entry,
                    receipt=receipt,
                    files={k: v for k, v in record_files.items() if v},
                )
                self.store.add(stored)
                report.receipts.append(stored)
            done += len(chunk)
            if progress is not None:
                progress(done, len(entries))

        self.client.submit_batch(entries, on_chunk=on_chunk)
        remaining = [e for e in entries if self.store.get(record_id(e)) is None]
        # Rejected entries are dropped from the state: resubmitting them cannot succeed.
        rejected = {i for i, _ in report.rejected}
        self.store.set_pending(
            self.did, [e for e in remaining if record_id(e) not in rejected], files
        )
        return report

    def submit_declarations(
        self,
        declarations: Sequence[Declaration],
        *,
        files: Mapping[str, Sequence[str]] | None = None,
        progress: Progress | None = None,
    ) -> SubmitReport:
        """Sign ``declarations``, record them as pending, submit them, store the receipts.

        Raises:
            NodeError, TransportError: the node failed (the entries stay pending: run again).
            VerificationError: a receipt does not verify against the pinned key.
        """
        self.node_info()
        entries = [encode_record(sign_declaration(d, self.key)) for d in declarations]
        pending = self.store.pending(self.did)
        all_files = {**self.store.pending_files(), **(files or {})}
        self.store.set_pending(self.did, [*pending, *entries], all_files)
        return self._submit([*pending, *entries], all_files, progress)

    def resume(self, *, progress: Progress | None = None) -> SubmitReport:
        """Submit the entries an interrupted run left pending (no-op if none)."""
        pending = self.store.pending(self.did)
        if not pending:
            return SubmitReport()
        report = self._submit(pending, self.store.pending_files(), progress)
        report.resumed = len(pending)
        return report

    # --- the three verbs ---------------------------------------------------------------------

    def declare(
        self,
        fingerprints: Iterable[Fingerprint],
        *,
        prefs: Mapping[str, str],
        urls: Mapping[Path, Sequence[str]] | None = None,
        issued_at: int | None = None,
        progress: Progress | None = None,
    ) -> SubmitReport:
        """Declare works: skip those already declared with these prefs, pack, sign, submit.

        A work whose latest statement by this creator (in the receipts folder: fill it from
        the node first with :func:`consent.state.sync`) is a withdrawal or other preferences is
        *kept* as it is, not restated: declaring a folder again never silently undoes a
        withdrawal or a change (use :meth:`change`).

        Raises:
            RecordError, PreferenceError: invalid URLs or preferences (nothing is sent).
            NodeError, TransportError, VerificationError: as :meth:`submit_declarations`.
        """
        resumed = self.resume(progress=progress)
        works, files = collect_works(fingerprints, urls=urls)
        latest = self._latest()
        wanted = dict(sorted(prefs.items()))
        todo, skipped, kept = [], [], []
        for work in works:
            known = latest.get(work.sha256)
            if known is None:
                todo.append(work)
            elif known[2].withdraw or known[2].prefs != wanted:
                kept.append(work.sha256)
            elif set(work.urls) <= _urls_of(known[2], work.sha256):
                skipped.append(work.sha256)
            else:
                todo.append(work)  # same statement, new URLs
        declarations = pack_declarations(
            todo,
            creator=self.did,
            issued_at=self._now() if issued_at is None else issued_at,
            prefs=wanted,
        )
        report = self.submit_declarations(declarations, files=files, progress=progress)
        report.receipts[:0] = resumed.receipts
        report.rejected[:0] = resumed.rejected
        report.resumed = resumed.resumed
        report.skipped = skipped
        report.kept = kept
        report.works = len(works)
        return report

    def _record_of(self, declaration_id: str) -> Declaration:
        stored = self.store.get(declaration_id)
        if stored is not None:
            return stored.record
        info = self.node_info()
        view = self.client.declaration(declaration_id)
        record = verify_view(view, verifier_from_key(info.verifier_key)).record
        if record.creator not in self.keys:
            raise ConsentError(f"declaration {declaration_id} is not yours ({record.creator})")
        return record

    def _revise(
        self,
        *,
        prefs: Mapping[str, str],
        withdraw: bool,
        sha256s: Iterable[str],
        declaration_ids: Iterable[str],
        issued_at: int | None,
        progress: Progress | None,
    ) -> SubmitReport:
        latest = self._latest()
        works: dict[str, Work] = {}
        times: list[int] = []
        supersedes = sorted(set(declaration_ids))
        for declaration_id in supersedes:
            record = self._record_of(declaration_id)
            times.append(record.issued_at)
            # Only the works this declaration still decides need a new statement: where a
            # later declaration of ours already wins, superseding this one changes nothing.
            current = [
                work
                for work in record.works
                if work.sha256 not in latest or latest[work.sha256][1] == declaration_id
            ]
            for work in current or record.works:
                works[work.sha256] = work
        for sha256 in sha256s:
            known = latest.get(sha256)
            if known is not None:
                times.append(known[0])
                works.setdefault(sha256, _work_in(known[2], sha256))
            else:
                works.setdefault(sha256, new_work(sha256))
        for sha256 in works:
            if sha256 in latest:
                times.append(latest[sha256][0])
        if not works:
            raise ConsentError("nothing to revise: give files, --sha256 or --declaration")
        declarations = pack_declarations(
            list(works.values()),
            creator=self.did,
            issued_at=self._now(times) if issued_at is None else issued_at,
            prefs={} if withdraw else prefs,
            supersedes=supersedes,
            withdraw=withdraw,
        )
        report = self.submit_declarations(declarations, progress=progress)
        report.works = len(works)
        return report

    def withdraw(
        self,
        *,
        sha256s: Iterable[str] = (),
        declaration_ids: Iterable[str] = (),
        issued_at: int | None = None,
        progress: Progress | None = None,
    ) -> SubmitReport:
        """Withdraw: no longer state any preference for these works (spec §2.3, §3.5).

        Whole declarations (``declaration_ids``) are superseded; single works (``sha256s``)
        get a newer withdrawal, repeating the URLs they were declared with (spec §3.5.1).
        """
        return self._revise(
            prefs={},
            withdraw=True,
            sha256s=sha256s,
            declaration_ids=declaration_ids,
            issued_at=issued_at,
            progress=progress,
        )

    def change(
        self,
        *,
        prefs: Mapping[str, str],
        sha256s: Iterable[str] = (),
        declaration_ids: Iterable[str] = (),
        issued_at: int | None = None,
        progress: Progress | None = None,
    ) -> SubmitReport:
        """State new preferences for works declared before (e.g. allow training now).

        Whole declarations are superseded; single works get a newer declaration.
        """
        return self._revise(
            prefs=prefs,
            withdraw=False,
            sha256s=sha256s,
            declaration_ids=declaration_ids,
            issued_at=issued_at,
            progress=progress,
        )


def _work_in(record: Declaration, sha256: str) -> Work:
    return next(work for work in record.works if work.sha256 == sha256)


def _urls_of(record: Declaration, sha256: str) -> set[str]:
    return set(_work_in(record, sha256).urls)
