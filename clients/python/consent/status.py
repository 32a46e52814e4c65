"""``consent status``: a creator's works as they stand, from the node's view and the local record.

The node says which declarations are superseded (spec §6.7); the stored receipts
(:mod:`consent.state`, filled from the node when missing) hold the declarations' works. Per
work the winner is the latest of the creator's declarations that mention it and are not
superseded (spec §3.5.3): its ``prefs`` are the work's current preference, or, if it is a
withdrawal, the work has none (it is *withdrawn*, not current). Works are named by the files
they were declared from (kept locally only: the log holds no file names), else by a URL, else
by their SHA-256.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from consent.receipts import StoredReceipt
from registry.core.records import Declaration
from registry.wire import CreatorAnswer, CreatorDeclarationView

__all__ = ["WorkStatus", "human_time", "status_document", "status_text", "work_statuses"]


def human_time(seconds: int) -> str:
    """``2026-12-04 17:25 UTC``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _stated(record: Declaration | CreatorDeclarationView) -> str:
    if record.withdraw:
        return "withdrawn"
    return ", ".join(f"{k}={v}" for k, v in sorted(record.prefs.items()))


@dataclass
class WorkStatus:
    """One work of the creator: its names, current statement and history (oldest first)."""

    sha256: str
    files: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    media_type: str | None = None
    history: list[tuple[str, Declaration, str]] = field(default_factory=list)
    """(declaration id, record, node status) for every declaration mentioning the work."""

    @property
    def name(self) -> str:
        """The first file it was declared from, else its first URL, else its SHA-256."""
        return (self.files or self.urls or [self.sha256])[0]

    @property
    def winner(self) -> tuple[str, Declaration] | None:
        """The deciding declaration (spec §3.5.3): the latest one not superseded."""
        live = [(r.issued_at, i, r) for i, r, status in self.history if status != "superseded"]
        if not live:
            return None
        _, declaration_id, record = max(live, key=lambda t: (t[0], t[1]))
        return declaration_id, record

    @property
    def current(self) -> bool:
        """True if the creator states a preference for this work now (withdrawn: False)."""
        winner = self.winner
        return winner is not None and not winner[1].withdraw

    def to_json(self) -> dict[str, object]:
        """The work in ``consent status --json``."""
        winner = self.winner
        return {
            "sha256": self.sha256,
            "name": self.name,
            "files": self.files,
            "urls": self.urls,
            "media_type": self.media_type,
            "current": self.current,
            "prefs": dict(winner[1].prefs) if winner and not winner[1].withdraw else {},
            "withdrawn": bool(winner and winner[1].withdraw),
            "declaration": winner[0] if winner else None,
            "since": human_time(winner[1].issued_at) if winner else None,
            "history": [
                {
                    "declaration": i,
                    "issued_at": r.issued_at,
                    "issued": human_time(r.issued_at),
                    "stated": _stated(r),
                    "status": status,
                }
                for i, r, status in self.history
            ],
        }


def work_statuses(
    receipts: Iterable[StoredReceipt],
    answer: CreatorAnswer,
    *,
    names: Mapping[str, list[str]] | None = None,
) -> list[WorkStatus]:
    """Every work of ``answer.creator`` found in ``receipts``, sorted by name.

    ``names`` (SHA-256 -> file paths) names works beyond what the receipts remember.
    """
    statuses = {d.id: d.status for d in answer.declarations}
    works: dict[str, WorkStatus] = {}
    for stored in receipts:
        record = stored.record
        if record.creator != answer.creator:
            continue
        status = statuses.get(stored.id, "unknown")
        for work in record.works:
            item = works.setdefault(work.sha256, WorkStatus(work.sha256))
            item.history.append((stored.id, record, status))
            item.files.extend(f for f in stored.files.get(work.sha256, ()) if f not in item.files)
            item.urls.extend(u for u in work.urls if u not in item.urls)
            item.media_type = item.media_type or work.media_type
    for sha256, paths in (names or {}).items():
        if sha256 in works:
            known = works[sha256].files
            works[sha256].files = [*paths, *(p for p in known if p not in paths)]
    for item in works.values():
        item.history.sort(key=lambda t: (t[1].issued_at, t[0]))
    return sorted(works.values(), key=lambda w: (w.name, w.sha256))


def _declaration_state(declaration: CreatorDeclarationView) -> str:
    if declaration.status == "superseded":
        by = ", ".join(i[:16] for i in declaration.superseded_by)
        return f"superseded by {by}" if by else "superseded"
    if declaration.status == "overridden":
        return "overridden (newer declarations decide its works)"
    return "withdrawal" if declaration.withdraw else "in force"


def status_document(
    answer: CreatorAnswer, works: list[WorkStatus], *, node: str
) -> dict[str, object]:
    """``consent status --json``."""
    return {
        "creator": answer.creator,
        "node": node,
        "verified": answer.verified,
        "declarations": [
            {
                "id": d.id,
                "status": d.status,
                "state": _declaration_state(d),
                "issued_at": d.issued_at,
                "issued": human_time(d.issued_at),
                "prefs": d.prefs,
                "withdraw": d.withdraw,
                "works": d.works,
                "supersedes": d.supersedes,
                "superseded_by": d.superseded_by,
                "origins": d.origins,
            }
            for d in answer.declarations
        ],
        "works": [w.to_json() for w in works],
        "summary": _summary(answer, works),
    }


def _summary(answer: CreatorAnswer, works: list[WorkStatus]) -> dict[str, int]:
    states = [_declaration_state(d) for d in answer.declarations]
    return {
        "declarations": len(states),
        "in_force": states.count("in force"),
        "withdrawals": states.count("withdrawal"),
        "superseded": sum(s.startswith("superseded") for s in states),
        "works": len(works),
        "current_works": sum(w.current for w in works),
        "withdrawn_works": sum(not w.current for w in works),
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _history_text(work: WorkStatus) -> str:
    steps = [f"{_stated(r)} ({human_time(r.issued_at)[:10]})" for _, r, _ in work.history]
    return " -> ".join(steps)


def status_text(answer: CreatorAnswer, works: list[WorkStatus], *, node: str) -> str:
    """``consent status`` for people: works, then declarations, then a summary line."""
    from rich.console import Console  # noqa: PLC0415 - only the CLI draws
    from rich.table import Table  # noqa: PLC0415

    console = Console(width=160, soft_wrap=True, emoji=False, markup=False, highlight=False)
    works_table = Table(box=None, pad_edge=False, title=None)
    for column in ("work", "now", "since", "history"):
        works_table.add_column(column, overflow="fold")
    for work in works:
        winner = work.winner
        works_table.add_row(
            work.name,
            _stated(winner[1]) if winner else "?",
            human_time(winner[1].issued_at) if winner else "-",
            _history_text(work),
        )
    declarations = Table(box=None, pad_edge=False)
    for column in ("declaration", "issued", "states", "works", "state"):
        declarations.add_column(column, overflow="fold")
    for d in answer.declarations:
        declarations.add_row(
            d.id[:16], human_time(d.issued_at), _stated(d), str(len(d.works)), _declaration_state(d)
        )
    summary = _summary(answer, works)
    with console.capture() as capture:
        console.print(f"{answer.creator} at {node}")
        if works:
            console.print(works_table)
        console.print(declarations)
    return capture.get() + (
        f"{summary['declarations']} declarations: {summary['in_force']} in force, "
        f"{_count(summary['withdrawals'], 'withdrawal')}, {summary['superseded']} superseded; "
        f"{summary['works']} works: {summary['current_works']} with a current preference, "
        f"{summary['withdrawn_works']} withdrawn"
    )
