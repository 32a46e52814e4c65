"""Tests for registry.core.records (spec §2): the records.json vectors (valid and invalid
entries), the decode procedure of spec §2.7 (fast path against the step-by-step reference),
signing, limits, construction helpers, and properties: arbitrary or mutated bytes only ever
raise ProtocolError subclasses."""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core import errors
from registry.core.encoding import b64encode, canonical_json
from registry.core.errors import (
    KeyFormatError,
    LimitError,
    NonCanonicalError,
    PreferenceError,
    ProtocolError,
    RecordError,
    SignatureError,
)
from registry.core.keys import PrivateKey
from registry.core.records import (
    MAX_ENTRY_BYTES,
    MAX_PDQ_VARIANTS,
    MAX_PREFS,
    MAX_SUPERSEDES,
    MAX_URLS_PER_WORK,
    MAX_WORKS,
    RECORD_TYPES,
    RECORD_VERSION,
    Declaration,
    Rotation,
    Work,
    _decode_stepwise,
    decode_record,
    decode_stored,
    decode_stored_entry,
    encode_record,
    entry_size,
    load_record,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
    sign_record,
    signing_input,
    validate_record,
    verify_record,
)
from tests.core.vectors import generated, vector_cases

ALICE = PrivateKey.from_seed(hashlib.sha256(b"test alice").digest())
BOB = PrivateKey.from_seed(hashlib.sha256(b"test bob").digest())


def sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def declaration(key: PrivateKey = ALICE, **changes: Any) -> Declaration:
    fields: dict[str, Any] = {
        "creator": key.public_key.did,
        "issued_at": 1_700_000_000,
        "works": [new_work(sha("w1"))],
        "prefs": {"train-ai": "n"},
    }
    fields.update(changes)
    return new_declaration(**fields)


# --- vectors --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", vector_cases("records.json"))
def test_record_vectors(case: dict[str, Any]) -> None:
    entry = bytes.fromhex(case["entry_hex"]) if "entry_hex" in case else case["entry"].encode()
    if case["result"] == "valid":
        record = load_record(entry)
        assert record_id(entry) == case["record_id"]
        assert signing_input(record) == case["signing_input"].encode()
        assert encode_record(record) == entry
        assert _decode_stepwise(entry) == record
        assert decode_stored(entry) == record  # what an index reads back (spec §6.11 item 3)
        assert len(record.works) == case["works"]
        assert entry_size(record) == len(entry) == case["size"]
        return
    with pytest.raises(getattr(errors, case["error"])) as info:
        load_record(entry)
    assert type(info.value).__name__ == case["error"]
    # The fast decoder and the literal spec §2.7 procedure agree on the error class.
    if len(entry) <= MAX_ENTRY_BYTES:
        try:
            decode_record(entry)
        except ProtocolError as exc:
            with pytest.raises(type(exc)):
                _decode_stepwise(entry)


def test_record_vectors_cover_every_decode_step_and_error_class() -> None:
    cases = generated()["records.json"]["cases"]
    assert {case.get("error") for case in cases} == {
        None,
        "LimitError",
        "EncodingError",
        "NonCanonicalError",
        "RecordError",
        "KeyFormatError",
        "PreferenceError",
        "SignatureError",
    }
    largest = next(case for case in cases if case["name"] == "largest-sha256-only")
    assert largest["works"] == 836  # the bound quoted in spec §2.6
    images = next(case for case in cases if case["name"] == "largest-images-with-variants")
    assert images["works"] == 48  # spec §2.6: images as the SDK declares them


def test_new_work_sorts_pdq_variants_and_drops_the_pdq_itself() -> None:
    work = new_work(sha("w"), pdq=sha("p"), pdq_quality=70,
                    pdq_variants=[sha("b"), sha("p"), sha("a"), sha("b")])  # fmt: skip
    assert work.pdq_variants == tuple(sorted({sha("a"), sha("b")}))
    record = new_declaration(
        creator=ALICE.public_key.did, issued_at=1, works=[work], prefs={"train-ai": "n"}
    )
    entry = encode_record(sign_declaration(record, ALICE))
    assert b'"pdq_variants":["' in entry
    assert load_record(entry).works[0].pdq_variants == work.pdq_variants


# --- signing and verification ---------------------------------------------------------------


def test_sign_encode_load_round_trip() -> None:
    record = declaration()
    signed = sign_declaration(record, ALICE)
    entry = encode_record(signed)
    assert load_record(entry) == signed
    assert decode_record(entry) == signed
    verify_record(signed)
    assert signing_input(signed) == signing_input(record)
    assert signing_input(record) == canonical_json(
        {k: v for k, v in json.loads(entry).items() if k != "sig"}
    )
    assert record_id(entry) == hashlib.sha256(entry).hexdigest()
    assert entry_size(record) == entry_size(signed) == len(entry)


def test_sign_requires_the_creator_key() -> None:
    with pytest.raises(RecordError, match="signing key"):
        sign_declaration(declaration(ALICE), BOB)


def test_verify_rejects_a_signature_by_another_key_and_changed_content() -> None:
    signed = sign_declaration(declaration(), ALICE)
    forged = msgspec.structs.replace(signed, sig=sign_declaration(declaration(BOB), BOB).sig)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_record(forged)
    changed = msgspec.structs.replace(signed, prefs={"train-ai": "y"})
    with pytest.raises(SignatureError):
        verify_record(changed)
    with pytest.raises(SignatureError, match="not signed"):
        verify_record(declaration())


def test_encode_record_requires_a_signature() -> None:
    with pytest.raises(SignatureError, match="not signed"):
        encode_record(declaration())


def test_signing_an_oversize_declaration_raises_limit_error() -> None:
    works = [new_work(sha(f"w{i}")) for i in range(840)]
    record = declaration(works=works)
    assert entry_size(record) > MAX_ENTRY_BYTES
    with pytest.raises(LimitError, match="65535"):
        sign_declaration(record, ALICE)
    fitting = declaration(works=works[:836])
    assert len(encode_record(sign_declaration(fitting, ALICE))) <= MAX_ENTRY_BYTES


# --- construction helpers -------------------------------------------------------------------


def test_new_declaration_sorts_and_deduplicates() -> None:
    works = [new_work(sha(f"w{i}")) for i in range(5)]
    record = declaration(
        works=reversed(works),
        prefs={"train-ai": "n", "search": "y"},
        supersedes=[sha("b"), sha("a"), sha("b")],
    )
    assert [w.sha256 for w in record.works] == sorted(w.sha256 for w in works)
    assert record.supersedes == tuple(sorted({sha("a"), sha("b")}))
    assert list(record.prefs) == ["search", "train-ai"]
    assert record.v == RECORD_VERSION
    with pytest.raises(RecordError, match="sorted and unique"):
        declaration(works=[works[0], works[0]])


def test_new_work_normalises_and_sorts_urls() -> None:
    work = new_work(
        sha("w"),
        urls=["HTTPS://B.example/x", "https://a.example/./y#frag", "https://b.example/x"],
    )
    assert work.urls == ("https://a.example/y", "https://b.example/x")
    with pytest.raises(RecordError):
        new_work(sha("w"), urls=["ftp://a.example/"])


def test_withdrawal() -> None:
    record = declaration(prefs={}, withdraw=True, supersedes=[sha("old")])
    entry = encode_record(sign_declaration(record, ALICE))
    assert b'"withdraw":true' in entry
    assert load_record(entry).withdraw is True


def test_defaults_are_omitted_from_the_encoding() -> None:
    entry = encode_record(sign_declaration(declaration(), ALICE))
    for name in (b"withdraw", b"supersedes", b"urls", b"pdq", b"iscc", b"media_type"):
        assert name not in entry


# --- validation -----------------------------------------------------------------------------


def raw_record(**changes: Any) -> Declaration:
    """A Declaration built without the helpers, so it can break every rule."""
    fields: dict[str, Any] = {
        "v": 1,
        "creator": ALICE.public_key.did,
        "issued_at": 0,
        "works": (Work(sha256=sha("w")),),
        "prefs": {"train-ai": "n"},
    }
    fields.update(changes)
    return Declaration(**fields)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"v": 2}, RecordError, "version"),
        ({"creator": "did:key:zzz"}, KeyFormatError, "did:key"),
        ({"issued_at": -1}, RecordError, "issued_at"),
        ({"issued_at": 2**53}, RecordError, "issued_at"),
        ({"works": ()}, RecordError, "at least one work"),
        ({"works": tuple(Work(sha256=f"{i:064x}") for i in range(MAX_WORKS + 1))}, LimitError,
         "works"),
        ({"works": (Work(sha256="A" * 64),)}, RecordError, "sha256"),
        ({"works": (Work(sha256=sha("w"), pdq="x"),)}, RecordError, "pdq is not"),
        ({"works": (Work(sha256=sha("w"), pdq=sha("p"), pdq_quality=-1),)}, RecordError,
         "pdq_quality"),
        ({"works": (Work(sha256=sha("w"), pdq_quality=1),)}, RecordError, "without pdq"),
        ({"works": (Work(sha256=sha("w"), pdq_variants=(sha("v"),)),)}, RecordError,
         "pdq_variants without pdq"),
        ({"works": (Work(sha256=sha("w"), pdq=sha("p"), pdq_quality=60, pdq_variants=tuple(
            f"{i:064x}" for i in range(MAX_PDQ_VARIANTS + 1))),)}, LimitError, "pdq_variants"),
        ({"works": (Work(sha256=sha("w"), pdq=sha("p"), pdq_quality=60,
                         pdq_variants=("0" * 63,)),)}, RecordError, "non-hash"),
        ({"works": (Work(sha256=sha("w"), pdq=sha("p"), pdq_quality=60,
                         pdq_variants=(sha("p"),)),)}, RecordError, "repeats pdq"),
        ({"works": (Work(sha256=sha("w"), pdq=sha("p"), pdq_quality=60,
                         pdq_variants=("1" * 64, "0" * 64)),)}, RecordError, "sorted"),
        ({"works": (Work(sha256=sha("w"), iscc="ISCC:" + "A" * 17),)}, RecordError,
         "not valid base32"),
        ({"works": (Work(sha256=sha("w"), iscc="ISCC:" + "A" * 17 + "B"),)}, RecordError,
         "not canonical base32"),
        ({"works": (Work(sha256=sha("w"), iscc="ISCC:" + "A" * 124),)}, RecordError, "iscc"),
        ({"works": (Work(sha256=sha("w"), urls=tuple(
            f"https://e.example/{i:02d}" for i in range(MAX_URLS_PER_WORK + 1))),)},
         LimitError, "urls"),
        ({"works": (Work(sha256=sha("w"), urls=("https://E.example/",)),)}, RecordError,
         "not normalised"),
        ({"works": (Work(sha256=sha("w"), media_type="image"),)}, RecordError, "media_type"),
        ({"works": (Work(sha256=sha("w"), media_type="a/" + "b" * 128),)}, RecordError,
         "media_type"),
        ({"prefs": {f"k{i}": "n" for i in range(MAX_PREFS + 1)}}, LimitError, "preferences"),
        ({"prefs": {"1abc": "n"}}, PreferenceError, "category"),
        ({"prefs": {"a" * 65: "n"}}, PreferenceError, "category"),
        ({"prefs": {"train-ai": "Y"}}, PreferenceError, "'y' or 'n'"),
        ({"prefs": {}}, RecordError, "at least one preference"),
        ({"withdraw": True}, RecordError, "withdrawal"),
        ({"supersedes": tuple(f"{i:064x}" for i in range(MAX_SUPERSEDES + 1))}, LimitError,
         "superseded"),
        ({"supersedes": ("ab",)}, RecordError, "supersedes"),
        ({"supersedes": (sha("b"), sha("a"))} if sha("b") > sha("a") else
         {"supersedes": (sha("a"), sha("b"))}, RecordError, "sorted"),
    ],
)  # fmt: skip
def test_validation_rules(changes: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        validate_record(raw_record(**changes), signed=False)


def test_valid_edge_values() -> None:
    validate_record(
        raw_record(
            issued_at=2**53 - 1,
            works=(
                Work(
                    sha256=sha("w"),
                    pdq="0" * 64,
                    pdq_quality=100,
                    pdq_variants=tuple(f"{i + 1:064x}" for i in range(MAX_PDQ_VARIANTS)),
                    iscc="ISCC:" + "A" * 16,
                    urls=("http://a.example/",),
                    media_type="application/vnd.example+json",
                ),
            ),
            prefs={"*": "y", "a" * 64: "n", "x.y_z-1*": "n"},
        ),
        signed=False,
    )


@pytest.mark.parametrize(
    ("sig", "match"),
    [("", "not signed"), ("!!", "not canonical base64"), (b64encode(bytes(63)), "64 bytes")],
)
def test_signature_format(sig: str, match: str) -> None:
    with pytest.raises(SignatureError, match=match):
        validate_record(raw_record(sig=sig))


# --- decoding -------------------------------------------------------------------------------


def test_decode_checks_size_before_parsing() -> None:
    with pytest.raises(LimitError):
        decode_record(b"\xff" * (MAX_ENTRY_BYTES + 1))  # not even UTF-8: size comes first


def test_decode_stepwise_names_each_step() -> None:
    signed = sign_declaration(declaration(), ALICE)
    entry = encode_record(signed)
    value = json.loads(entry)
    with pytest.raises(NonCanonicalError, match="step 3"):
        _decode_stepwise(entry + b" ")
    with pytest.raises(RecordError, match="JSON object"):
        _decode_stepwise(b'"declaration"')
    with pytest.raises(RecordError, match="unknown record type None"):
        _decode_stepwise(canonical_json({k: v for k, v in value.items() if k != "type"}))
    with pytest.raises(RecordError, match="unknown record type 7"):
        _decode_stepwise(canonical_json({**value, "type": 7}))
    with pytest.raises(RecordError, match="schema"):
        _decode_stepwise(canonical_json({**value, "extra": 1}))
    with pytest.raises(NonCanonicalError, match="step 6"):
        _decode_stepwise(canonical_json({**value, "withdraw": False}))
    assert _decode_stepwise(entry) == signed


def test_decode_stored_checks_shape_only() -> None:
    """Bytes damaged at rest raise instead of decoding to a value of the wrong type; field
    rules are not re-checked (spec §6.11 item 3), which is why only stored entries use it."""
    signed = sign_declaration(declaration(), ALICE)
    entry = encode_record(signed)
    assert decode_stored(entry) == signed
    with pytest.raises(errors.EncodingError, match="not JSON"):
        decode_stored(entry[:-1])
    with pytest.raises(errors.EncodingError, match="not JSON"):
        decode_stored(b"\xff" + entry)
    value = json.loads(entry)
    with pytest.raises(RecordError, match="not a record"):
        decode_stored(canonical_json({**value, "works": "none"}))
    with pytest.raises(RecordError, match="not a record"):
        decode_stored(canonical_json({**value, "type": "other"}))
    # Field rules are decode_record's: an upper-case hash has the right shape only.
    upper = canonical_json({**value, "creator": value["creator"].upper()})
    assert decode_stored(upper).creator == value["creator"].upper()
    with pytest.raises(ProtocolError):
        decode_record(upper)


def test_decode_stored_entry_reads_every_kind_by_shape() -> None:
    """The same for entries of any kind (spec §9.3): a stored trust record decodes to its type;
    damaged bytes raise."""
    signed = sign_declaration(declaration(), ALICE)
    entry = encode_record(signed)
    assert decode_stored_entry(entry) == signed
    rotation = sign_record(
        Rotation(v=1, creator=ALICE.public_key.did, new_key=BOB.public_key.did, issued_at=5),
        ALICE,
    )
    assert decode_stored_entry(encode_record(rotation)) == rotation
    with pytest.raises(errors.EncodingError, match="not JSON"):
        decode_stored_entry(entry[:-1])
    with pytest.raises(RecordError, match="not a record"):
        decode_stored_entry(canonical_json({**json.loads(entry), "type": "other"}))


def test_record_types_table() -> None:
    assert dict(RECORD_TYPES) == {"declaration": Declaration}


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        load_record(data)


ENTRY = encode_record(
    sign_declaration(
        declaration(
            works=[
                new_work(sha("a"), pdq=sha("p"), pdq_quality=5, urls=["https://x.example/"]),
                new_work(sha("b"), iscc="ISCC:KACYPXW445FTYNJ3", media_type="image/png"),
            ],
            supersedes=[sha("old")],
        ),
        ALICE,
    )
)


@settings(max_examples=300)
@given(st.integers(0, len(ENTRY) - 1), st.binary(min_size=0, max_size=3), st.integers(0, 3))
def test_mutated_entries_are_rejected_with_protocol_errors(
    position: int, insert: bytes, delete: int
) -> None:
    mutated = ENTRY[:position] + insert + ENTRY[position + delete :]
    if mutated == ENTRY:
        assert load_record(mutated) is not None
        return
    with pytest.raises(ProtocolError):
        load_record(mutated)


hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
works = st.builds(
    new_work,
    hex64,
    urls=st.lists(
        st.sampled_from(["https://a.example/", "http://b.example/x?y=1", "https://c.example/%20"]),
        max_size=3,
    ),
    media_type=st.sampled_from([None, "image/png", "text/plain"]),
)


@given(
    st.lists(works, min_size=1, max_size=5, unique_by=lambda w: w.sha256),
    st.dictionaries(st.sampled_from(["train-ai", "search", "ai", "*"]), st.sampled_from("yn")),
    st.integers(0, 2**53 - 1),
    st.lists(hex64, max_size=3),
)
def test_fast_encoding_is_rfc8785(
    work_list: list[Work], prefs: dict[str, str], issued_at: int, supersedes: list[str]
) -> None:
    record = declaration(
        works=work_list,
        prefs=prefs,
        issued_at=issued_at,
        supersedes=supersedes,
        withdraw=not prefs,
    )
    entry = encode_record(sign_declaration(record, ALICE))
    assert entry == canonical_json(msgspec.to_builtins(load_record(entry)))
    assert _decode_stepwise(entry) == load_record(entry)
