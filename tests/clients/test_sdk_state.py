"""The per-key record and the recovery phrase, in process: migration of an old receipts folder
shared by two keys, and phrases as people write them down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from consent.errors import KeyFileError
from consent.receipts import ReceiptStore, StoredReceipt
from consent.recovery import key_from_phrase, phrase_from_key, printable_backup
from consent.state import creator_folder, data_home, migrate_legacy

from registry.core.records import (
    encode_record,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
)
from tests.clients.sdk_support import creator_key


def _receipt(n: int, key_number: int) -> StoredReceipt:
    key = creator_key(key_number)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_760_000_000 + n,
        works=[new_work(f"{n:064x}")],
        prefs={"train-ai": "n"},
    )
    entry = encode_record(sign_declaration(record, key))
    return StoredReceipt(
        id=record_id(entry),
        index=n,
        origin="sdk.test/log",
        node="http://node.test",
        verifier_key="sdk.test/log+00000000+AAAA",
        entry=entry,
        receipt="c2sp.org/tlog-proof@v1\n",
        files={f"{n:064x}": [f"work{n}.png"]},
    )


def test_migration_moves_one_keys_receipts_and_leaves_the_others(tmp_path: Path) -> None:
    legacy = ReceiptStore(tmp_path / "consent-receipts")
    mine, theirs = creator_key(1).public_key.did, creator_key(2).public_key.did
    for n in range(3):
        legacy.add(_receipt(n, 1))
    legacy.add(_receipt(9, 2))
    legacy.pin_key("http://node.test", "sdk.test/log+00000000+AAAA")
    store = ReceiptStore(creator_folder(mine, tmp_path / "data"))
    migration = migrate_legacy(legacy.folder, store, mine)
    assert migration is not None
    assert len(migration.moved) == 3
    assert migration.left == 1
    assert migration.renamed_to is None  # another key's receipt is still there
    assert "1 receipts of other keys left in" in migration.message(store.folder)
    assert [r.files for r in ReceiptStore(store.folder)] == [
        {f"{n:064x}": [f"work{n}.png"]} for n in range(3)
    ]
    assert store.pinned_key("http://node.test") == "sdk.test/log+00000000+AAAA"
    # the other key's owner migrates next: now the old folder is emptied of keys, and renamed
    other = ReceiptStore(creator_folder(theirs, tmp_path / "data"))
    last = migrate_legacy(legacy.folder, other, theirs)
    assert last is not None
    assert last.renamed_to == tmp_path / "consent-receipts.migrated"
    assert not legacy.folder.exists()
    assert migrate_legacy(legacy.folder, other, theirs) is None  # nothing left to do


def test_data_home_and_creator_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSENT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "consent"
    monkeypatch.setenv("CONSENT_DATA_DIR", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "option") == tmp_path / "option"
    did = creator_key(1).public_key.did
    assert creator_folder(did, tmp_path) == tmp_path / did.removeprefix("did:key:") / "receipts"
    with pytest.raises(Exception, match="not a creator did:key"):
        creator_folder("did:web:example.com", tmp_path)


def test_recovery_phrases_as_people_write_them() -> None:
    key = creator_key(3)
    phrase = phrase_from_key(key)
    assert len(phrase.split()) == 24
    assert key_from_phrase(phrase).seed == key.seed
    assert key_from_phrase(phrase.upper().replace(" ", "\n  ")).seed == key.seed
    page = printable_backup(key)
    assert key_from_phrase(page).seed == key.seed  # the numbered page, columns and all
    words = phrase.split()
    with pytest.raises(KeyFileError, match="not a word of the recovery list: 'qwerty'"):
        key_from_phrase(" ".join(["qwerty", *words[1:]]))
    swapped = " ".join([words[1], words[0], *words[2:]])
    if swapped != phrase:
        with pytest.raises(KeyFileError, match="checksum"):
            key_from_phrase(swapped)
    assert json.dumps(phrase)  # plain ASCII words
