"""The binary batch check's answer format (spec §6.8.4): round trips and malformed input."""

from __future__ import annotations

from typing import Any

import pytest

from registry.core.batchcheck import (
    KNOWN,
    TRAIN_AI_N,
    TRAIN_AI_Y,
    CheckAnswer,
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
    if case.get("result") == "invalid":
        with pytest.raises(EncodingError):
            decode_answers(body, case["count"])
        return
    items = [
        None if i is None else CheckAnswer(i["prefs"], i["declarations"]) for i in case["items"]
    ]
    assert encode_answers(items) == body
    assert decode_answers(body, len(items)) == items
