"""Test vectors for spec §6.8.4: the binary batch check's answer bytes.

``generate()`` returns ``{"batch-check.json": ...}``: per case, the items' answers (None for an
unknown item) and the answer body as hex; invalid bodies with the error class raised when
decoding them for the given item count. Cases with ``"identity": true`` are answers to
``?identity=1`` (ADR 0023): each known item's ``claims`` follow its declaration ids.
"""

from __future__ import annotations

from typing import Any

from registry.core.batchcheck import CheckAnswer, CheckClaim, decode_answers, encode_answers
from registry.core.errors import ProtocolError

A = "aa" * 32
B = "0b" * 32
C = "c3" * 32
E = "e1" * 32
F = "0f" * 32
K = "5c" * 32

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

IDENTITY_CASES: list[tuple[str, list[CheckAnswer | None]]] = [
    ("identity: nothing known", [None, None]),
    (
        "identity: an unverified claim, counted",
        [None, CheckAnswer({"train-ai": "n"}, [A], [CheckClaim(A, "none", [], True, [])])],
    ),
    (
        "identity: the owner's verified claim counts, a stranger's disputed one does not",
        [
            CheckAnswer(
                {"train-ai": "y"},
                [C, B],
                [
                    CheckClaim(C, "domain:example.com", [F, E], True, []),
                    CheckClaim(B, "none", [], False, [K]),
                ],
            ),
            None,
            CheckAnswer({"search": "n"}, [A], [CheckClaim(A, "platform:cara", [E], True, [])]),
        ],
    ),
]

_HIT = "01" + "00" + "0001" + A

INVALID: list[tuple[str, str, int]] = [
    ("fewer status bytes than items", "00", 2),
    ("unknown status bit", "08", 1),
    ("train-ai bit without the known bit", "02", 1),
    ("details missing", "01", 1),
    ("preference value not y or n", "01" + "01" + "01" + "78" + "71" + "0000", 1),
    ("status disagrees with the details", "03" + "00" + "0000", 1),
    ("bytes after the answer", "0000", 1),
]

INVALID_IDENTITY: list[tuple[str, str, int]] = [
    ("identity: the claims are missing", _HIT, 1),
    ("identity: empty level", _HIT + "0000" + "01" + "0000" + "0000", 1),
    ("identity: level not printable ASCII", _HIT + "0004" + "6e6f2065" + "01" + "0000" + "0000", 1),
    ("identity: unknown flag bit", _HIT + "0004" + "6e6f6e65" + "02" + "0000" + "0000", 1),
    ("identity: evidence truncated", _HIT + "0004" + "6e6f6e65" + "01" + "0001" + "e1" * 31, 1),
    ("identity: bytes after the answer", _HIT + "0004" + "6e6f6e65" + "01" + "00000000" + "00", 1),
]


def _item(answer: CheckAnswer | None, identity: bool) -> dict[str, Any] | None:
    if answer is None:
        return None
    out: dict[str, Any] = {
        "prefs": dict(sorted(answer.prefs.items())),
        "declarations": sorted(answer.declarations),
    }
    if identity:
        assert answer.claims is not None
        out["claims"] = [
            {
                "declaration": c.declaration,
                "level": c.level,
                "evidence": sorted(c.evidence),
                "counted": c.counted,
                "disputed_by": sorted(c.disputed_by),
            }
            for c in sorted(answer.claims, key=lambda c: c.declaration)
        ]
    return out


def _decoded(item: dict[str, Any] | None) -> CheckAnswer | None:
    if item is None:
        return None
    claims = item.get("claims")
    return CheckAnswer(
        item["prefs"],
        item["declarations"],
        None if claims is None else [CheckClaim(**c) for c in claims],
    )


def generate() -> dict[str, object]:
    cases: list[dict[str, Any]] = []
    valid = [(n, a, False) for n, a in CASES] + [(n, a, True) for n, a in IDENTITY_CASES]
    for name, answers, identity in valid:
        body = encode_answers(answers, identity=identity)
        items = [_item(a, identity) for a in answers]
        assert decode_answers(body, len(answers), identity=identity) == [_decoded(i) for i in items]
        case: dict[str, Any] = {"name": name, "items": items, "answer": body.hex()}
        if identity:
            case["identity"] = True
        cases.append(case)
    invalid = [(*c, False) for c in INVALID] + [(*c, True) for c in INVALID_IDENTITY]
    for name, text, count, identity in invalid:
        try:
            decode_answers(bytes.fromhex(text), count, identity=identity)
        except ProtocolError as exc:
            case = {"name": name, "answer": text, "count": count, "result": "invalid",
                    "error": type(exc).__name__}  # fmt: skip
            if identity:
                case["identity"] = True
            cases.append(case)
        else:  # pragma: no cover - every invalid case is rejected
            raise SystemExit(f"invalid case {name!r} decoded")
    return {
        "batch-check.json": {
            "description": (
                "Spec §6.8.4: the binary batch check's answer. items: per requested digest, "
                "null (nothing known) or its combined prefs and declaration ids; answer: the "
                "body, hex (N status bytes, then the details of the known items). identity: true "
                "marks an answer to ?identity=1, whose known items also carry claims (one per "
                "declaration: level, evidence, counted, disputed_by). Invalid cases: an answer "
                "body that does not decode for count items (with identity if marked)."
            ),
            "cases": cases,
        }
    }
