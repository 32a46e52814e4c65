"""The ``consent`` commands of spec §9: ``bind-domain``, ``rotate``, ``revoke``, ``dispute`` and
``platform attest``.

Kept apart from :mod:`consent.cli` (which registers them) so that the trust workflow reads in
one place. Every record is signed locally (:mod:`consent.trust`), submitted to
``POST /v1/records`` (or ``:batch``), its receipt verified against the node's pinned verifier
key and stored in the key's record under ``trust/`` (the receipts folder itself holds
declarations only).
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from consent import cli
from consent.client import ConsentClient
from consent.errors import NodeError
from consent.fingerprint import sha256_of
from consent.inputs import scan
from consent.keyfile import load_key, read_did
from consent.proofs import VerifiedRecord, verifier_from_key, verify_record_entry
from consent.receipts import ReceiptStore, StoredReceipt
from consent.state import creator_folder, data_home
from consent.trust import DID_JSON_PATH, attestations, counter_statement, did_json
from consent.trust import revocation as make_revocation
from consent.trust import rotation as make_rotation
from registry.core.errors import ProtocolError
from registry.core.keys import PrivateKey, PublicKey
from registry.core.records import (
    Binding,
    PlatformAttestation,
    TrustRecord,
    attested_hashes,
    encode_record,
    load_entry,
    record_id,
)
from registry.wire import BatchItem

__all__ = [
    "cmd_bind_domain",
    "cmd_dispute",
    "cmd_platform_attest",
    "cmd_revoke",
    "cmd_rotate",
]

_HEX64: Final = re.compile(r"[0-9a-f]{64}")
CommandError = cli.CommandError


def _now() -> int:
    return int(time.time())


def _when(value: int) -> str:
    return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _trust_store(args: argparse.Namespace, did: str) -> ReceiptStore:
    """Where the receipts of ``did``'s trust records are kept: ``trust/`` in its record."""
    return ReceiptStore(cli._store(args, did).folder / "trust")


def _verifier_key(client: ConsentClient, store: ReceiptStore) -> str:
    """The node's verifier key, pinned in ``store`` on first contact (as for declarations).

    Raises:
        CommandError: the node presents another key than the one pinned.
    """
    info = client.info()
    pinned = store.pinned_key(client.base_url)
    if pinned is None:
        store.pin_key(client.base_url, info.verifier_key)
    elif pinned != info.verifier_key:
        raise CommandError(
            f"{client.base_url} now presents verifier key {info.verifier_key}, but {pinned} "
            f"is pinned in {store.folder}/.nodes.json: refusing to trust it"
        )
    return info.verifier_key


def _keep(
    client: ConsentClient, store: ReceiptStore, entry: bytes, receipt: str, vkey: str
) -> VerifiedRecord:
    """Verify a logged record's receipt against ``vkey`` and store it."""
    verified = verify_record_entry(
        entry, receipt, verifier_from_key(vkey), expected_id=record_id(entry)
    )
    store.add(
        StoredReceipt(
            id=verified.id,
            index=verified.index,
            origin=verified.origin,
            node=client.base_url,
            verifier_key=vkey,
            entry=entry,
            receipt=receipt,
        )
    )
    return verified


def _submit_one(
    args: argparse.Namespace, key: PrivateKey, record: TrustRecord, what: str
) -> VerifiedRecord:
    """Submit one signed trust record, verify and keep its receipt."""
    entry = encode_record(record)
    store = _trust_store(args, key.public_key.did)
    with cli._client(args) as client:
        vkey = _verifier_key(client, store)
        try:
            result = client.submit_record(entry)
        except NodeError as exc:
            raise CommandError(f"the node refused the {what}: {_problem(exc)}") from exc
        return _keep(client, store, entry, result.receipt, vkey)


def _problem(exc: NodeError) -> str:
    if exc.status in (404, 405):
        return "this node does not accept trust records yet (no POST /v1/records, spec §9.8)"
    return f"{exc.slug}: {exc.detail}"


def _confirm(args: argparse.Namespace, question: str, answer: str) -> None:
    """Ask on the terminal for ``answer``; without a terminal ``--yes`` is required."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CommandError(f"{question.rstrip(':?. ')}: not confirmed (add --yes to confirm)")
    typed = input(f"{question} Type {answer} to confirm: ").strip()
    if typed != answer:
        raise CommandError("not confirmed; nothing was sent")


def _logged(verified: VerifiedRecord) -> str:
    return f"{verified.id}, entry {verified.index} of {verified.origin}"


# --- bind-domain (spec §9.2) ------------------------------------------------------------------


def cmd_bind_domain(args: argparse.Namespace) -> int:
    """Print the did.json to publish for the key, then ask the node to check the domain."""
    did = read_did(cli._key_path(args))
    domain = args.domain.strip().lower().removesuffix(".")
    if "://" in domain or "/" in domain:
        raise CommandError(
            f"{args.domain!r}: give the domain alone (alice.example), not a URL or a path"
        )
    document = did_json(domain, did)
    where = f"https://{domain}{DID_JSON_PATH}"
    if args.out:
        out = Path(args.out)
        if out.exists() and not args.force:
            raise CommandError(f"{out} already exists (use --force to replace it)")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(document)
    shown = f"wrote {args.out}: publish it" if args.out else "publish this document"
    intro = f"{shown} at {where} (served as-is; https; no redirect to another host)"
    if args.print_only:
        body = "" if args.out else "\n" + document.decode()
        cli._emit(args, {"domain": domain, "did": did, "url": where}, intro + body)
        return 0
    if not args.json:
        sys.stdout.write(intro + ("\n" if args.out else ":\n\n" + document.decode() + "\n"))
        sys.stdout.flush()
    trust = _trust_store(args, did)
    with cli._client(args) as client:
        vkey = _verifier_key(client, trust)
        try:
            result = client.bind_domain(domain, did)
        except NodeError as exc:
            raise CommandError(_bind_failure(exc, domain, where)) from exc
        entry = bytes(result.record)
        binding = load_entry(entry)
        if not isinstance(binding, Binding) or (binding.domain, binding.creator) != (domain, did):
            raise CommandError(f"the node answered a record that is not a binding of {domain}")
        verified = _keep(client, trust, entry, result.receipt, vkey)
    text = (
        f"bound: {domain} -> {did}\n"
        f"binding {_logged(verified)}, checked by node {binding.node} at "
        f"{_when(binding.issued_at)}\n"
        f"Keep {where} published: nodes re-check it, and a domain that stops naming your key "
        "stops vouching for what you declare from then on."
    )
    document_out = {
        "domain": domain,
        "did": did,
        "url": where,
        "binding": {"id": verified.id, "index": verified.index, "origin": verified.origin},
        "node": binding.node,
    }
    cli._emit(args, document_out, text)
    return 0


def _bind_failure(exc: NodeError, domain: str, where: str) -> str:
    if exc.status in (404, 405):
        return "this node does not check domains (no POST /v1/bindings, spec §9.8)"
    if exc.slug == "domain-check-failed":
        return (
            f"the node could not confirm that {where} names your key: {exc.detail}. Publish "
            f"the document above there and run `consent bind-domain {domain}` again"
        )
    return f"the node refused to check {domain}: {exc.slug}: {exc.detail}"


# --- rotate, revoke, dispute (spec §9.3.3 to §9.3.5) -------------------------------------------


def cmd_rotate(args: argparse.Namespace) -> int:
    """Hand over from the current key to a new one (a rotation signed by the old key)."""
    new_path = Path(args.new_key)
    new_did = read_did(new_path)
    old = cli._load_key(args)
    if new_did == old.public_key.did:
        raise CommandError(f"{new_path} holds the same key as {cli._key_path(args)}")
    _confirm(
        args,
        f"Rotate {old.public_key.did} to {new_did}? The old key stops counting from now on.",
        "yes",
    )
    record = make_rotation(old, new_did, issued_at=_now())
    verified = _submit_one(args, old, record, "rotation")
    handed = _hand_over(args, old.public_key.did, new_did)
    text = "\n".join(
        [
            f"rotated: {old.public_key.did} -> {new_did}",
            f"rotation {_logged(verified)}",
            "",
            "What to do now:",
            f"1. Use the new key from now on: export CONSENT_KEY={new_path} (or --key {new_path}).",
            f"2. Back it up: consent key backup --key {new_path}",
            "3. Your declarations signed with the old key until now keep counting, as yours:",
            f"   {handed} of them are in the new key's record, so consent change and consent",
            "   withdraw with the new key revise them; anything the old key signs from now on",
            "   does not count.",
            "4. If you bound a domain, publish the new key there: consent bind-domain DOMAIN "
            f"--key {new_path}",
            "   (the binding carries over, but the document should name the key you use);",
            "   tell the platforms that attest your account your new did:key.",
            "5. Keep the old key file offline; do not use it again.",
        ]
    )
    cli._emit(args, {"rotation": verified.id, "old": old.public_key.did, "new": new_did}, text)
    return 0


def _hand_over(args: argparse.Namespace, old: str, new: str) -> int:
    """Copy the old key's receipts into the new key's record and name the old key (and its
    own predecessors) there, so that the new key revises them (spec §9.4.2). Returns how
    many declarations were handed over."""
    source = cli._store(args, old)
    target = cli._store(args, new)
    for stored in source:
        target.add(stored)
    chain = [*source.predecessors(), old, *target.predecessors()]
    target.set_predecessors([did for did in chain if did != new])
    return len(source)


REVOKE_WARNING: Final = (
    "WARNING: revoking {did} is final. Everything this key signed since {since} stops "
    "counting on every node: its declarations, changes and withdrawals. The key can never be "
    "used again, and this cannot be undone. Do this only if the key was stolen or leaked. "
    "To keep your standing, bind a new key through your domain (consent bind-domain) or "
    "ask your platform to attest your account with it, then declare again."
)


def _parse_since(value: str | None, now: int) -> int:
    """``--since``: a date (UTC midnight), an ISO 8601 time, or Unix seconds; default now.

    Raises:
        CommandError: unreadable, or in the future.
    """
    if value is None:
        return now
    text = value.strip()
    try:
        if text.isdigit():
            since = int(text)
        else:
            parsed = datetime.datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.UTC)
            since = int(parsed.timestamp())
    except ValueError as exc:
        raise CommandError(
            f"--since {value!r}: give a date (2026-12-01), a time (2026-12-01T08:00:00Z) or "
            "Unix seconds"
        ) from exc
    if since > now:
        raise CommandError(f"--since {value!r} is in the future")
    if since < 0:
        raise CommandError(f"--since {value!r} is before 1970")
    return since


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke the key: what it signed since ``--since`` no longer counts."""
    now = _now()
    since = _parse_since(args.since, now)
    did = read_did(cli._key_path(args))
    sys.stderr.write(REVOKE_WARNING.format(did=did, since=_when(since)) + "\n")
    _confirm(args, f"Revoke {did} since {_when(since)}?", "REVOKE")
    key = cli._load_key(args)
    record = make_revocation(key, since=since, issued_at=now)
    verified = _submit_one(args, key, record, "revocation")
    text = f"revoked: {did} since {_when(since)}\nrevocation {_logged(verified)}"
    cli._emit(args, {"revocation": verified.id, "key": did, "since": since}, text)
    return 0


def cmd_dispute(args: argparse.Namespace) -> int:
    """Sign a counter-statement ``not-rightsholder`` about another's declaration."""
    target = args.declaration_id.strip()
    if not _HEX64.fullmatch(target):
        raise CommandError(
            f"{target[:80]!r} is not a declaration id (64 lowercase hex digits, as "
            "`consent check --json` lists them)"
        )
    key = cli._load_key(args)
    with cli._client(args) as client:
        try:
            client.record(target)
        except NodeError as exc:
            if exc.status == 404:
                raise CommandError(f"the node holds no declaration {target}") from exc
            raise
    record = counter_statement(key, target, issued_at=_now())
    verified = _submit_one(args, key, record, "counter-statement")
    text = (
        f"disputed: {target} (not-rightsholder)\ncounter-statement {_logged(verified)}\n"
        "Answers show it on that claim wherever you are verified for the work: your domain "
        "is the URL's host, or a platform attests that you uploaded it (spec §9.4.6)."
    )
    cli._emit(args, {"counter_statement": verified.id, "target": target}, text)
    return 0


# --- platform attest (spec §9.3.2) -------------------------------------------------------------


def _read_hashes(name: str) -> tuple[list[str], int]:
    """SHA-256s from a file, one a line (blank lines and ``#`` comments skipped); each bad
    line is said on stderr. Returns the hashes and how many lines were refused."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{name} is not a text file of SHA-256s") from exc
    hashes: list[str] = []
    refused = 0
    for number, line in enumerate(text.splitlines(), 1):
        value = line.strip().lower()
        if not value or value.startswith("#"):
            continue
        if not _HEX64.fullmatch(value):
            cli._note(f"{name}:{number}: not a SHA-256 (64 hex digits): {line.strip()[:80]!r}")
            refused += 1
            continue
        hashes.append(value)
    return hashes, refused


def _file_hashes(args: argparse.Namespace, paths: Sequence[str]) -> list[str]:
    try:
        found = scan([Path(p) for p in paths])
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    for item in found.skipped:
        cli._note(f"skipped {item.path}: {item.reason}")
    hashes: list[str] = []
    with cli._progress(args, "hashing") as update:
        for done, path in enumerate(found.files, 1):
            try:
                hashes.append(sha256_of(path))
            except OSError as exc:
                cli._note(f"skipped {path}: {exc.strerror}")
            update(done, len(found.files))
    return hashes


def cmd_platform_attest(args: argparse.Namespace) -> int:
    """Sign and submit a platform's attestations that an account uploaded these works."""
    try:
        PublicKey.from_did(args.creator)
    except ProtocolError as exc:
        raise CommandError(f"--creator {args.creator[:80]!r}: {exc}") from exc
    if args.account_only and (args.paths or args.hashes):
        raise CommandError("--account-only binds the account alone: give no files or --hashes")
    if not args.paths and not args.hashes and not args.account_only:
        raise CommandError(
            "nothing to attest: give files or folders, or --hashes FILE (or --account-only)"
        )
    hashes, refused = _read_hashes(args.hashes) if args.hashes else ([], 0)
    if args.paths:
        hashes += _file_hashes(args, args.paths)
    hashes = sorted(set(hashes))
    if not hashes and not args.account_only:
        raise CommandError("nothing to attest: no readable file and no valid SHA-256")
    platform = load_key(Path(args.platform_key), cli._passphrase(args))
    issued_at = args.issued_at if args.issued_at is not None else _now()
    records = attestations(
        platform, account=args.account, creator=args.creator, issued_at=issued_at, sha256s=hashes
    )
    entries = [encode_record(record) for record in records]
    did = platform.public_key.did
    store = ReceiptStore(creator_folder(did, data_home(args.data_dir)) / "trust")
    logged: list[VerifiedRecord] = []
    rejected: list[str] = []
    with cli._client(args) as client, cli._progress(args, "attesting") as update:
        vkey = _verifier_key(client, store)
        done = 0

        def on_chunk(chunk: Sequence[bytes], results: list[BatchItem]) -> None:
            nonlocal done
            for entry, item in zip(chunk, results, strict=True):
                if item.problem is not None or item.receipt is None:
                    problem = item.problem
                    slug = problem.slug if problem is not None else "rejected"
                    detail = (problem.detail or problem.title) if problem is not None else ""
                    reason = f"{slug}: {detail}" if detail else slug
                    cli._note(f"attestation {record_id(entry)[:16]} rejected: {reason}")
                    rejected.append(reason)
                    continue
                logged.append(_keep(client, store, entry, item.receipt, vkey))
            done += len(chunk)
            update(done, len(entries))

        try:
            client.submit_records(entries, on_chunk=on_chunk)
        except NodeError as exc:
            raise CommandError(f"the node refused the attestations: {_problem(exc)}") from exc
    summary = (
        f"attested {len(hashes)} works of @{args.account} ({args.creator}) in "
        f"{len(entries)} attestations: {len(logged)} logged, {len(rejected)} rejected"
        + (f"; {refused} input lines refused" if refused else "")
    )
    if args.account_only and logged:
        summary = f"bound @{args.account} to {args.creator} (attestation {_logged(logged[0])})"
    document = {
        "platform": did,
        "account": args.account,
        "creator": args.creator,
        "works": len(hashes),
        "attestations": [
            {"id": v.id, "index": v.index, "origin": v.origin, "works": _count(v)} for v in logged
        ],
        "rejected": rejected,
        "refused_lines": refused,
    }
    cli._emit(args, document, summary)
    if rejected:
        raise CommandError(f"{len(rejected)} attestations rejected, e.g. {rejected[0]}")
    return 0


def _count(verified: VerifiedRecord) -> int:
    record = verified.record
    if not isinstance(record, PlatformAttestation):  # pragma: no cover - built as one
        return 0
    return len(attested_hashes(record)) + len(record.works)


# --- parsers ---------------------------------------------------------------------------------


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the trust commands on ``consent``'s subcommand parser."""
    bind = sub.add_parser(
        "bind-domain", help="prove you control a domain: print its did.json, have it checked"
    )
    cli._common(bind)
    cli._data_options(bind)
    bind.add_argument("domain", help="the domain, e.g. alice.example (no scheme, no path)")
    bind.add_argument("--out", help="also write the did.json document to this file")
    bind.add_argument("--force", action="store_true", help="replace an existing --out file")
    bind.add_argument(
        "--print-only", action="store_true", help="only print the document; ask no node"
    )
    bind.set_defaults(func=cmd_bind_domain)

    rotate = sub.add_parser("rotate", help="hand over from your key to a new key")
    cli._common(rotate)
    cli._data_options(rotate)
    rotate.add_argument("--new-key", required=True, help="the new key file (consent keygen)")
    rotate.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rotate.set_defaults(func=cmd_rotate)

    revoke = sub.add_parser("revoke", help="revoke your key (stolen or leaked): final")
    cli._common(revoke)
    cli._data_options(revoke)
    revoke.add_argument(
        "--since", help="compromised since: a date, an ISO 8601 time or Unix seconds (now)"
    )
    revoke.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    revoke.set_defaults(func=cmd_revoke)

    dispute = sub.add_parser(
        "dispute", help="say that another's declaration is not by the rightsholder"
    )
    cli._common(dispute)
    cli._data_options(dispute)
    dispute.add_argument("declaration_id", metavar="DECLARATION_ID", help="the declaration's id")
    dispute.set_defaults(func=cmd_dispute)

    platform = sub.add_parser("platform", help="commands for platforms (spec §9.3.2)")
    actions = platform.add_subparsers(dest="platform_command", required=True, metavar="ACTION")
    attest = actions.add_parser("attest", help="attest an account's uploads, in bulk")
    cli._common(attest, key=False)
    attest.add_argument(
        "--platform-key", required=True, help="the platform's key file (consent keygen)"
    )
    attest.add_argument(
        "--passphrase-file", help="read its passphrase from this file (or CONSENT_PASSPHRASE)"
    )
    attest.add_argument("--account", required=True, help="the account's handle on the platform")
    attest.add_argument("--creator", required=True, help="the did:key the account registered")
    attest.add_argument("paths", nargs="*", help="files or folders the account uploaded")
    attest.add_argument("--hashes", help="file of SHA-256s, one a line ('-': stdin)")
    attest.add_argument(
        "--account-only",
        action="store_true",
        help="bind the account to --creator without works (a user's new key, spec §9.4.2)",
    )
    attest.add_argument("--issued-at", type=int, help="statement time, Unix seconds (now)")
    attest.add_argument("--data-dir", help="where the platform key's record is kept")
    attest.set_defaults(func=cmd_platform_attest)
