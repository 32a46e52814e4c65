"""The binary batch check's answer format (spec §6.8.4): round trips and malformed input."""

from __future__ import annotations

from typing import Any

import pytest

from registry.core.batchcheck import (
    KNOWN,
    TRAIN_AI_N,
    TRAIN_AI_Y,
    CheckAnswer,
    CheckClaim,
    decode_answers,
    encode_answers,
    split_digests,
)
from registry.core.errors import EncodingError
from tests.core.vectors import vector_cases

A = "aa" * 32
B = "0b" * 32


def test_round_trip_and_layout() -> None:
    answers = [
        None,
        CheckAnswer({"train-ai": "n", "search": "y"}, [B, A]),
        CheckAnswer({"train-ai": "y"}, [A]),
        CheckAnswer({}, [B]),
        None,
    ]
    data = encode_answers(answers)
    assert data[:5] == bytes([0, KNOWN | TRAIN_AI_N, KNOWN | TRAIN_AI_Y, KNOWN, 0])
    # the first known item: 2 prefs, sorted; 2 ids, sorted
    assert data[5:].startswith(b"\x02\x06searchy\x08train-ain\x00\x02" + bytes.fromhex(B + A))
    decoded = decode_answers(data, 5)
    assert decoded[1] == CheckAnswer({"search": "y", "train-ai": "n"}, [B, A])
    assert decoded[0] is None
    assert decoded[4] is None
    assert decoded[2:4] == answers[2:4]
    assert encode_answers([]) == b""
    assert decode_answers(b"", 0) == []


def test_split_digests() -> None:
    assert split_digests(bytes.fromhex(A + B)) == [A, B]
    with pytest.raises(EncodingError, match="32-byte"):
        split_digests(b"\x00" * 33)


@pytest.mark.parametrize(
    "answer",
    [
        CheckAnswer({"": "n"}, []),
        CheckAnswer({"x" * 256: "n"}, []),
        CheckAnswer({"train-ai": "maybe"}, []),
        CheckAnswer({}, ["zz" * 32]),
        CheckAnswer({}, ["ab"]),
        CheckAnswer({}, [A] * 0x10000),
    ],
)
def test_encode_rejects_what_the_format_cannot_carry(answer: CheckAnswer) -> None:
    with pytest.raises(EncodingError):
        encode_answers([answer])


@pytest.mark.parametrize(
    ("data", "count", "message"),
    [
        (b"\x00", 2, "status bytes"),
        (b"\x08", 1, "invalid status"),
        (b"\x02", 1, "invalid status"),
        (b"\x01", 1, "truncated"),
        (b"\x01\x01\x01xq\x00\x00", 1, "preference value"),
        (b"\x03\x00\x00\x00", 1, "disagrees"),
        (b"\x00\x00", 1, "after the answer"),
    ],
)
def test_decode_rejects_malformed_answers(data: bytes, count: int, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        decode_answers(data, count)


@pytest.mark.parametrize("case", vector_cases("batch-check.json", "gen_batchcheck"))
def test_vectors(case: dict[str, Any]) -> None:
    body = bytes.fromhex(case["answer"])
    identity = case.get("identity", False)
    if case.get("result") == "invalid":
        with pytest.raises(EncodingError):
            decode_answers(body, case["count"], identity=identity)
        return
    items = [
        None
        if i is None
        else CheckAnswer(
            i["prefs"],
            i["declarations"],
            [CheckClaim(**c) for c in i["claims"]] if identity else None,
        )
        for i in case["items"]
    ]
    assert encode_answers(items, identity=identity) == body
    assert decode_answers(body, len(items), identity=identity) == items


# -- with identity (spec §6.8.4, ADR 0023) ---------------------------------------------------

C = "c3" * 32
E1 = "e1" * 32
E2 = "0e" * 32
K1 = "5c" * 32


def _with_claims() -> list[CheckAnswer | None]:
    return [
        None,
        CheckAnswer(
            {"train-ai": "n"},
            [B, A],
            [
                CheckClaim(B, "none", [], False, [K1]),
                CheckClaim(A, "domain:example.com", [E1, E2], True, []),
            ],
        ),
        None,
        CheckAnswer({}, [C], [CheckClaim(C, "platform:cara", [E1], True, [])]),
    ]


def test_identity_round_trip_and_layout() -> None:
    answers = _with_claims()
    data = encode_answers(answers, identity=True)
    plain = encode_answers(answers)
    assert plain == encode_answers([None if a is None else CheckAnswer(*a[:2]) for a in answers])
    assert data[:4] == plain[:4] == bytes([0, KNOWN | TRAIN_AI_N, 0, KNOWN])
    first = b"\x01\x08train-ain\x00\x02" + bytes.fromhex(B + A)
    # claims in the order of the sorted declaration ids; evidence ids sorted
    first += b"\x00\x04none\x00\x00\x00\x00\x01" + bytes.fromhex(K1)
    first += b"\x00\x12domain:example.com\x01\x00\x02" + bytes.fromhex(E2 + E1) + b"\x00\x00"
    second = b"\x00\x00\x01" + bytes.fromhex(C)
    second += b"\x00\x0dplatform:cara\x01\x00\x01" + bytes.fromhex(E1) + b"\x00\x00"
    assert data[4:] == first + second
    decoded = decode_answers(data, 4, identity=True)
    hit = decoded[1]
    assert hit is not None
    assert hit.claims is not None
    assert hit.declarations == [B, A]
    assert hit.claims == [
        CheckClaim(B, "none", [], False, [K1]),
        CheckClaim(A, "domain:example.com", [E2, E1], True, []),
    ]
    assert decoded[3] == answers[3]
    assert decoded[0] is None
    assert decoded[2] is None
    # without identity the same hits decode without claims
    assert [a if a is None else a.claims for a in decode_answers(plain, 4)] == [None] * 4
    assert encode_answers([None, None], identity=True) == b"\x00\x00"
    assert decode_answers(b"\x00", 1, identity=True) == [None]


@pytest.mark.parametrize(
    "answer",
    [
        CheckAnswer({}, [A]),
        CheckAnswer({}, [A], []),
        CheckAnswer({}, [A], [CheckClaim(B, "none", [], True, [])]),
        CheckAnswer({}, [A], [CheckClaim(A, "none", [], True, [])] * 2),
        CheckAnswer({}, [A], [CheckClaim(A, "", [], True, [])]),
        CheckAnswer({}, [A], [CheckClaim(A, "domain:ex ample", [], True, [])]),
        CheckAnswer({}, [A], [CheckClaim(A, "platform:c\u00e4ra", [], True, [])]),
        CheckAnswer({}, [A], [CheckClaim(A, "x" * 0x10000, [], True, [])]),
        CheckAnswer({}, [A], [CheckClaim(A, "none", ["ab"], True, [])]),
        CheckAnswer({}, [A], [CheckClaim(A, "none", [], True, ["zz" * 32])]),
        CheckAnswer({}, [A], [CheckClaim(A, "none", [E1] * 0x10000, True, [])]),
    ],
)
def test_identity_encode_rejects_what_the_format_cannot_carry(answer: CheckAnswer) -> None:
    with pytest.raises(EncodingError):
        encode_answers([answer], identity=True)


def test_many_evidence_ids_fit() -> None:
    """A claim with more than 255 evidence ids (say, many attestations of one work) is carried:
    counts are u16, so one heavily attested work cannot make a whole batch unanswerable."""
    evidence = sorted(f"{i:064x}" for i in range(300))
    answer = CheckAnswer({}, [A], [CheckClaim(A, "platform:cara", evidence, True, evidence)])
    assert decode_answers(encode_answers([answer], identity=True), 1, identity=True) == [answer]


_HIT = b"\x01\x00\x00\x01" + bytes.fromhex(A)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_HIT, "truncated"),
        (_HIT + b"\x00", "truncated"),
        (_HIT + b"\x00\x04non", "truncated"),
        (_HIT + b"\x00\x00\x01\x00\x00\x00\x00", "invalid level"),
        (_HIT + b"\x00\x04no e\x01\x00\x00\x00\x00", "invalid level"),
        (_HIT + b"\x00\x04n\xc3\xa9e\x01\x00\x00\x00\x00", "invalid level"),
        (_HIT + b"\x00\x04none\x02\x00\x00\x00\x00", "invalid claim flags"),
        (_HIT + b"\x00\x04none\x81\x00\x00\x00\x00", "invalid claim flags"),
        (_HIT + b"\x00\x04none\x01\x00\x01" + b"\xe1" * 31, "truncated"),
        (_HIT + b"\x00\x04none\x01\x00\x00\x00\x02" + b"\x5c" * 32, "truncated"),
        (_HIT + b"\x00\x04none\x01\x00\x00\x00\x00\x00", "after the answer"),
    ],
)
def test_identity_decode_rejects_malformed_answers(data: bytes, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        decode_answers(data, 1, identity=True)
    assert decode_answers(_HIT, 1) == [CheckAnswer({}, [A])]
