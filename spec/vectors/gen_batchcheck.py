"""Test vectors for spec §6.8.4: the binary batch check's answer bytes.

``generate()`` returns ``{"batch-check.json": ...}``: per case, the items' answers (None for an
unknown item) and the answer body as hex; invalid bodies with the error class raised when
decoding them for the given item count.
"""

from __future__ import annotations

from typing import Any

from registry.core.batchcheck import CheckAnswer, decode_answers, encode_answers
from registry.core.errors import ProtocolError

A = "aa" * 32
B = "0b" * 32
C = "c3" * 32

CASES: list[tuple[str, list[CheckAnswer | None]]] = [
    ("nothing known", [None, None, None]),
    ("one reserved item among unknown ones", [None, CheckAnswer({"train-ai": "n"}, [A]), None]),
    ("train-ai allowed", [CheckAnswer({"train-ai": "y"}, [B])]),
    ("known, nothing said about train-ai", [CheckAnswer({"search": "n"}, [C])]),
    (
        "several categories and declarations, sorted on the wire",
        [CheckAnswer({"train-ai": "n", "search": "y", "ai-use": "n"}, [C, A, B]), None],
    ),
    ("no items", []),
]

INVALID: list[tuple[str, str, int]] = [
    ("fewer status bytes than items", "00", 2),
    ("unknown status bit", "08", 1),
    ("train-ai bit without the known bit", "02", 1),
    ("details missing", "01", 1),
    ("preference value not y or n", "01" + "01" + "01" + "78" + "71" + "0000", 1),
    ("status disagrees with the details", "03" + "00" + "0000", 1),
    ("bytes after the answer", "0000", 1),
]


def generate() -> dict[str, object]:
    cases: list[dict[str, Any]] = []
    for name, answers in CASES:
        body = encode_answers(answers)
        assert decode_answers(body, len(answers)) == [
            None
            if a is None
            else CheckAnswer(dict(sorted(a.prefs.items())), sorted(a.declarations))
            for a in answers
        ]
        cases.append(
            {
                "name": name,
                "items": [
                    None
                    if a is None
                    else {
                        "prefs": dict(sorted(a.prefs.items())),
                        "declarations": sorted(a.declarations),
                    }
                    for a in answers
                ],
                "answer": body.hex(),
            }
        )
    for name, text, count in INVALID:
        try:
            decode_answers(bytes.fromhex(text), count)
        except ProtocolError as exc:
            cases.append(
                {"name": name, "answer": text, "count": count, "result": "invalid",
                 "error": type(exc).__name__}
            )  # fmt: skip
        else:  # pragma: no cover - every invalid case is rejected
            raise SystemExit(f"invalid case {name!r} decoded")
    return {
        "batch-check.json": {
            "description": (
                "Spec §6.8.4: the binary batch check's answer. items: per requested digest, "
                "null (nothing known) or its combined prefs and declaration ids; answer: the "
                "body, hex (N status bytes, then the details of the known items). Invalid "
                "cases: an answer body that does not decode for count items."
            ),
            "cases": cases,
        }
    }
