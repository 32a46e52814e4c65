"""The ``registry`` command: run and operate a node, and make throwaway creator keys.

::

    registry serve            run a node (granian, app factory registry.app:create_app_from_env)
    registry init             create the data dir, database and node key; print origin and key
    registry keygen           print a new node signing key (or, with --creator, a creator key)
    registry sign-declaration sign a declaration with a creator key and print its JSON
    registry verify-receipt   check a receipt offline against a declaration and a log key
    registry log verify       recompute own and mirrored trees from the entries; check checkpoints
    registry index rebuild    recompute the index from the logs, prove it equal (--check) or repair
    registry db upgrade       apply the database migrations

Every option also reads a ``REGISTRY_*`` environment variable (shown in ``--help``). Errors
print one line on stderr and exit with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

import registry
from registry.config.settings import (
    DEFAULT_PORT,
    LOG_FORMATS,
    LOG_LEVELS,
    Settings,
    read_secret_file,
)
from registry.indexes.rebuild import IndexCheck

__all__ = ["cli", "main"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "REGISTRY"}


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def database_options(func: F) -> F:
    """The options naming the node's database: a data dir (SQLite) or a database URL."""
    func = click.option(
        "--database-url",
        envvar="REGISTRY_DATABASE_URL",
        help="SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db (default: SQLite in "
        "--data-dir).",
    )(func)
    return click.option(
        "--data-dir",
        envvar="REGISTRY_DATA_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("data"),
        show_default=True,
        help="Directory of the SQLite database (created if missing).",
    )(func)


def identity_options(func: F) -> F:
    """The options naming the log: its origin and signing key."""
    func = click.option(
        "--origin",
        envvar="REGISTRY_ORIGIN",
        help="Log origin (schema-less, e.g. registry.example.org/log); default: the stored "
        "one, else consent-registry.localhost/<key hash>.",
    )(func)
    return click.option(
        "--signing-key-file",
        envvar="REGISTRY_SIGNING_KEY_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The node's signing key file (C2SP PRIVATE+KEY+..., mode 0600): read if it "
        "exists, else created with REGISTRY_SIGNING_KEY or a new key. Default: node.key in "
        "the data directory.",
    )(func)


def _settings(**options: Any) -> Settings:
    """Settings from explicit options over the environment (REGISTRY_SIGNING_KEY included)."""
    token_file = options.pop("admin_token_file", None)
    if token_file is not None:
        options["admin_token"] = read_secret_file(token_file, "admin token")
    settings = Settings.from_env(**options)
    if settings.peers_file is not None:
        from registry.federation.config import load_peers_file, require_https  # noqa: PLC0415

        # fail now, with the line number, not in a worker
        peers = load_peers_file(settings.peers_file)
        require_https(peers, allow_http=settings.peer_allow_http)
    if settings.trusted_platforms is not None:
        from registry.config.platforms import load_platforms_file  # noqa: PLC0415

        load_platforms_file(settings.trusted_platforms)  # fail now, in one line
    return settings


@click.group(context_settings=CONTEXT)
@click.version_option(registry.__version__, prog_name="registry")
def cli() -> None:
    """consent-registry: a signed, federated registry of "do not train" declarations."""


@cli.command()
@click.option(
    "--host",
    envvar="REGISTRY_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    envvar="REGISTRY_PORT",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port to listen on.",
)
@database_options
@identity_options
@click.option(
    "--workers",
    envvar="REGISTRY_WORKERS",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (they share the database).",
)
@click.option(
    "--batch-interval",
    envvar="REGISTRY_BATCH_INTERVAL",
    type=float,
    default=0.05,
    show_default=True,
    help="Seconds the sequencer waits to gather a batch.",
)
@click.option(
    "--max-pending",
    envvar="REGISTRY_MAX_PENDING",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Submissions pooled before answering 503.",
)
@click.option(
    "--rate-limit",
    envvar="REGISTRY_RATE_LIMIT",
    type=click.IntRange(min=0),
    default=6000,
    show_default=True,
    help="Requests per minute per client address and worker (0: off).",
)
@click.option(
    "--max-body-size",
    envvar="REGISTRY_MAX_BODY_SIZE",
    type=click.IntRange(min=1),
    default=32 * 1024 * 1024,
    show_default=True,
    help="Largest request body, bytes.",
)
@click.option(
    "--max-batch-items",
    envvar="REGISTRY_MAX_BATCH_ITEMS",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Most declarations or checked items in one request.",
)
@click.option(
    "--log-level",
    envvar="REGISTRY_LOG_LEVEL",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
)
@click.option(
    "--peers",
    "peers_file",
    envvar="REGISTRY_PEERS_FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Peers file: one 'URL VKEY [WITNESS_VKEY]' line per peer node to mirror and witness "
    "('#' starts a comment line).",
)
@click.option(
    "--admin-token-file",
    envvar="REGISTRY_ADMIN_TOKEN_FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the operator token of the admin API (/v1/admin/...); or set "
    "REGISTRY_ADMIN_TOKEN. Without one the admin API is disabled.",
)
@click.option(
    "--peer-poll-interval",
    envvar="REGISTRY_PEER_POLL_INTERVAL",
    type=click.FloatRange(min=0.05),
    default=5.0,
    show_default=True,
    help="Seconds between polls of each peer's checkpoint (pushes wake the mirror sooner).",
)
@click.option(
    "--peer-timeout",
    envvar="REGISTRY_PEER_TIMEOUT",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds before a request to a peer is given up.",
)
@click.option(
    "--peer-allow-http",
    envvar="REGISTRY_PEER_ALLOW_HTTP",
    is_flag=True,
    default=False,
    help="Allow plain http:// peer URLs (only between nodes on a trusted network); by default "
    "peers must be https.",
)
@click.option(
    "--peer-round-timeout",
    envvar="REGISTRY_PEER_ROUND_TIMEOUT",
    type=click.FloatRange(min=0.1),
    default=900.0,
    show_default=True,
    help="Seconds one mirroring round of a peer may take before it is abandoned.",
)
@click.option(
    "--snapshot-interval",
    envvar="REGISTRY_SNAPSHOT_INTERVAL",
    type=click.FloatRange(min=0.05),
    default=60.0,
    show_default=True,
    help="Seconds between refreshes of the offline snapshot chain (spec §8.7).",
)
@click.option(
    "--log-format",
    envvar="REGISTRY_LOG_FORMAT",
    type=click.Choice(LOG_FORMATS),
    default="auto",
    show_default=True,
    help="json: one JSON object a line; console: readable lines; auto: console if stderr is "
    "a terminal, else json.",
)
@click.option(
    "--creator-hourly-limit",
    envvar="REGISTRY_CREATOR_HOURLY_LIMIT",
    type=click.IntRange(min=0),
    default=10_000,
    show_default=True,
    help="Records accepted per unverified signing key in any hour, per worker (0: off); more "
    "are answered 429.",
)
@click.option(
    "--verified-hourly-limit",
    envvar="REGISTRY_VERIFIED_HOURLY_LIMIT",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    help="Records accepted per key with identity evidence (a domain binding or a trusted "
    "platform's attestation, spec §9.1) in any hour, per worker (0: off).",
)
@click.option(
    "--address-hourly-limit",
    envvar="REGISTRY_ADDRESS_HOURLY_LIMIT",
    type=click.IntRange(min=0),
    default=2_000,
    show_default=True,
    help="Records of unverified keys accepted per client address (IPv6: per /64) in any hour, "
    "per worker (0: off): minting keys does not multiply what one client may write.",
)
@click.option(
    "--trusted-platforms",
    envvar="REGISTRY_TRUSTED_PLATFORMS",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trusted-platforms file (JSON, spec §9.6): the platform keys whose attestations this "
    "node accepts, with their name, scope and daily quota.",
)
@click.option(
    "--clock-skew",
    envvar="REGISTRY_CLOCK_SKEW",
    type=click.IntRange(min=0),
    default=600,
    show_default=True,
    help="Seconds a declaration's issued_at may be ahead of this node's clock; later ones are "
    "answered 422 future-dated (spec §2.11).",
)
@click.option(
    "--cors-origins",
    envvar="REGISTRY_CORS_ORIGINS",
    default="",
    help="Browser origins allowed by CORS, comma separated (e.g. https://app.example), or "
    "'*'. Default: none (no CORS headers).",
)
@click.option(
    "--trusted-proxies",
    envvar="REGISTRY_TRUSTED_PROXIES",
    default="",
    help="Reverse proxies (IP addresses or networks, comma separated) whose X-Forwarded-For "
    "names the client for rate limiting. Default: none.",
)
@click.option(
    "--binding-allow-http",
    envvar="REGISTRY_BINDING_ALLOW_HTTP",
    is_flag=True,
    default=False,
    help="Domain checks (spec §9.2) fetch did.json over plain http (tests only); by default "
    "https only.",
)
@click.option(
    "--binding-allow-private",
    envvar="REGISTRY_BINDING_ALLOW_PRIVATE",
    is_flag=True,
    default=False,
    help="Domain checks may connect to loopback, private and other non-public addresses "
    "(tests only); by default public addresses only.",
)
@click.option(
    "--binding-timeout",
    envvar="REGISTRY_BINDING_TIMEOUT",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds one domain check may take: DNS, connecting, TLS and the document together.",
)
@click.option(
    "--binding-recheck-interval",
    envvar="REGISTRY_BINDING_RECHECK_INTERVAL",
    type=click.FloatRange(min=1.0),
    default=86400.0,
    show_default=True,
    help="Seconds between re-checks of the domain bindings in force (spec §9.2).",
)
@click.option(
    "--binding-resolve",
    envvar="REGISTRY_BINDING_RESOLVE",
    default="",
    help="Fixed addresses for domain checks, like curl --resolve: HOST=ADDRESS:PORT, comma "
    "separated (split-horizon DNS, tests). The address limits still apply.",
)
@click.option(
    "--binding-checks-per-hour",
    envvar="REGISTRY_BINDING_CHECKS_PER_HOUR",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Domain checks (POST /v1/bindings) one client address (IPv6: /64) may ask for in any "
    "hour, per worker (0: off); each check makes the node fetch from the network.",
)
def serve(host: str, port: int, workers: int, log_level: str, **options: Any) -> None:
    """Run a node: SQLite in --data-dir (created, with a node key, on first start) or the
    database at --database-url. With --peers it mirrors, verifies and cosigns the logs of the
    peers listed there (federation, spec §7)."""
    from granian.constants import Interfaces  # noqa: PLC0415 - only `serve` needs granian
    from granian.log import LogLevels  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    settings = _settings(host=host, port=port, workers=workers, log_level=log_level, **options)
    from registry.observability.logs import announce, granian_log_config  # noqa: PLC0415

    _guard_serve(settings)
    origin, vkey = _run(_initialise(settings))
    announce(settings.log_format, f"registry: origin {origin}")
    announce(settings.log_format, f"registry: verifier key {vkey}")
    announce(settings.log_format, f"registry: witness key {_run(_witness_key(settings))}")
    announce(settings.log_format, f"registry: listening on http://{host}:{port}")

    os.environ.update(settings.to_env())
    metrics_dir, owned = _metrics_dir()
    try:
        Server(
            "registry.app:create_app_from_env",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_level=LogLevels(log_level),
            log_dictconfig=granian_log_config(settings.log_format),
            # the node logs its own access lines at debug level, with the request id
            log_access=False,
        ).serve()
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)


_GUARDS = contextlib.ExitStack()
"""The locks ``serve`` holds until its process exits (the kernel and PostgreSQL release them
however it exits)."""


def _guard_serve(settings: Settings) -> None:
    """Guard rails of ``serve`` (docs/operations.md): refuse a port another process listens
    on, and a data directory or database a running node holds; one line and exit 1 if so."""
    from registry.storage.nodelock import NodeLockError, hold_node_lock  # noqa: PLC0415

    _refuse_busy_port(settings.host, settings.port)
    try:
        _GUARDS.enter_context(hold_node_lock(settings.data_dir, settings.resolved_database_url()))
    except NodeLockError as exc:
        raise click.ClickException(str(exc)) from None


def _refuse_busy_port(host: str, port: int) -> None:
    """Bind ``host:port`` once without ``SO_REUSEPORT``: granian's workers share their socket
    with that option, so without this check a second node would silently split the port's
    requests with the first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is in use by another process; choose another --port"
                ) from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _metrics_dir() -> tuple[Path, bool]:
    """Prepare prometheus-client's multiprocess directory before the workers start.

    Every worker writes its counters there and the one answering ``/metrics`` adds them up
    (:mod:`registry.observability.metrics`). The directory is ``PROMETHEUS_MULTIPROC_DIR`` if
    the operator set it (the last run's files are removed first: counters restart with the
    node), else a new temporary directory, removed on exit. Not the data directory: the files are
    memory-mapped, and a worker writing a mapped page on a full disk is killed (SIGBUS).
    Returns the directory and whether it is ours to remove.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="registry-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path, True


async def _witness_key(settings: Settings) -> str:
    """The node's cosignature/v1 verifier key (derived from its log key, spec §7.5)."""
    from registry.federation.keys import derive_witness_signer  # noqa: PLC0415

    signer = settings.key_custody().load()
    if signer is None:  # pragma: no cover - _initialise kept it
        raise click.ClickException("the node has no signing key")
    return derive_witness_signer(signer.skey).verifier.vkey


async def _initialise(settings: Settings) -> tuple[str, str]:
    """Migrate the database and load or create the node identity, once, before workers start."""
    from registry.log import NodeLog, upgrade  # noqa: PLC0415 - node-only imports
    from registry.log.custody import private_dir  # noqa: PLC0415

    database_url = settings.resolved_database_url()
    if not settings.database_url:
        private_dir(settings.data_dir)  # 0700: it holds the database and the key file
    custody = settings.key_custody()
    await upgrade(database_url, custody=custody)
    log = await NodeLog.open(
        database_url, origin=settings.origin, signing_key=settings.signing_key, custody=custody
    )
    try:
        return log.origin, log.verifier_key
    finally:
        await log.close()


@cli.command()
@database_options
@identity_options
def init(**options: Any) -> None:
    """Create the data dir, database and node key (if missing); print origin, verifier key and
    witness key (what peers put in their peers files)."""
    settings = _settings(**options)
    origin, vkey = _run(_initialise(settings))
    click.echo(f"origin: {origin}")
    click.echo(f"verifier key: {vkey}")
    click.echo(f"witness key: {_run(_witness_key(settings))}")
    click.echo(f"database: {_redact(settings.resolved_database_url())}")


@cli.command()
@click.option(
    "--creator",
    is_flag=True,
    help="Make a creator key (Ed25519 seed, hex) instead of a node signing key.",
)
@click.option(
    "--origin",
    envvar="REGISTRY_ORIGIN",
    default="consent-registry.localhost/node",
    show_default=True,
    help="Node key only: the log origin naming the key.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the secret key to this file (mode 0600) instead of stdout.",
)
def keygen(creator: bool, origin: str, out: Path | None) -> None:
    """Make a new key. Node key: prints the C2SP signing key (secret) and, on stderr, its
    verifier key. Creator key (--creator): prints the seed as hex and, on stderr, its did:key."""
    seed = secrets.token_bytes(32)
    if creator:
        from registry.core.keys import PrivateKey  # noqa: PLC0415

        secret, public = seed.hex(), PrivateKey.from_seed(seed).public_key.did
        label = "did"
    else:
        from registry.core.note import NoteSigner  # noqa: PLC0415

        signer = NoteSigner.from_seed(origin, seed)
        secret, public, label = signer.skey, signer.verifier.vkey, "verifier key"
    if out is None:
        click.echo(secret)
    else:
        _write_secret(out, secret + "\n")
        click.echo(f"wrote {out}", err=True)
    click.echo(f"{label}: {public}", err=True)


def _write_secret(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only; refuse to overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; not overwriting a key") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@cli.command("sign-declaration")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Creator key file (64 hex digits, as written by `registry keygen --creator`).",
)
@click.option("--sha256", "hashes", multiple=True, help="SHA-256 of a work (hex); repeatable.")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A work file to hash locally (it is not sent anywhere); repeatable.",
)
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="URL where the works are published (added to every work); repeatable.",
)
@click.option("--train/--no-train", "train", default=None, help="train-ai=y / train-ai=n.")
@click.option("--search/--no-search", "search", default=None, help="search=y / search=n.")
@click.option("--supersedes", multiple=True, help="Id of a declaration this one replaces.")
@click.option("--withdraw", is_flag=True, help="Withdraw every preference for these works.")
@click.option(
    "--issued-at", type=click.IntRange(min=0), help="Issue time, unix seconds (default: now)."
)
def sign_declaration(
    *,
    key_file: Path,
    hashes: tuple[str, ...],
    files: tuple[Path, ...],
    urls: tuple[str, ...],
    train: bool | None,
    search: bool | None,
    supersedes: tuple[str, ...],
    withdraw: bool,
    issued_at: int | None,
) -> None:
    """Sign a declaration with a creator key and print it (canonical JSON, ready to POST)."""
    from registry.core.keys import PrivateKey  # noqa: PLC0415
    from registry.core.records import (  # noqa: PLC0415
        encode_record,
        new_declaration,
        new_work,
        sign_declaration,
    )

    try:
        seed = bytes.fromhex(key_file.read_text(encoding="utf-8").strip())
    except ValueError:
        raise click.ClickException(f"{key_file} does not hold a 64-hex-digit seed") from None
    key = PrivateKey.from_seed(seed)
    digests = {h.lower() for h in hashes}
    digests |= {hashlib.sha256(path.read_bytes()).hexdigest() for path in files}
    if not digests:
        raise click.UsageError("give at least one --sha256 or --file")
    prefs: dict[str, str] = {}
    if train is not None:
        prefs["train-ai"] = "y" if train else "n"
    if search is not None:
        prefs["search"] = "y" if search else "n"
    unsigned = new_declaration(
        creator=key.public_key.did,
        issued_at=int(time.time()) if issued_at is None else issued_at,
        works=[new_work(digest, urls=urls) for digest in sorted(digests)],
        prefs=prefs,
        supersedes=supersedes,
        withdraw=withdraw,
    )
    click.echo(encode_record(sign_declaration(unsigned, key)).decode())


@cli.command("verify-receipt")
@click.option(
    "--declaration",
    "declaration_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The declaration as submitted (its JSON; surrounding whitespace ignored).",
)
@click.option(
    "--receipt",
    "receipt_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The receipt: tlog-proof text, or a node's JSON answer with a 'receipt'.",
)
@click.option(
    "--verifier-key",
    required=True,
    envvar="REGISTRY_VERIFIER_KEY",
    help="The log's C2SP verifier key (from /.well-known/consent-registry).",
)
def verify_receipt_command(declaration_file: Path, receipt_file: Path, verifier_key: str) -> None:
    """Check offline that a declaration is in a log: the receipt's checkpoint is signed by the
    log's key and its inclusion proof leads from the declaration to the checkpoint's root."""
    import msgspec  # noqa: PLC0415

    from registry.core.note import NoteVerifier  # noqa: PLC0415
    from registry.core.proof import verify_receipt  # noqa: PLC0415

    entry = declaration_file.read_bytes().strip(b" \t\r\n")
    text = receipt_file.read_bytes()
    receipt: str | bytes = text
    if text.lstrip().startswith(b"{"):
        try:
            answer = msgspec.json.decode(text)
        except msgspec.DecodeError:
            raise click.ClickException(f"{receipt_file} is not valid JSON") from None
        found = answer.get("receipt") if isinstance(answer, dict) else None
        if not isinstance(found, str):
            raise click.ClickException(f"{receipt_file} has no 'receipt' string") from None
        receipt = found
    verified = verify_receipt(receipt, entry, NoteVerifier.from_vkey(verifier_key))
    checkpoint = verified.signed_checkpoint.checkpoint
    click.echo(
        f"receipt OK: entry {verified.index} of {checkpoint.origin} "
        f"(checkpoint size {checkpoint.size}, root {checkpoint.root_hash.hex()})"
    )


@cli.group("log")
def log_group() -> None:
    """Inspect the node's log."""


@log_group.command("verify")
@database_options
def log_verify(data_dir: Path, database_url: str | None) -> None:
    """Recompute the tree from every entry; check tiles, checkpoint and signatures (own log
    and mirrored peer logs)."""
    from registry.log import verify_log  # noqa: PLC0415

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    _require_sqlite_file(settings)
    report = _run(verify_log(settings.resolved_database_url()))
    click.echo(f"origin: {report.origin}")
    click.echo(f"verifier key: {report.verifier_key}")
    click.echo(f"size: {report.size}")
    click.echo(f"root hash: {report.root_hash.hex()}")
    click.echo(f"entries checked: {report.entries_checked}")
    click.echo(f"tiles checked: {report.tiles_checked}")
    for mirror in report.mirrors:
        how = "checkpoint signed by the peer" if mirror.signed else "peer no longer configured"
        click.echo(
            f"mirrored log {mirror.origin}: size {mirror.size}, "
            f"{mirror.entries_checked} entries checked ({how})"
        )
    click.echo("log OK")


@cli.group("index")
def index_group() -> None:
    """The persistent index (derived from the logs, ADR 0010)."""


@index_group.command("rebuild")
@database_options
@click.option(
    "--check",
    is_flag=True,
    help="Only compare: exit 1 if the stored index differs from the logs (repairs nothing).",
)
def index_rebuild(data_dir: Path, database_url: str | None, check: bool) -> None:
    """Recompute the index from the logs, prove the stored one equal, repair it if not."""
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    _require_sqlite_file(settings)
    result, origin = _run(_rebuild(settings, repair=not check))
    rate = (result.entries + result.mirrored) / result.seconds if result.seconds > 0 else 0.0
    click.echo(f"origin: {origin}")
    click.echo(f"entries: {result.entries}")
    click.echo(f"mirrored entries: {result.mirrored}")
    click.echo(f"declarations indexed: {result.declarations}")
    click.echo(f"entries skipped: {result.skipped}")
    click.echo(f"seconds: {result.seconds:.3f} ({rate:,.0f} entries/s)")
    for line in result.differences:
        click.echo(f"difference: {line}")
    if result.equal:
        click.echo("index OK: equal to the logs")
    elif result.repaired:
        click.echo("index repaired: it now equals the logs")
    if result.skipped:
        raise click.ClickException(f"{result.skipped} entries did not decode")
    if check and not result.equal:
        raise click.ClickException("the stored index differs from the logs")


async def _rebuild(settings: Settings, *, repair: bool) -> tuple[IndexCheck, str]:
    from dataclasses import replace  # noqa: PLC0415

    from registry.indexes.nearfile import DIRECTORY  # noqa: PLC0415
    from registry.indexes.rebuild import check_index, check_near_files  # noqa: PLC0415
    from registry.log import NodeLog  # noqa: PLC0415

    log = await NodeLog.open(settings.resolved_database_url(), custody=settings.key_custody())
    try:
        result = await check_index(log.engine, repair=repair)
        # The near-duplicate files of this machine, after the rows they are fed from.
        files, discarded = await check_near_files(
            log.engine, settings.data_dir / DIRECTORY, log.origin, repair=repair
        )
        if files:
            result = replace(
                result,
                differences=[*result.differences, *files],
                repaired=(result.repaired or result.equal) and discarded,
            )
        return result, log.origin
    finally:
        await log.close()


@cli.group("db")
def db_group() -> None:
    """The node's database."""


@db_group.command("upgrade")
@database_options
def db_upgrade(data_dir: Path, database_url: str | None) -> None:
    """Apply every pending migration (the node also does this at start-up). An old database's
    signing key moves to the key file (REGISTRY_SIGNING_KEY_FILE, default node.key in the data
    directory)."""
    from registry.log import upgrade  # noqa: PLC0415
    from registry.log.custody import private_dir  # noqa: PLC0415

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    if not settings.database_url:
        private_dir(settings.data_dir)
    _run(upgrade(settings.resolved_database_url(), custody=settings.key_custody()))
    click.echo(f"database at head: {_redact(settings.resolved_database_url())}")


def _require_sqlite_file(settings: Settings) -> None:
    """Reading commands must not create an empty SQLite database where none is."""
    if settings.database_url is None:
        from registry.storage.engine import SQLITE_FILE_NAME  # noqa: PLC0415

        if not (settings.data_dir / SQLITE_FILE_NAME).exists():
            raise click.ClickException(f"no node database in {settings.data_dir}")


def _redact(url: str) -> str:
    """A database URL without its password, for printing."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``registry`` script: one readable line on error, exit status 1."""
    try:
        status = cli.main(args=argv, prog_name="registry", standalone_mode=False)
        if isinstance(status, int) and status:
            sys.exit(status)
    except click.exceptions.Abort:
        click.echo("registry: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        click.echo(f"registry: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"registry: error: {type(exc).__name__}: {message}", err=True)
        sys.exit(1)
