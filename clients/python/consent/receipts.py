"""The local receipts folder: one JSON file per logged declaration, and a resumable state file.

Layout of the folder (the ``consent`` command keeps one per key: :mod:`consent.state`)::

    <declaration id>.json   a stored receipt (:class:`StoredReceipt`): the entry, the node's
                            origin and verifier key, the tlog-proof receipt, the files declared
    .state.json             declarations signed but not yet receipted ("pending"), so that an
                            interrupted run submits exactly those again (a node logs an entry
                            once: resubmitting returns the same index)
    .nodes.json             the verifier key first seen for each node URL (pinned)
    .predecessors.json      the keys this key took over from by rotation (spec §9.4.2),
                            oldest first: their declarations count as this key's

Every write goes to a temporary file that is fsynced and renamed over the target, so a crash
leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from consent.errors import ReceiptStoreError
from registry.core.errors import ProtocolError
from registry.core.records import Declaration, decode_record, record_id

__all__ = ["RECEIPT_FORMAT", "ReceiptStore", "StoredReceipt", "write_atomic"]

RECEIPT_FORMAT: Final = "consent-registry-receipt/v1"
STATE_FORMAT: Final = "consent-registry-state/v1"
DEFAULT_FOLDER: Final = Path("consent-receipts")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _dump(value: object) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


@dataclass(frozen=True)
class StoredReceipt:
    """A declaration the node logged, with everything needed to verify it offline later."""

    id: str
    index: int
    origin: str
    node: str
    verifier_key: str
    entry: bytes
    receipt: str
    files: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def record(self) -> Declaration:
        """The decoded declaration (its signature is checked by ``consent verify``)."""
        return decode_record(self.entry)

    def to_json(self) -> bytes:
        """The receipt file's content."""
        return _dump(
            {
                "format": RECEIPT_FORMAT,
                "id": self.id,
                "index": self.index,
                "origin": self.origin,
                "node": self.node,
                "verifier_key": self.verifier_key,
                "entry": self.entry.decode("utf-8"),
                "receipt": self.receipt,
                "files": {k: list(v) for k, v in sorted(self.files.items())},
            }
        )

    @classmethod
    def from_json(cls, data: bytes, *, where: str = "receipt") -> StoredReceipt:
        """Read a receipt file.

        Raises:
            ReceiptStoreError: not a receipt file, or its entry does not match its id.
        """
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict) or doc.get("format") != RECEIPT_FORMAT:
                raise ValueError(f"not a {RECEIPT_FORMAT} file")
            entry = str(doc["entry"]).encode("utf-8")
            stored = cls(
                id=str(doc["id"]),
                index=int(doc["index"]),
                origin=str(doc["origin"]),
                node=str(doc.get("node", "")),
                verifier_key=str(doc["verifier_key"]),
                entry=entry,
                receipt=str(doc["receipt"]),
                files={str(k): [str(p) for p in v] for k, v in dict(doc.get("files", {})).items()},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ReceiptStoreError(f"{where}: {exc}") from exc
        if record_id(entry) != stored.id:
            raise ReceiptStoreError(f"{where}: the entry does not match the id {stored.id}")
        return stored


class ReceiptStore:
    """The receipts folder of one creator (see the module docstring for its layout)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, StoredReceipt] | None = None

    @property
    def state_path(self) -> Path:
        """The resumable state file."""
        return self.folder / ".state.json"

    def path_of(self, declaration_id: str) -> Path:
        """Where the receipt of ``declaration_id`` is stored."""
        return self.folder / f"{declaration_id}.json"

    def _load(self) -> dict[str, StoredReceipt]:
        if self._cache is None:
            found: dict[str, StoredReceipt] = {}
            if self.folder.is_dir():
                for path in sorted(self.folder.glob("*.json")):
                    if len(path.stem) != 64:
                        continue
                    stored = StoredReceipt.from_json(path.read_bytes(), where=str(path))
                    found[stored.id] = stored
            self._cache = found
        return self._cache

    def __iter__(self) -> Iterator[StoredReceipt]:
        return iter(sorted(self._load().values(), key=lambda r: (r.origin, r.index)))

    def __len__(self) -> int:
        return len(self._load())

    def get(self, declaration_id: str) -> StoredReceipt | None:
        """The stored receipt of a declaration, if any."""
        return self._load().get(declaration_id)

    def add(self, stored: StoredReceipt) -> None:
        """Store a receipt (idempotent)."""
        write_atomic(self.path_of(stored.id), stored.to_json())
        self._load()[stored.id] = stored

    # --- pending declarations (the resumable state) -------------------------------------------

    def pending(self, creator: str) -> list[bytes]:
        """Entries signed by ``creator`` and not yet receipted, in the order they were planned.

        Raises:
            ReceiptStoreError: the state file is damaged or belongs to another creator.
        """
        if not self.state_path.exists():
            return []
        try:
            doc = json.loads(self.state_path.read_bytes())
            if doc.get("format") != STATE_FORMAT:
                raise ValueError(f"not a {STATE_FORMAT} file")
            if doc.get("creator") != creator:
                raise ReceiptStoreError(
                    f"{self.state_path} holds pending declarations of {doc.get('creator')}, "
                    f"not of {creator}: use that key, or another receipts folder"
                )
            entries = [str(item).encode("utf-8") for item in doc.get("pending", [])]
            for entry in entries:
                decode_record(entry)
        except (ValueError, AttributeError, ProtocolError) as exc:
            raise ReceiptStoreError(f"{self.state_path} is damaged: {exc}") from exc
        return [e for e in entries if self.get(record_id(e)) is None]

    def pending_files(self) -> dict[str, list[str]]:
        """The files behind the pending declarations' works: SHA-256 -> paths."""
        if not self.state_path.exists():
            return {}
        try:
            files = json.loads(self.state_path.read_bytes()).get("files", {})
            return {str(k): [str(p) for p in v] for k, v in dict(files).items()}
        except (ValueError, AttributeError, TypeError) as exc:
            raise ReceiptStoreError(f"{self.state_path} is damaged: {exc}") from exc

    def set_pending(
        self,
        creator: str,
        entries: Sequence[bytes],
        files: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Record the entries about to be submitted (replacing the previous list)."""
        if not entries:
            self.state_path.unlink(missing_ok=True)
            return
        doc = {
            "format": STATE_FORMAT,
            "creator": creator,
            "pending": [entry.decode("utf-8") for entry in entries],
            "files": {k: list(v) for k, v in sorted((files or {}).items())},
        }
        write_atomic(self.state_path, _dump(doc))

    # --- keys rotated to this one (spec §9.4.2) ----------------------------------------------

    def predecessors(self) -> list[str]:
        """The ``did:key``s this folder's key took over from by rotation, oldest first.

        Raises:
            ReceiptStoreError: the file is damaged.
        """
        path = self.folder / ".predecessors.json"
        if not path.exists():
            return []
        try:
            return [str(did) for did in json.loads(path.read_bytes())]
        except (ValueError, TypeError) as exc:
            raise ReceiptStoreError(f"{path} is damaged: {exc}") from exc

    def set_predecessors(self, dids: Sequence[str]) -> None:
        """Record the keys this folder's key took over from (oldest first)."""
        write_atomic(self.folder / ".predecessors.json", _dump(list(dict.fromkeys(dids))))

    # --- pinned node keys --------------------------------------------------------------------

    def pinned_key(self, node: str) -> str | None:
        """The verifier key pinned for the node at URL ``node``, if any."""
        path = self.folder / ".nodes.json"
        if not path.exists():
            return None
        try:
            value = json.loads(path.read_bytes()).get(node.rstrip("/"))
        except (ValueError, AttributeError) as exc:
            raise ReceiptStoreError(f"{path} is damaged: {exc}") from exc
        return str(value) if value else None

    def pin_key(self, node: str, verifier_key: str) -> None:
        """Pin ``verifier_key`` for the node at URL ``node``."""
        path = self.folder / ".nodes.json"
        nodes: dict[str, str] = {}
        if path.exists():
            try:
                nodes = dict(json.loads(path.read_bytes()))
            except (ValueError, TypeError) as exc:
                raise ReceiptStoreError(f"{path} is damaged: {exc}") from exc
        nodes[node.rstrip("/")] = verifier_key
        write_atomic(path, _dump(nodes))
