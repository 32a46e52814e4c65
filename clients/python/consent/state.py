"""Where the ``consent`` command keeps what a creator declared: per key, not per folder.

Layout (``DATA`` is ``--data-dir``, else ``$CONSENT_DATA_DIR``, else the per-user data
directory: ``$XDG_DATA_HOME/consent``, by default ``~/.local/share/consent`` on Linux, as
:func:`platformdirs.user_data_path` says for other systems)::

    DATA/<creator id>/receipts/     the receipts folder of that key (:mod:`consent.receipts`)

``<creator id>`` is the method-specific part of the creator's ``did:key`` (``z6Mk...``, base58
letters and digits only, so safe in any file system). Every run of the command, from whatever
folder, finds the same record, and :func:`sync` fills it from the node's log (which holds every
declaration of a DID: spec §6.7 lists them, §6.5 serves each with its receipt), so a new
machine, or a data directory that was lost, gives the same answers.

Before this layout the receipts lived in ``./consent-receipts`` of the folder the command ran
in; :func:`migrate_legacy` moves the receipts of the key found there into its folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from consent.client import ConsentClient
from consent.errors import ConsentError, VerificationError
from consent.proofs import verifier_from_key, verify_view
from consent.receipts import ReceiptStore, StoredReceipt
from registry.core.errors import ProtocolError
from registry.core.keys import PublicKey

__all__ = [
    "DATA_DIR_ENV",
    "LEGACY_FOLDER",
    "Migration",
    "creator_folder",
    "data_home",
    "migrate_legacy",
    "sync",
]

DATA_DIR_ENV: Final = "CONSENT_DATA_DIR"
LEGACY_FOLDER: Final = Path("consent-receipts")


def data_home(override: str | Path | None = None) -> Path:
    """The base data directory: ``override``, else ``$CONSENT_DATA_DIR``, else the user's."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    from platformdirs import user_data_path  # noqa: PLC0415 - only when no override

    return user_data_path("consent", appauthor=False)


def creator_folder(did: str, home: Path) -> Path:
    """The receipts folder of the creator ``did`` under the data directory ``home``.

    Raises:
        ConsentError: ``did`` is not an Ed25519 ``did:key``.
    """
    try:
        PublicKey.from_did(did)
    except ProtocolError as exc:
        raise ConsentError(f"not a creator did:key: {did!r} ({exc})") from exc
    return home / did.removeprefix("did:key:") / "receipts"


@dataclass
class Migration:
    """What :func:`migrate_legacy` moved: receipt ids, and whether the old folder was renamed."""

    source: Path
    moved: list[str] = field(default_factory=list)
    left: int = 0
    renamed_to: Path | None = None

    def message(self, target: Path) -> str:
        """One line for the user."""
        text = f"moved {len(self.moved)} receipts of this key from {self.source} to {target}"
        if self.renamed_to is not None:
            text += f"; the old folder is now {self.renamed_to}"
        if self.left:
            text += f"; {self.left} receipts of other keys left in {self.source}"
        return text


def migrate_legacy(source: Path, store: ReceiptStore, did: str) -> Migration | None:
    """Move the receipts of ``did`` found in an old per-folder ``source`` into ``store``.

    Each receipt is written into ``store`` before it is removed from ``source``; receipts of
    other keys stay where they are. Node keys pinned there are pinned in ``store`` unless it
    already pins another key for that node (then the store's pin wins). Declarations ``source``
    had pending move too, unless ``store`` has its own. When nothing of another key is left,
    ``source`` is renamed ``<source>.migrated`` (never deleted).
    Returns None when there is nothing to migrate.

    Raises:
        ReceiptStoreError: a file in ``source`` is damaged.
    """
    if not source.is_dir() or source.resolve() == store.folder.resolve():
        return None
    old = ReceiptStore(source)
    mine = [r for r in old if r.record.creator == did]
    others = len(old) - len(mine)
    pending = old.pending(did) if _pending_is_mine(old, did) else []
    if old.state_path.exists() and not _pending_is_mine(old, did):
        others += 1  # another key's interrupted run: its owner migrates it
    if not mine and not pending:
        return None
    migration = Migration(source=source, left=others)
    for stored in mine:
        if store.get(stored.id) is None:
            store.add(stored)
        old.path_of(stored.id).unlink()
        migration.moved.append(stored.id)
    nodes = source / ".nodes.json"
    if nodes.exists():
        import json  # noqa: PLC0415

        for node, key in dict(json.loads(nodes.read_bytes())).items():
            if store.pinned_key(str(node)) is None:
                store.pin_key(str(node), str(key))
    if pending and not store.pending(did):
        store.set_pending(did, pending, old.pending_files())
        old.state_path.unlink()
    if not others:
        target = source.with_name(source.name + ".migrated")
        n = 1
        while target.exists():
            n += 1
            target = source.with_name(f"{source.name}.migrated-{n}")
        shutil.move(str(source), str(target))
        migration.renamed_to = target
    return migration


def _pending_is_mine(store: ReceiptStore, did: str) -> bool:
    try:
        store.pending(did)
    except ConsentError:
        return False
    return True


def sync(client: ConsentClient, store: ReceiptStore, did: str) -> list[StoredReceipt]:
    """Fetch from the node every declaration of ``did`` in its own log that ``store`` lacks.

    The node lists the creator's declarations (spec §6.7); each missing one is fetched with
    its receipt (spec §6.5), verified against the node's key (pinned in ``store`` on first
    contact) and stored without file names (the log holds none). Declarations the node
    mirrors from other logs are listed by ``consent status`` but not stored here.
    Returns the receipts added.

    Raises:
        VerificationError: the node presents another key than the one pinned, or a
            declaration does not verify or is not by ``did``.
        NodeError, TransportError: the node failed.
    """
    info = client.info()
    pinned = store.pinned_key(client.base_url)
    if pinned is None:
        store.pin_key(client.base_url, info.verifier_key)
    elif pinned != info.verifier_key:
        raise VerificationError(
            f"{client.base_url} now presents verifier key {info.verifier_key}, "
            f"but {pinned} is pinned in {store.folder}/.nodes.json"
        )
    verifier = verifier_from_key(info.verifier_key)
    added: list[StoredReceipt] = []
    for declaration in client.creator(did).declarations:
        if store.get(declaration.id) is not None:
            continue
        if declaration.origins and info.origin not in declaration.origins:
            continue  # logged elsewhere; the node mirrors it
        view = client.declaration(declaration.id)
        verified = verify_view(view, verifier)
        if verified.record.creator != did:
            raise VerificationError(f"declaration {declaration.id} is not by {did}")
        stored = StoredReceipt(
            id=verified.id,
            index=verified.index,
            origin=verified.origin,
            node=client.base_url,
            verifier_key=info.verifier_key,
            entry=verified.entry,
            receipt=view.receipt,
        )
        store.add(stored)
        added.append(stored)
    return added
