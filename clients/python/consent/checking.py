"""``consent check``: files and URLs against the registry, optionally every web signal.

Kept apart from :mod:`consent.cli` so that the command's logic reads in one place.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from consent.answers import LEVEL_NONE, Answer
from consent.client import ISCC_ENDPOINT, PDQ_ENDPOINT, ConsentClient
from consent.errors import ConsentError
from consent.fingerprint import Fingerprint, pdq_query_hashes_of_file
from consent.trust import TrustConfig
from registry.wire import ClaimIdentity, ClaimView, IsccResult, PdqResult

Claim = ClaimView | ClaimIdentity

if TYPE_CHECKING:
    from consent.offline import OfflineReport

__all__ = ["run_check"]

Emit = Callable[[argparse.Namespace, object, str], None]
Fingerprints = Callable[..., list[Fingerprint]]


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _read_url_list(name: str) -> list[str]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConsentError(f"cannot read URL list {name}: {exc.strerror}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _verified_cell(row: dict[str, object]) -> str:
    """``--verify``'s result for a row: how many declarations were verified, or why not."""
    verified = row.get("verified")
    return f"yes ({len(verified)})" if isinstance(verified, list) and verified else "-"


def _identity_cell(row: dict[str, object]) -> str:
    """The identity levels of the claims that count, and how many do not (spec §9.4.7)."""
    claims = row.get("claims")
    if not isinstance(claims, list) or not claims:
        return "-"
    counted = sorted({str(c["level"]) for c in claims if c["counted"]})
    ignored = sum(1 for c in claims if not c["counted"])
    text = ", ".join(counted) or "nothing counted"
    return text + (f" (+{ignored} not counted)" if ignored else "")


def _evidence_cell(row: dict[str, object]) -> str:
    reports = row.get("evidence")
    if not isinstance(reports, list) or not reports:
        return "-"
    return "yes" if all(r["ok"] for r in reports) else "no"


def _table(
    rows: Sequence[dict[str, object]],
    category: str,
    *,
    verify: bool = False,
    identity: bool = False,
    evidence: bool = False,
) -> str:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(box=None, pad_edge=False)
    columns = (
        ["item", category, "decided by", "declarations"]
        + (["identity"] if identity else [])
        + (["verified"] if verify else [])
        + (["evidence"] if evidence else [])
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        prefs = row["prefs"]
        value = prefs.get(category, "-") if isinstance(prefs, dict) else "-"
        declarations = row.get("declarations") or []
        cells = [
            str(row["item"]),
            "reserved" if value == "n" else {"y": "allowed", "-": "unknown"}.get(str(value), "?"),
            str(row.get("decided_by") or "-"),
            str(len(declarations)) if isinstance(declarations, list) else "0",
        ]
        if identity:
            cells.append(_identity_cell(row))
        if verify:
            cells.append(_verified_cell(row))
        if evidence:
            cells.append(_evidence_cell(row))
        table.add_row(*cells)
    console = Console(
        file=sys.stdout, width=160, soft_wrap=True, emoji=False, markup=False, highlight=False
    )
    with console.capture() as capture:
        console.print(table)
    return capture.get()


def _pref(row: dict[str, object], category: str) -> object:
    prefs = row.get("prefs")
    return prefs.get(category) if isinstance(prefs, dict) else None


def _answers(
    args: argparse.Namespace, client: ConsentClient, sha256s: list[str], urls: list[str]
) -> tuple[list[Answer], OfflineReport | None]:
    """The registry's answers, online or (``--offline``) through the snapshots of the node
    and of the logs it mirrors."""
    if not args.offline:
        return client.check(sha256s=sha256s, urls=urls, policy=args.policy), None
    from consent.offline import check_offline  # noqa: PLC0415

    report = check_offline(
        client,
        sha256s=sha256s,
        urls=urls,
        cache_dir=Path(args.cache) if args.cache else None,
        category=args.category,
        policy=args.policy,
        levels=args.levels,
    )
    return report.answers, report


def _offline_document(report: OfflineReport) -> dict[str, object]:
    """What ``--json`` says about an offline check: the chains used and what was asked."""
    checker = report.checker
    return {
        "snapshot_size": checker.size,
        "fpr": checker.fpr,
        "checked": report.checked,
        "asked": report.asked,
        "decided": report.decided,
        "levels": None if checker.levels is None else checker.levels.header.snapshot,
        "levels_unused": None if checker.levels is None else checker.levels_gap,
        "downloaded": checker.downloaded,
        "mirrored": [
            {"origin": m.origin, "url": m.url, "snapshot_size": m.size} for m in checker.mirrored
        ],
        "uncovered": [
            {"origin": u.origin, "url": u.url, "reason": u.reason} for u in report.uncovered
        ],
    }


def _warn_uncovered(report: OfflineReport) -> None:
    """One line on stderr per mirrored log the snapshots could not cover (spec §8.9)."""
    for log in report.uncovered:
        sys.stderr.write(
            f"consent: peer {log.origin}: {log.reason}; asked the node about every item\n"
        )


def _near_results(
    args: argparse.Namespace, client: ConsentClient, fps: Sequence[Fingerprint]
) -> dict[str, PdqResult | IsccResult]:
    """Near-duplicates of the files, by SHA-256 (spec §6.8.3): images by their PDQ query
    hashes (flips, rotations, without border, cuts: the recommended check), other files with
    an ISCC (text) by ISCC. Asked when the node lists the endpoint; with ``--near`` a node
    without it is an error (:class:`~consent.errors.NotSupportedError`)."""
    endpoints = client.info().endpoints
    by_pdq = [fp for fp in fps if fp.pdq]
    by_iscc = [(fp.sha256, fp.iscc) for fp in fps if not fp.pdq and fp.iscc]
    found: dict[str, PdqResult | IsccResult] = {}
    if by_pdq and (args.near or PDQ_ENDPOINT in endpoints):
        copies = [pdq_query_hashes_of_file(fp) for fp in by_pdq]
        pdq_results = client.check_pdq_copies(copies)
        found.update(zip([fp.sha256 for fp in by_pdq], pdq_results, strict=True))
    if by_iscc and (args.near or ISCC_ENDPOINT in endpoints):
        iscc_results = client.check_iscc([code for _, code in by_iscc])
        found.update(zip([sha256 for sha256, _ in by_iscc], iscc_results, strict=True))
    return found


def _near_row(
    row: dict[str, object], answer: Answer, similar: PdqResult | IsccResult, category: str
) -> None:
    """Add a file's near-duplicates to its row: reserved if one of them is, and allowed if the
    file itself is unknown and its near-duplicates are allowed (their combined preference)."""
    by = "pdq" if isinstance(similar, PdqResult) else "iscc"
    row["near"] = [
        {"sha256": m.sha256, "distance": m.distance, "prefs": m.prefs, "by": by}
        for m in similar.matches
    ]
    stated = similar.prefs.get(category)
    if stated is None or answer.reserved(category):
        return
    if stated == "n" or category not in answer.prefs:
        row["prefs"] = {**answer.prefs, category: stated}
        row["decided_by"] = "registry (near-duplicate)"


def _claims(
    args: argparse.Namespace, client: ConsentClient, answer: Answer
) -> list[ClaimView | ClaimIdentity]:
    """The claims behind an answer with their identity levels (spec §9.4.5): from the batch
    answer if the node listed them, else (with ``--policy`` or ``--verify-evidence``) from
    the per-work answer under the same policy."""
    if answer.claims or not answer.declarations:
        return list(answer.claims)
    if not (args.policy or args.verify_evidence) or answer.kind not in ("sha256", "url"):
        return []
    if answer.kind == "sha256":
        return list(client.work_by_sha256(answer.key, policy=args.policy).claims)
    return list(client.work_by_url(answer.key, policy=args.policy).claims)


def _claim_json(claim: Claim) -> dict[str, object]:
    """A claim's identity for ``--json``; a per-work claim also says who and what."""
    out: dict[str, object] = {
        "declaration": claim.declaration,
        "level": claim.level,
        "evidence": list(claim.evidence),
        "counted": claim.counted,
        "disputed_by": list(claim.disputed_by),
    }
    if isinstance(claim, ClaimView):
        out.update(
            creator=claim.creator,
            principal=claim.principal or claim.creator,
            issued_at=claim.issued_at,
            prefs=dict(claim.prefs),
            levels=list(claim.levels),
        )
    return out


def _trust_config(args: argparse.Namespace, client: ConsentClient) -> TrustConfig:
    """What ``--verify-evidence`` trusts: ``--trust-node`` / ``--trust-platform NAME=KEY``
    if given, else the node's own published configuration (spec §9.6 item 3)."""
    if not args.trust_node and not args.trust_platform:
        return client.trust()
    platforms: dict[str, str] = {}
    for value in args.trust_platform or []:
        name, sep, key = value.partition("=")
        if not sep or not name or not key.startswith("did:key:"):
            raise ConsentError(f"--trust-platform {value!r}: expected NAME=did:key:...")
        platforms[key] = name
    return TrustConfig(nodes=frozenset(args.trust_node or ()), platforms=platforms)


def _verify_evidence(
    client: ConsentClient,
    answer: Answer,
    claims: Sequence[ClaimView | ClaimIdentity],
    config: TrustConfig,
) -> list[dict[str, object]]:
    """Check the identity evidence of every verified claim offline (spec §9.5); each level
    not confirmed is said on stderr."""
    from consent.evidence import subject_of, verify_claim_evidence  # noqa: PLC0415

    subject = subject_of(answer.kind, answer.key)
    reports: list[dict[str, object]] = []
    for claim in claims:
        if claim.level == LEVEL_NONE:
            continue
        report = verify_claim_evidence(client, subject, claim, config=config)
        for problem in report.problems:
            sys.stderr.write(f"consent: {answer.key[:80]}: {problem}\n")
        reports.append(
            {
                "declaration": claim.declaration,
                "claimed": list(report.claimed),
                "confirmed": list(report.confirmed),
                "ok": report.ok,
                "problems": list(report.problems),
                "records": [r.id for r in report.records],
            }
        )
    return reports


def _identity(
    args: argparse.Namespace,
    client: ConsentClient,
    answer: Answer,
    row: dict[str, object],
    config: TrustConfig | None,
) -> bool:
    """Add the policy, the claims' identity levels, ``--verify`` proofs and
    ``--verify-evidence`` reports to a row; True if it lists claims."""
    if answer.policy is not None:
        row["policy"] = answer.policy
    claims = _claims(args, client, answer)
    if claims:
        row["claims"] = [_claim_json(claim) for claim in claims]
    if args.verify:
        verified = client.verify_answer(answer) if answer.declarations else []
        row["verified"] = [v.id for v in verified]
    if config is not None:
        row["evidence"] = _verify_evidence(client, answer, claims, config)
    return bool(claims)


def run_check(
    args: argparse.Namespace, client: ConsentClient, emit: Emit, fingerprints: Fingerprints
) -> int:
    """Run ``consent check``; return the exit status."""
    urls = [item for item in args.items if _is_url(item)]
    paths = [item for item in args.items if not _is_url(item)]
    for name in args.urls or []:
        urls += _read_url_list(name)
    if not urls and not paths:
        raise ConsentError("nothing to check: give files, folders, URLs or --urls FILE")
    if args.levels and not args.offline:
        raise ConsentError("--levels needs --offline: it decides hits of the node's snapshot")
    fps = fingerprints(args, paths) if paths else []
    category = args.category
    rows: list[dict[str, object]] = []
    identity = False
    with client:
        config = _trust_config(args, client) if args.verify_evidence else None
        answers, offline = _answers(args, client, [fp.sha256 for fp in fps], urls)
        if offline is not None:
            _warn_uncovered(offline)
        near = _near_results(args, client, fps)
        for answer, label in zip(answers, [str(fp.path) for fp in fps] + urls, strict=True):
            row: dict[str, object] = {
                "item": label,
                "kind": answer.kind,
                "key": answer.key,
                "prefs": dict(answer.prefs),
                "declarations": list(answer.declarations),
                "decided_by": "registry" if answer.prefs.get(category) else None,
            }
            if answer.error:
                row["error"] = answer.error
            similar = near.get(answer.key) if answer.kind == "sha256" else None
            if similar is not None:
                _near_row(row, answer, similar, category)
            identity |= _identity(args, client, answer, row, config)
            rows.append(row)
        if args.signals:
            from consent.signals import SignalEvaluator  # noqa: PLC0415

            with SignalEvaluator(registry=client, categories=(category,)) as evaluator:
                for row in rows:
                    verdict = (
                        evaluator.evaluate_url(str(row["item"]))
                        if row["kind"] == "url"
                        else evaluator.evaluate_file(Path(str(row["item"])))
                    )
                    row["prefs"] = dict(verdict.prefs)
                    row["decided_by"] = verdict.decided_by
                    row["signals"] = [s.to_json() for s in verdict.signals]
    reserved = sum(1 for row in rows if _pref(row, category) == "n")
    summary = f"{len(rows)} checked, {reserved} reserved for {category}"
    document: dict[str, object] = {"results": rows, "reserved": reserved}
    if args.policy:
        document["policy"] = args.policy  # asked of the node (spec §9.4.7)
    if offline is not None:
        document["offline"] = _offline_document(offline)
        mirrored = len(offline.checker.mirrored)
        summary += (
            f" (offline: snapshot at log size {offline.checker.size}"
            + (f" and {mirrored} mirrored logs' snapshots" if mirrored else "")
            + (f", {offline.decided} decided by its levels file" if offline.decided else "")
            + f", {offline.asked} asked of the node)"
        )
    table = _table(
        rows, category, verify=args.verify, identity=identity, evidence=args.verify_evidence
    )
    emit(args, document, table + summary)
    return 3 if args.fail_on_reserved and reserved else 0
