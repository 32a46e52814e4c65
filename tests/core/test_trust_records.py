"""Tests for the trust record kinds of registry.core.records (spec §9.3): the
trust-records.json vectors, signing by the right key, packed hashes, the limits, and that the
declaration-only decoder keeps refusing them (spec §0.3)."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import errors
from registry.core.encoding import b64encode
from registry.core.errors import LimitError, ProtocolError, RecordError, SignatureError
from registry.core.keys import PrivateKey
from registry.core.records import (
    ENTRY_TYPES,
    MAX_ATTESTED_HASHES,
    MAX_ENTRY_BYTES,
    MAX_WORKS,
    Binding,
    CounterStatement,
    PlatformAttestation,
    Revocation,
    Rotation,
    _decode_stepwise,
    attested_hashes,
    check_issued_at,
    decode_entry,
    decode_record,
    encode_record,
    entry_size,
    load_entry,
    new_work,
    pack_hashes,
    record_id,
    sign_record,
    signer_of,
    signing_input,
    validate_record,
    verify_record,
)
from tests.core.vectors import generated, vector_cases

ALICE = PrivateKey.from_seed(hashlib.sha256(b"test alice").digest())
BOB = PrivateKey.from_seed(hashlib.sha256(b"test bob").digest())
PLATFORM = PrivateKey.from_seed(hashlib.sha256(b"test platform").digest())


def sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def attestation(**changes: Any) -> PlatformAttestation:
    fields: dict[str, Any] = {
        "v": 1,
        "platform": PLATFORM.public_key.did,
        "account": "@alice",
        "creator": ALICE.public_key.did,
        "issued_at": 1_700_000_000,
    }
    fields.update(changes)
    return PlatformAttestation(**fields)


@pytest.mark.parametrize("case", vector_cases("trust-records.json"))
def test_trust_record_vectors(case: dict[str, Any]) -> None:
    entry = case["entry"].encode()
    if case["result"] == "valid":
        record = load_entry(entry)
        assert record.__struct_config__.tag == case["type"]
        assert signer_of(record) == case["signer"]
        assert record_id(entry) == case["record_id"]
        assert signing_input(record) == case["signing_input"].encode()
        assert encode_record(record) == entry
        assert entry_size(record) == len(entry) == case["size"]
        assert _decode_stepwise(entry, ENTRY_TYPES) == record
        # a declaration-only reader refuses it explicitly (spec §0.3)
        with pytest.raises(RecordError, match="unknown record type"):
            decode_record(entry)
        return
    with pytest.raises(getattr(errors, case["error"])) as info:
        load_entry(entry)
    assert type(info.value).__name__ == case["error"]
    if len(entry) <= MAX_ENTRY_BYTES:
        try:
            decode_entry(entry)
        except ProtocolError as exc:
            with pytest.raises(type(exc)):
                _decode_stepwise(entry, ENTRY_TYPES)


def test_trust_vectors_cover_every_kind_and_state_the_bulk_bound() -> None:
    cases = generated()["trust-records.json"]["cases"]
    assert {case["type"] for case in cases if case["result"] == "valid"} == set(ENTRY_TYPES) - {
        "declaration"
    }
    largest = next(case for case in cases if case["name"] == "largest-packed-attestation")
    assert largest["hashes"] == 1528  # the bound quoted in spec §9.3.2


def test_sign_record_requires_the_signer_key() -> None:
    rotation = Rotation(v=1, creator=ALICE.public_key.did, new_key=BOB.public_key.did, issued_at=5)
    with pytest.raises(RecordError, match="signing key"):
        sign_record(rotation, BOB)
    signed = sign_record(rotation, ALICE)
    verify_record(signed)
    forged = msgspec.structs.replace(signed, new_key=PLATFORM.public_key.did)
    with pytest.raises(SignatureError):
        verify_record(forged)


def test_sign_record_refuses_an_entry_over_the_limit() -> None:
    record = attestation(hashes=pack_hashes(sha(f"h{i}") for i in range(1600)))
    validate_record(record, signed=False)
    with pytest.raises(LimitError):
        sign_record(record, PLATFORM)


def test_pack_hashes_sorts_deduplicates_and_round_trips() -> None:
    digests = [sha("b"), sha("a"), sha("b")]
    packed = pack_hashes(digests)
    assert attested_hashes(attestation(hashes=packed)) == tuple(sorted({sha("a"), sha("b")}))
    assert attested_hashes(attestation()) == ()
    with pytest.raises(RecordError, match="64 lowercase hex"):
        pack_hashes(["ABC"])


def test_attestation_limits() -> None:
    too_many = pack_hashes(sha(f"h{i}") for i in range(MAX_ATTESTED_HASHES + 1))
    with pytest.raises(LimitError, match="packed hashes"):
        validate_record(attestation(hashes=too_many), signed=False)
    works = tuple(sorted((new_work(sha(f"w{i}")) for i in range(MAX_WORKS + 1)),
                         key=lambda w: w.sha256))  # fmt: skip
    with pytest.raises(LimitError, match="works"):
        validate_record(attestation(works=works), signed=False)


def test_every_kind_obeys_the_clock_skew_check() -> None:
    counter = CounterStatement(
        v=1, creator=ALICE.public_key.did, target=sha("t"), statement="not-rightsholder",
        issued_at=2_000,
    )  # fmt: skip
    check_issued_at(counter, now=2_000)
    with pytest.raises(errors.FutureRecordError):
        check_issued_at(counter, now=1_000, skew=10)


def test_signer_of_each_kind() -> None:
    node = PrivateKey.from_seed(bytes(32)).public_key.did
    a = ALICE.public_key.did
    binding = Binding(v=1, node=node, origin="o", domain="a.example", creator=a, issued_at=1,
                      evidence=sha("e"))  # fmt: skip
    assert signer_of(binding) == node
    assert signer_of(attestation()) == PLATFORM.public_key.did
    assert signer_of(Revocation(v=1, creator=a, key=a, since=0, issued_at=1)) == a


@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_raise_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_entry(b'{"type":"rotation",' + data)


def test_hashes_of_the_wrong_length_are_refused_when_unpacking() -> None:
    with pytest.raises(RecordError, match="whole 32-byte"):
        attested_hashes(attestation(hashes=b64encode(bytes(33))))
