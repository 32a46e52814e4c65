"""The ``consent`` command: creators declare and verify, crawlers check.

::

    consent keygen                       make a passphrase-protected creator key, print its DID
    consent declare PATH...              fingerprint files, sign, submit, store receipts
    consent declare --from-export ZIP    the same for an Instagram or Facebook data export
    consent withdraw [PATH...]           withdraw earlier declarations (or single works)
    consent change [PATH...] --allow-train | --no-train | --prefs P
    consent verify [RECEIPT...]          check receipts offline (default: all of this key's)
    consent status [PATH...]             this creator's works and declarations (rebuilt from
                                         the node when the local record lacks them)
    consent key backup | restore         the key's 24-word recovery phrase, and back
    consent signals [PATH...]            write every web signal and tag copies of the images
    consent check PATH|URL...            is this reserved? (registry; --signals: every signal;
                                         --offline: the node's signed snapshot, hits asked;
                                         --policy: which claims count; --verify-evidence:
                                         check identity levels offline, spec §9.5)
    consent bind-domain DOMAIN           print the did.json to publish, have a node check it
    consent rotate --new-key FILE        hand over to a new key (spec §9.3.3)
    consent revoke [--since DATE]        revoke a stolen key (spec §9.3.4): final
    consent dispute DECLARATION_ID       "not the rightsholder" (spec §9.3.5)
    consent platform attest ...          a platform attests an account's uploads, in bulk

Options come from the command line or the environment: ``CONSENT_KEY`` (key file),
``CONSENT_NODE`` (node URL), ``CONSENT_PASSPHRASE``, ``CONSENT_DATA_DIR`` (where each key's
record is kept, :mod:`consent.state`), ``CONSENT_RECEIPTS`` (one receipts folder instead),
``CONSENT_CACHE`` (snapshot cache folder).
``--json`` prints one JSON document on stdout. Exit status: 0 success, 1 error (one line on
stderr), 2 bad usage, 3 ``check --fail-on-reserved`` found a reserved work.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NoReturn

from consent._version import __version__
from consent.answers import POLICIES
from consent.client import ConsentClient, RetryPolicy, node_url
from consent.creator import Creator, SubmitReport
from consent.errors import ConsentError
from consent.fingerprint import Fingerprint
from consent.inputs import Skipped, fingerprint_files, protection_notes, scan
from consent.keyfile import DEFAULT_SCRYPT_N, generate_key, load_key, read_did, save_key
from consent.proofs import verifier_from_key, verify_entry
from consent.receipts import ReceiptStore, StoredReceipt
from consent.state import LEGACY_FOLDER, creator_folder, data_home, migrate_legacy, sync
from registry.core.errors import ProtocolError
from registry.core.keys import PrivateKey
from registry.core.prefs import parse_content_usage

__all__ = ["main"]

DEFAULT_NODE: Final = "http://127.0.0.1:8000"
_HOSTLIKE: Final = re.compile(r"(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:[0-9]+)?/", re.I)
EXIT_RESERVED: Final = 3


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


# --- environment and options ------------------------------------------------------------------


def default_key_path() -> Path:
    """``$XDG_CONFIG_HOME/consent/creator-key.json`` (``~/.config`` by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "consent" / "creator-key.json"


def _key_path(args: argparse.Namespace) -> Path:
    return Path(args.key or os.environ.get("CONSENT_KEY") or default_key_path())


def _node(args: argparse.Namespace) -> str:
    return node_url(str(args.node or os.environ.get("CONSENT_NODE") or DEFAULT_NODE))


def _note(message: str) -> None:
    sys.stderr.write(f"consent: {message}\n")


def _receipts(args: argparse.Namespace) -> Path:
    """The receipts folder of the key file's creator (see :func:`_store`)."""
    return _store(args, read_did(_key_path(args))).folder


def _store(args: argparse.Namespace, did: str) -> ReceiptStore:
    """The receipts of ``did``: ``--receipts`` / ``CONSENT_RECEIPTS`` if given, else its folder
    in the data directory, into which an old ``./consent-receipts`` is migrated (said so)."""
    explicit = getattr(args, "receipts", None) or os.environ.get("CONSENT_RECEIPTS")
    if explicit:
        return ReceiptStore(Path(explicit))
    store = ReceiptStore(creator_folder(did, data_home(getattr(args, "data_dir", None))))
    migration = migrate_legacy(LEGACY_FOLDER, store, did)
    if migration is not None:
        _note(migration.message(store.folder))
    return store


def _passphrase(args: argparse.Namespace, *, confirm: bool = False) -> str:
    if getattr(args, "passphrase_file", None):
        try:
            return Path(args.passphrase_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CommandError(f"cannot read passphrase file: {exc.strerror}") from exc
    value = os.environ.get("CONSENT_PASSPHRASE")
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise CommandError("no passphrase: set CONSENT_PASSPHRASE or use --passphrase-file")
    first = getpass.getpass("Passphrase for the key file: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise CommandError("the passphrases differ")
    return first


def _load_key(args: argparse.Namespace) -> PrivateKey:
    return load_key(_key_path(args), _passphrase(args))


def _client(args: argparse.Namespace, *, node_key: str | None = None) -> ConsentClient:
    concurrency = getattr(args, "concurrency", 4)
    return ConsentClient(
        _node(args),
        timeout=args.timeout,
        node_key=node_key,
        log_keys=_log_keys(getattr(args, "log_key", None)),
        concurrency=concurrency,
        retry=RetryPolicy(max_retries=args.retries),
    )


def _log_keys(values: Sequence[str] | None) -> dict[str, str]:
    """``--log-key`` values by the log each names (a log key's name is its origin)."""
    return {verifier_from_key(value).name: value.strip() for value in values or ()}


def _prefs(args: argparse.Namespace, default: dict[str, str] | None) -> dict[str, str]:
    prefs: dict[str, str] = {}
    if getattr(args, "prefs", None):
        try:
            prefs.update(parse_content_usage(args.prefs))
        except ProtocolError as exc:
            raise CommandError(f"--prefs {args.prefs!r}: {exc}") from exc
        if not prefs:
            raise CommandError(f"--prefs {args.prefs!r} states no preference (use train-ai=n)")
    if getattr(args, "train", None) is not None:
        prefs["train-ai"] = args.train
    if not prefs:
        if default is None:
            raise CommandError("say what to state: --allow-train, --no-train or --prefs")
        prefs = dict(default)
    return prefs


def _emit(args: argparse.Namespace, document: object, text: str) -> None:
    if args.json:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))


@contextmanager
def _progress(args: argparse.Namespace, label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (only on a terminal and without ``--json``)."""
    from rich.console import Console  # noqa: PLC0415 - only the CLI draws
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=args.json or args.quiet or not console.is_terminal,
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield update


def _hash_inputs(
    args: argparse.Namespace, paths: Sequence[str], *, exclude: Sequence[Path] = ()
) -> tuple[list[Fingerprint], list[Skipped]]:
    """Fingerprints of the files under ``paths``; every path skipped is said on stderr."""
    try:
        found = scan([Path(p) for p in paths], exclude=exclude)
    except FileNotFoundError as exc:
        urlish = any(_HOSTLIKE.match(p) and not Path(p).exists() for p in paths)
        hint = " (a URL needs http:// or https://)" if urlish else ""
        raise CommandError(f"{exc}{hint}") from exc
    with _progress(args, "hashing") as update:
        fps, refused = fingerprint_files(
            found.files,
            pdq=not getattr(args, "no_pdq", False),
            iscc=not getattr(args, "no_iscc", False),
            progress=update,
        )
    skipped = found.skipped + refused
    hidden = [s for s in skipped if s.hidden]
    for item in skipped:
        if not item.hidden:
            _note(f"skipped {item.path}: {item.reason}")
    if hidden:
        _note(
            f"skipped {len(hidden)} hidden files and folders (names starting with '.'), "
            f"e.g. {hidden[0].path}"
        )
    return fps, skipped


def _fingerprints(
    args: argparse.Namespace, paths: Sequence[str], *, exclude: Sequence[Path] = ()
) -> list[Fingerprint]:
    return _hash_inputs(args, paths, exclude=exclude)[0]


def _url_map(args: argparse.Namespace, fps: Sequence[Fingerprint]) -> dict[Path, list[str]]:
    urls: dict[Path, list[str]] = {}
    if args.base_url:
        roots = [Path(p) for p in args.paths]
        for fp in fps:
            for root in roots:
                if root.is_dir() and fp.path.is_relative_to(root):
                    relative = fp.path.relative_to(root).as_posix()
                    urls.setdefault(fp.path, []).append(args.base_url.rstrip("/") + "/" + relative)
    if args.url_map:
        try:
            lines = Path(args.url_map).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CommandError(f"cannot read {args.url_map}: {exc.strerror}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t") if "\t" in line else line.rsplit(",", 1)
            if len(parts) != 2:
                raise CommandError(f"{args.url_map}:{number}: expected 'PATH<TAB>URL'")
            urls.setdefault(Path(parts[0].strip()), []).append(parts[1].strip())
    return urls


def _prefs_text(prefs: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(prefs.items()))


def _report_text(report: SubmitReport, verb: str) -> str:
    lines = [
        f"{r.id}  index {r.index}  {len(r.record.works)} works  {r.origin}" for r in report.receipts
    ]
    lines.append(
        f"{verb}: {len(report.receipts)} declarations logged, {report.works} works, "
        f"{len(report.skipped)} already declared, {len(report.rejected)} rejected"
        + (f", {report.resumed} resumed" if report.resumed else "")
    )
    if report.kept:
        lines.append(
            f"{len(report.kept)} works kept as they are: you withdrew them or stated other "
            "preferences since (`consent status` shows which; `consent change` restates them)"
        )
    lines.extend(f"rejected {i}: {p}" for i, p in report.rejected)
    return "\n".join(lines)


# --- commands ---------------------------------------------------------------------------------


def cmd_keygen(args: argparse.Namespace) -> int:
    """Create a creator key file."""
    path = _key_path(args)
    if path.exists() and not args.force:
        raise CommandError(f"{path} already exists (use --force to replace it)")
    key = generate_key()
    save_key(
        key, path, _passphrase(args, confirm=True), overwrite=args.force, scrypt_n=args.scrypt_n
    )
    did = key.public_key.did
    _emit(
        args,
        {"did": did, "key_file": str(path), "backup": "consent key backup"},
        f"{did}\nkey written to {path}\n\n{BACKUP_ADVICE}",
    )
    return 0


BACKUP_ADVICE: Final = (
    "Back your key up now: `consent key backup` prints a 24-word recovery phrase; write it on\n"
    "paper and keep it offline (`consent key restore` brings the key back from it). Without\n"
    "the key file and its passphrase, or the phrase, nobody can change or withdraw your\n"
    "declarations, not even you."
)


def cmd_key_backup(args: argparse.Namespace) -> int:
    """Print (or write to ``--out``) the key's recovery phrase."""
    from consent.recovery import phrase_from_key, printable_backup  # noqa: PLC0415

    key = _load_key(args)
    page = printable_backup(key)
    if args.out:
        out = Path(args.out)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if args.force else os.O_EXCL)
        try:
            fd = os.open(out, flags, 0o600)
        except FileExistsError:
            raise CommandError(f"{out} already exists (use --force to replace it)") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        text = f"recovery phrase of {key.public_key.did} written to {out}: print it, then delete it"
    else:
        text = page
    document = {"did": key.public_key.did, "file": args.out, "phrase": phrase_from_key(key)}
    _emit(args, document, text)
    return 0


def _read_phrase(args: argparse.Namespace) -> str:
    if args.phrase_file and args.phrase_file != "-":
        try:
            return Path(args.phrase_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {args.phrase_file}: {exc.strerror}") from exc
    if args.phrase_file != "-" and sys.stdin.isatty():
        return getpass.getpass("Recovery phrase (24 words, hidden as you type): ")
    return sys.stdin.read()


def cmd_key_restore(args: argparse.Namespace) -> int:
    """Recreate the key file from its recovery phrase."""
    from consent.recovery import key_from_phrase  # noqa: PLC0415

    path = _key_path(args)
    if path.exists() and not args.force:
        raise CommandError(f"{path} already exists (use --force to replace it, or --key FILE)")
    key = key_from_phrase(_read_phrase(args))
    save_key(
        key, path, _passphrase(args, confirm=True), overwrite=args.force, scrypt_n=args.scrypt_n
    )
    did = key.public_key.did
    _emit(args, {"did": did, "key_file": str(path)}, f"{did}\nkey restored to {path}")
    return 0


def _creator(args: argparse.Namespace) -> Creator:
    key = _load_key(args)
    store = _store(args, key.public_key.did)
    pinned = store.pinned_key(_node(args))
    creator = Creator(key, _client(args, node_key=pinned), store)
    # What this key declared from elsewhere (another folder, machine) counts too.
    fetched = sync(creator.client, store, creator.did)
    if fetched:
        _note(f"fetched {len(fetched)} earlier declarations of this key from the node")
    return creator


def _finish(
    args: argparse.Namespace,
    report: SubmitReport,
    verb: str,
    skipped: Sequence[Skipped] = (),
) -> int:
    document = report.to_json()
    document["refused"] = [s.to_json() for s in skipped]
    _emit(args, document, _report_text(report, verb))
    if report.rejected:
        first = report.rejected[0]
        raise CommandError(
            f"{len(report.rejected)} declarations rejected, e.g. {first[0][:16]}: {first[1]}"
        )
    return 0


def cmd_declare(args: argparse.Namespace) -> int:
    """Fingerprint, sign, submit and keep receipts."""
    prefs = _prefs(args, {"train-ai": "n"})
    if args.from_export:
        from consent.exports import run_declare_export  # noqa: PLC0415

        return run_declare_export(
            args,
            prefs,
            receipts=_receipts(args),
            key_path=_key_path(args),
            make_creator=_creator,
            emit=_emit,
            finish=_finish,
        )
    if not args.paths:  # a usage error (exit 2), as argparse reports a missing argument
        sys.stderr.write("consent declare: error: give files or folders, or --from-export ZIP\n")
        return 2
    did = read_did(_key_path(args))
    home = data_home(args.data_dir)
    own = [
        home,
        Path(args.receipts or os.environ.get("CONSENT_RECEIPTS") or home),
        _key_path(args),
        LEGACY_FOLDER,
        *Path().glob(f"{LEGACY_FOLDER}.migrated*"),
    ]
    fps, skipped = _hash_inputs(args, args.paths, exclude=own)
    urls = _url_map(args, fps)
    for note in protection_notes(fps, urls):
        _note(f"note: {note}")
    if args.dry_run:
        from consent.plan import dry_run  # noqa: PLC0415

        document, text = dry_run(fps, urls=urls, did=did, prefs=prefs, issued_at=args.issued_at)
        document["refused"] = [s.to_json() for s in skipped]
        _emit(args, document, text)
        return 0
    creator = _creator(args)
    with creator.client, _progress(args, "submitting") as update:
        report = creator.declare(
            fps, prefs=prefs, urls=urls, issued_at=args.issued_at, progress=update
        )
    return _finish(args, report, "declared", skipped)


def _targets(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    sha256s = list(args.sha256 or [])
    if args.paths:
        sha256s += [fp.sha256 for fp in _fingerprints(args, args.paths)]
    return sha256s, list(args.declaration or [])


def cmd_withdraw(args: argparse.Namespace) -> int:
    """Withdraw declarations or single works."""
    sha256s, ids = _targets(args)
    creator = _creator(args)
    with creator.client:
        report = creator.withdraw(sha256s=sha256s, declaration_ids=ids, issued_at=args.issued_at)
    return _finish(args, report, "withdrawn")


def cmd_change(args: argparse.Namespace) -> int:
    """State new preferences for earlier declarations or works."""
    prefs = _prefs(args, None)
    sha256s, ids = _targets(args)
    creator = _creator(args)
    with creator.client:
        report = creator.change(
            prefs=prefs, sha256s=sha256s, declaration_ids=ids, issued_at=args.issued_at
        )
    return _finish(args, report, "changed")


def _verify_one(args: argparse.Namespace, path: Path) -> tuple[dict[str, object], str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    vkey = args.node_key
    if data.lstrip().startswith(b"{"):
        stored = StoredReceipt.from_json(data, where=str(path))
        entry, receipt = stored.entry, stored.receipt
        vkey = vkey or stored.verifier_key
    else:
        if not args.entry:
            raise CommandError("a bare tlog-proof receipt needs --entry FILE (the declaration)")
        receipt = data.decode("utf-8", errors="replace")
        entry = Path(args.entry).read_bytes().strip(b" \t\r\n")
    if not vkey:
        with _client(args) as client:
            vkey = client.info().verifier_key
    witnesses = [verifier_from_key(w) for w in args.witness_key or []]
    try:
        verified = verify_entry(
            entry,
            receipt,
            verifier_from_key(vkey),
            witnesses=witnesses,
            min_witnesses=args.min_witnesses,
        )
    except ConsentError as exc:
        raise CommandError(f"{path}: {exc}") from exc
    record = verified.record
    stated = "withdrawal" if record.withdraw else _prefs_text(record.prefs)
    summary = (
        f"OK: declaration {verified.id} by {record.creator} ({len(record.works)} works, "
        f"{stated})"
        f" is entry {verified.index} of {verified.origin} at tree size {verified.tree_size}"
        + (f", cosigned by {', '.join(verified.witnesses)}" if verified.witnesses else "")
    )
    document: dict[str, object] = {
        "valid": True,
        "file": str(path),
        "id": verified.id,
        "index": verified.index,
        "origin": verified.origin,
        "tree_size": verified.tree_size,
        "creator": record.creator,
        "works": len(record.works),
        "prefs": record.prefs,
        "withdraw": record.withdraw,
        "witnesses": list(verified.witnesses),
    }
    return document, summary


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify receipts offline; the first that fails stops with its reason."""
    names = [Path(name) for name in args.files]
    if not names:
        store = _store(args, read_did(_key_path(args)))
        names = [store.path_of(stored.id) for stored in store]
        if not names:
            raise CommandError(f"no receipts in {store.folder} (give RECEIPT files)")
    results = [_verify_one(args, name) for name in names]
    document: object = results[0][0] if len(results) == 1 else [doc for doc, _ in results]
    _emit(args, document, "\n".join(text for _, text in results))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """This creator's works and declarations, the local record filled from the node."""
    import tempfile  # noqa: PLC0415

    from consent.fingerprint import sha256_of  # noqa: PLC0415
    from consent.status import status_document, status_text, work_statuses  # noqa: PLC0415

    own = read_did(_key_path(args)) if not args.did else None
    did = args.did or own or ""
    names: dict[str, list[str]] = {}
    if args.paths:
        for path in scan([Path(p) for p in args.paths]).files:
            names.setdefault(sha256_of(path), []).append(str(path))
    with tempfile.TemporaryDirectory() as scratch, _client(args) as client:
        # Another creator's declarations are fetched into a scratch folder, not kept.
        store = _store(args, did) if own else ReceiptStore(Path(scratch))
        fetched = sync(client, store, did)
        if fetched and own:
            _note(f"rebuilt {len(fetched)} declarations of this key from the node")
        answer = client.creator(did)
        works = work_statuses(store, answer, names=names)
    document = status_document(answer, works, node=client.base_url)
    _emit(args, document, status_text(answer, works, node=client.base_url))
    return 0


def cmd_signals(args: argparse.Namespace) -> int:
    """Write every opt-out signal for the creator's current declarations."""
    from consent.signals_out import run_signals  # noqa: PLC0415

    return run_signals(
        args, receipts=_receipts(args), key_path=_key_path(args), make_client=_client, emit=_emit
    )


def cmd_check(args: argparse.Namespace) -> int:
    """Check files and URLs against the registry (and, with --signals, every signal)."""
    from consent.checking import run_check  # noqa: PLC0415

    return run_check(args, _client(args, node_key=args.node_key), _emit, _fingerprints)


# --- parser -----------------------------------------------------------------------------------


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where each key's record is kept (env CONSENT_DATA_DIR)")
    parser.add_argument(
        "--receipts", help="use this receipts folder instead (env CONSENT_RECEIPTS)"
    )


def _common(parser: argparse.ArgumentParser, *, key: bool = True, node: bool = True) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    if node:
        parser.add_argument("--node", help=f"node URL (env CONSENT_NODE; default {DEFAULT_NODE})")
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
        parser.add_argument(
            "--retries", type=int, default=5, help="retries on 429/503 and connection errors"
        )
    if key:
        parser.add_argument("--key", help="creator key file (env CONSENT_KEY)")
        parser.add_argument(
            "--passphrase-file", help="read the passphrase from this file (or CONSENT_PASSPHRASE)"
        )


def _revision_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="files or folders whose works to revise")
    parser.add_argument("--sha256", action="append", help="a work's SHA-256 (repeatable)")
    parser.add_argument(
        "--declaration", action="append", help="an earlier declaration id to supersede"
    )
    _data_options(parser)
    parser.add_argument("--issued-at", type=int, help="issue time, Unix seconds (default: now)")


def _pref_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--no-train", dest="train", action="store_const", const="n", help="train-ai=n"
    )
    group.add_argument(
        "--allow-train", dest="train", action="store_const", const="y", help="train-ai=y"
    )
    parser.add_argument("--prefs", help='AIPREF statement, e.g. "train-ai=n, search=y"')


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``consent`` command."""
    parser = argparse.ArgumentParser(
        prog="consent", description="Declare works as a creator; check them as a crawler."
    )
    parser.add_argument("--version", action="version", version=f"consent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = sub.add_parser("keygen", help="create a passphrase-protected creator key")
    _common(keygen, node=False)
    keygen.add_argument("--force", action="store_true", help="replace an existing key file")
    keygen.add_argument("--scrypt-n", type=int, default=DEFAULT_SCRYPT_N, help=argparse.SUPPRESS)
    keygen.set_defaults(func=cmd_keygen)
    _key_parsers(sub)

    declare = sub.add_parser("declare", help="declare works (default: --no-train)")
    _common(declare)
    declare.add_argument("paths", nargs="*", help="files and folders of works")
    declare.add_argument(
        "--from-export",
        action="append",
        metavar="EXPORT",
        help="an Instagram or Facebook data export (.zip or folder; repeat for its parts)",
    )
    _pref_options(declare)
    declare.add_argument("--base-url", help="works in a folder are published at BASE-URL/<path>")
    declare.add_argument("--url-map", help="file of 'PATH<TAB>URL' lines")
    _data_options(declare)
    declare.add_argument("--issued-at", type=int, help="issue time, Unix seconds (default: now)")
    declare.add_argument("--no-pdq", action="store_true", help="no perceptual hashes")
    declare.add_argument("--no-iscc", action="store_true", help="no ISCC codes")
    declare.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    declare.set_defaults(func=cmd_declare)

    _creator_parsers(sub)
    _reader_parsers(sub)
    from consent.trust_cli import add_parsers  # noqa: PLC0415 - it imports this module

    add_parsers(sub)
    _no_abbreviations(parser)
    return parser


def _no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """Turn off option abbreviations in ``parser`` and every subcommand's parser: ``--url``
    must not silently mean ``--url-map``."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _no_abbreviations(child)


def _key_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    key = sub.add_parser("key", help="back up or restore your creator key")
    actions = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    backup = actions.add_parser("backup", help="print the key's 24-word recovery phrase")
    _common(backup, node=False)
    backup.add_argument("--out", help="write the recovery page to this file (mode 0600)")
    backup.add_argument("--force", action="store_true", help="replace an existing --out file")
    backup.set_defaults(func=cmd_key_backup)
    restore = actions.add_parser("restore", help="recreate the key file from its phrase")
    _common(restore, node=False)
    restore.add_argument(
        "--phrase-file", help="read the 24 words from this file ('-': standard input)"
    )
    restore.add_argument("--force", action="store_true", help="replace an existing key file")
    restore.add_argument("--scrypt-n", type=int, default=DEFAULT_SCRYPT_N, help=argparse.SUPPRESS)
    restore.set_defaults(func=cmd_key_restore)


def _creator_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    withdraw = sub.add_parser("withdraw", help="withdraw declarations or works")
    _common(withdraw)
    _revision_options(withdraw)
    withdraw.set_defaults(func=cmd_withdraw)

    change = sub.add_parser("change", help="state new preferences for declared works")
    _common(change)
    _revision_options(change)
    _pref_options(change)
    change.set_defaults(func=cmd_change)


def _reader_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser("verify", help="verify receipts offline")
    _common(verify, key=False)
    verify.add_argument(
        "files",
        nargs="*",
        metavar="RECEIPT",
        help="stored receipts (.json) or tlog-proofs (default: every receipt of the key)",
    )
    verify.add_argument("--key", help="creator key file (env CONSENT_KEY)")
    _data_options(verify)
    verify.add_argument("--entry", help="the declaration's JSON, for a bare tlog-proof")
    verify.add_argument("--node-key", help="the node's verifier key (origin+hex8+base64)")
    verify.add_argument("--witness-key", action="append", help="a witness verifier key")
    verify.add_argument("--min-witnesses", type=int, default=0, help="cosignatures required")
    verify.set_defaults(func=cmd_verify)

    status = sub.add_parser("status", help="your works and declarations, as they stand")
    _common(status)
    _data_options(status)
    status.add_argument("paths", nargs="*", help="files or folders to name works by")
    status.add_argument("--did", help="another creator's did:key")
    status.set_defaults(func=cmd_status)

    _signals_parser(sub)

    check = sub.add_parser("check", help="are these files or URLs reserved?")
    _common(check, key=False)
    check.add_argument("items", nargs="*", help="files, folders or http(s) URLs")
    check.add_argument("--urls", action="append", help="file of URLs, one a line ('-': stdin)")
    check.add_argument("--category", default="train-ai", help="AIPREF category (train-ai)")
    check.add_argument("--signals", action="store_true", help="also every web opt-out signal")
    check.add_argument(
        "--near",
        action="store_true",
        help="require the node's near-duplicate search: PDQ for images, ISCC for texts",
    )
    check.add_argument(
        "--offline",
        action="store_true",
        help="check against the node's signed snapshot; ask the node about hits only",
    )
    check.add_argument(
        "--levels",
        action="store_true",
        help="with --offline: also verify the snapshot's levels file and decide the hits it "
        "covers under --policy without asking the node (spec §8.10)",
    )
    check.add_argument("--cache", help="snapshot cache folder (env CONSENT_CACHE)")
    check.add_argument("--node-key", help="pin the node's verifier key (origin+hex8+base64)")
    check.add_argument(
        "--log-key",
        action="append",
        metavar="KEY",
        help="pin the verifier key of a log the node mirrors (origin+hex8+base64; repeatable)",
    )
    check.add_argument("--verify", action="store_true", help="verify every positive answer")
    check.add_argument(
        "--policy",
        choices=POLICIES,
        help="which claims count (spec §9.4.7; the node's default: verified)",
    )
    check.add_argument(
        "--verify-evidence",
        action="store_true",
        help="check every identity level offline from the log's records (spec §9.5)",
    )
    check.add_argument(
        "--trust-node",
        action="append",
        metavar="DID",
        help="with --verify-evidence: a node key whose bindings you trust (repeatable; "
        "default: the node's published list)",
    )
    check.add_argument(
        "--trust-platform",
        action="append",
        metavar="NAME=DID",
        help="with --verify-evidence: a platform key you trust, and its name (repeatable)",
    )
    check.add_argument("--fail-on-reserved", action="store_true", help="exit 3 if reserved")
    check.add_argument("--concurrency", type=int, default=4, help="parallel requests")
    check.set_defaults(func=cmd_check)


def _signals_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    signals = sub.add_parser(
        "signals", help="write robots.txt, ai.txt, TDMRep, RSL, headers and tagged images"
    )
    _common(signals)
    signals.add_argument("paths", nargs="*", help="only the works in these files or folders")
    signals.add_argument("--sha256", action="append", help="only this work (repeatable)")
    signals.add_argument("--out", default="consent-signals", help="output folder")
    signals.add_argument("--base-url", help="where the works are published (their URLs' site)")
    signals.add_argument(
        "--site-wide",
        action="store_true",
        help="also state the works' combined preferences for the whole site (robots.txt)",
    )
    signals.add_argument("--no-images", action="store_true", help="no image copies")
    signals.add_argument("--sign-cert", help="PEM certificate chain: add a C2PA manifest")
    signals.add_argument("--sign-key", help="PEM private key of --sign-cert (ES256 or Ed25519)")
    signals.add_argument(
        "--from-node", action="store_true", help="the node's answers, not the local receipts"
    )
    signals.add_argument("--did", help="another creator's did:key (default: the key file's)")
    signals.add_argument("--receipts", help="receipts folder (env CONSENT_RECEIPTS)")
    signals.set_defaults(func=cmd_signals)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"consent: error: {' '.join(message.split())}\n")
    raise SystemExit(1)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``consent`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (CommandError, ConsentError, ProtocolError) as exc:
        _fail(str(exc) or type(exc).__name__)
    except KeyboardInterrupt:
        _fail("interrupted (run the same command again to resume)")
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename or ''}")


def _run() -> None:  # pragma: no cover - python -m consent.cli
    raise SystemExit(main())
