"""spec §2.11: a receiver refuses records dated beyond its clock plus a skew (time passed in)."""

from __future__ import annotations

import hashlib

import pytest

from registry.core.errors import FutureRecordError, RecordError
from registry.core.keys import PrivateKey
from registry.core.records import (
    DEFAULT_CLOCK_SKEW,
    Declaration,
    check_issued_at,
    new_declaration,
    new_work,
    sign_declaration,
)

KEY = PrivateKey.from_seed(hashlib.sha256(b"issue time").digest())
NOW = 1_800_000_000


def dated(issued_at: int) -> Declaration:
    record = new_declaration(
        creator=KEY.public_key.did,
        issued_at=issued_at,
        works=[new_work("ab" * 32)],
        prefs={"train-ai": "n"},
    )
    return sign_declaration(record, KEY)


@pytest.mark.parametrize("ahead", [-(10**9), 0, 1, DEFAULT_CLOCK_SKEW])
def test_records_up_to_the_skew_are_accepted(ahead: int) -> None:
    check_issued_at(dated(max(0, NOW + ahead)), now=NOW)


@pytest.mark.parametrize("issued_at", [NOW + DEFAULT_CLOCK_SKEW + 1, 2**53 - 1])
def test_records_beyond_the_skew_are_future_dated(issued_at: int) -> None:
    with pytest.raises(FutureRecordError, match="ahead of this receiver's clock") as info:
        check_issued_at(dated(issued_at), now=NOW)
    assert isinstance(info.value, RecordError)
    assert info.value.slug == "future-dated"


def test_the_skew_is_the_callers_choice() -> None:
    record = dated(NOW + 5)
    check_issued_at(record, now=NOW, skew=5)
    with pytest.raises(FutureRecordError):
        check_issued_at(record, now=NOW, skew=4)
