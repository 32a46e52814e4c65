"""Custody of the node's signing key: a file outside the database (ADR 0012).

The log's checkpoint signing key is the log's identity: whoever holds it can sign checkpoints
no other copy of the log agrees with. So it lives in one place, readable by the node's user
only, and never in the database (whose files, dumps and replicas travel further than a key
should). The database keeps the public half (``meta.verifier_key``), against which the key is
checked at every start.

:class:`KeyCustody` is what the log needs of a key store; :class:`KeyFile`, a C2SP
``PRIVATE+KEY+...`` string in a file created with mode 0600 in a directory of mode 0700, is the
one backend. A key file is written crash-safely (a temporary file, fsync, a hard link to the
final name that never replaces an existing key, fsync of the directory), so a crash leaves
either no key file or a whole one.

Key material never appears in an error message, a log line or a ``repr``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Final, Protocol

from registry.core.errors import KeyFormatError
from registry.core.note import ALG_ED25519, NoteSigner
from registry.log.errors import NodeConfigError

__all__ = [
    "KEY_FILE_NAME",
    "KeyCustody",
    "KeyFile",
    "default_custody",
    "parse_signing_key",
    "private_dir",
]

KEY_FILE_NAME: Final = "node.key"
"""The key file's name in the node's data directory when no path is configured."""
FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700

_log = logging.getLogger("registry.log")


class KeyCustody(Protocol):
    """Where the node's signing key is kept, outside the database.

    ``load`` returns the key, or None if there is none yet; ``create`` keeps a new key, and
    must not replace one that exists (it raises :class:`NodeConfigError` instead, unless the
    existing key is the same). ``location`` names the place in messages (never the key).
    """

    @property
    def location(self) -> str:
        """Where the key is, for messages."""

    def load(self) -> NoteSigner | None:
        """The key, or None if none was kept yet."""

    def create(self, signer: NoteSigner) -> None:
        """Keep ``signer`` as the node key (once; an existing different key is an error)."""


def parse_signing_key(text: str, what: str) -> NoteSigner:
    """Parse a C2SP signer key string; raise NodeConfigError (without the key) if malformed."""
    try:
        signer = NoteSigner.from_skey(text.strip())
    except KeyFormatError as exc:
        raise NodeConfigError(f"{what} is not a valid C2SP signer key: {exc}") from None
    if signer.alg != ALG_ED25519:
        raise NodeConfigError(f"{what} is not an Ed25519 note key (signature type 0x01)")
    return signer


def private_dir(path: Path) -> None:
    """Make ``path`` (and missing parents) a directory only its owner may enter (0700).

    An existing directory with a wider mode is narrowed: it is the node's own data directory.
    """
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            path.chmod(DIR_MODE)
        except PermissionError:  # not ours to change (another owner): say so, go on
            _log.warning("the data directory %s has mode %o; chmod 700 it", path, mode)
            return
        _log.info("narrowed the mode of %s from %o to 700 (it holds the node key)", path, mode)


def default_custody(database_url: str) -> KeyFile:
    """The key file ``node.key`` beside an SQLite database, in its data directory.

    Raises:
        NodeConfigError: the database is not an SQLite file: its key file must be configured
            (``REGISTRY_SIGNING_KEY_FILE``).
    """
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - keep this module light

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise NodeConfigError(
            "the node signing key lives in a file outside the database: set "
            "REGISTRY_SIGNING_KEY_FILE (or --signing-key-file) for a database that is not an "
            "SQLite file"
        )
    return KeyFile(Path(url.database).parent / KEY_FILE_NAME)


class KeyFile:
    """The node key in a file: ``PRIVATE+KEY+...`` and a newline, mode 0600.

    ``own_dir``: the file's directory is the node's (its data directory), created or narrowed
    to 0700; otherwise the directory is the operator's (a mounted secret) and left alone.
    """

    def __init__(self, path: Path, *, own_dir: bool = True) -> None:
        self.path = path
        self.own_dir = own_dir

    @property
    def location(self) -> str:
        return f"key file {self.path}"

    def __repr__(self) -> str:
        return f"KeyFile({str(self.path)!r})"

    def load(self) -> NoteSigner | None:
        """The key in the file, or None if there is no file.

        Raises:
            NodeConfigError: the file cannot be read or does not hold a valid Ed25519 key.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise NodeConfigError(f"cannot read the {self.location}: {reason}") from None
        if not text.strip():
            raise NodeConfigError(f"the {self.location} is empty")
        signer = parse_signing_key(text, f"the {self.location}")
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            _log.warning(
                "the %s has mode %o: other users may read the node key; chmod 600 it",
                self.location,
                mode,
            )
        return signer

    def create(self, signer: NoteSigner) -> None:
        """Write ``signer`` to the file, crash-safely, unless the file exists.

        A file that already holds the same key is fine (a retried migration or start).

        Raises:
            NodeConfigError: the file holds another key, or cannot be written.
        """
        directory = self.path.parent
        try:
            if self.own_dir:
                private_dir(directory)
            else:
                directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            temporary = directory / f".{self.path.name}.{secrets.token_hex(8)}.tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(signer.skey + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                with contextlib.suppress(FileExistsError):  # never replace a key
                    os.link(temporary, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temporary.unlink()
            _fsync_dir(directory)
        except OSError as exc:
            raise NodeConfigError(f"cannot write the {self.location}: {exc.strerror}") from None
        kept = self.load()
        if kept is None or kept.skey != signer.skey:
            raise NodeConfigError(
                f"the {self.location} already holds another key; refusing to replace it"
            )


def _fsync_dir(directory: Path) -> None:
    """Make a directory entry (a created or linked file) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
