"""Test vectors for spec §3: ``Content-Usage`` processing, the mapping table, state resolution.

``generate()`` returns ``{"content-usage.json": ..., "mapping.json": ..., "resolution.json":
...}``. Resolution cases use real signed declarations: creator keys come from the fixed seeds
``bytes([i]) * 32`` and issue times are fixed, so the output is deterministic (Ed25519 signing is
deterministic). Declaration ids are record ids (spec §2): lowercase hex SHA-256 of the entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from registry.core import prefs
from registry.core.errors import ProtocolError
from registry.core.keys import PrivateKey
from registry.core.records import (
    Declaration,
    encode_record,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
)
from registry.core.state import ConsentState, subjects_of

# (name, field value); the expected result is computed by registry.core.prefs and reviewed
# against spec §3.3 in tests/core/test_prefs.py.
CONTENT_USAGE: list[tuple[str, str]] = [
    ("attach draft example", "train-ai=n"),
    ("vocab draft example", "train-ai=y, search=n"),
    ("empty field", ""),
    ("only spaces", "   "),
    ("leading and trailing spaces", "  train-ai=n  "),
    ("no space after comma", "train-ai=n,search=y"),
    ("tabs around comma", "train-ai=n\t,\tsearch=y"),
    ("unknown category kept", "train-ai=n, x-future=y"),
    ("unknown value token", "train-ai=maybe"),
    ("string value is unknown", 'train-ai="n"'),
    ("integer value is unknown", "train-ai=0"),
    ("decimal value is unknown", "train-ai=1.5"),
    ("boolean value is unknown", "train-ai=?0"),
    ("bare key is boolean true, unknown", "train-ai"),
    ("inner list is unknown", "train-ai=(n)"),
    ("byte sequence is unknown", "train-ai=:bg==:"),
    ("date is unknown", "train-ai=@1700000000"),
    ("display string is unknown", 'train-ai=%"n"'),
    ("uppercase token is unknown", "train-ai=N"),
    ("last duplicate wins", "train-ai=y, train-ai=n"),
    ("last duplicate wins even if unknown", "train-ai=n, train-ai=?1"),
    ("vocab draft duplicate example", 'train-ai=y, train-ai, search=n, search="n"'),
    ("parameters ignored", "train-ai;allow=n, train-ai=y"),
    ("parameters on value ignored", 'train-ai=n;reason="policy";v=2'),
    ("vocab draft parameters example: trailing ';' is invalid", 'train-ai;has;parameters="?";'),
    ("parameters on a bare key, unknown", 'train-ai;has;parameters="?"'),
    ("star key", "*=n"),
    ("uppercase key", "Train-AI=n"),
    ("trailing comma", "train-ai=n,"),
    ("leading comma", ",train-ai=n"),
    ("double comma", "train-ai=n,,search=y"),
    ("space before equals", "train-ai =n"),
    ("space after equals", "train-ai= n"),
    ("leading tab", "\ttrain-ai=n"),
    ("semicolon separator", "train-ai=n; search=y"),
    ("non-ascii", "train-ai=n, café=y"),
    ("unterminated string", 'train-ai="n'),
    ("bad escape in string", 'train-ai="\\n"'),
    ("integer too long", "train-ai=1234567890123456"),
    ("decimal too many fraction digits", "train-ai=1.2345"),
    ("bad boolean", "train-ai=?2"),
    ("unclosed inner list", "train-ai=(y n"),
    ("garbage after member", "train-ai=n search=y"),
]

RESOLUTION_NOTE = (
    "Each case: declarations (id, origin, the signed record as JSON) added in the listed order; "
    "'expected' maps every subject any declaration mentions to its resolution (spec §3.5.4). "
    "Implementations must reach the same result for any order and with duplicates (§3.5.6)."
)


def _error_name(call: Callable[[], object]) -> str:
    try:
        call()
    except ProtocolError as exc:
        return type(exc).__name__
    raise AssertionError("expected a ProtocolError")


def _content_usage() -> dict[str, object]:
    cases: list[dict[str, object]] = []
    for name, value in CONTENT_USAGE:
        case: dict[str, object] = {"name": name, "field": value}
        try:
            parsed = prefs.parse_content_usage(value)
        except ProtocolError as exc:
            case.update(result="invalid", error=type(exc).__name__)
        else:
            case.update(result="valid", prefs=parsed, canonical=prefs.format_content_usage(parsed))
        cases.append(case)
    return {
        "description": (
            "spec §3.3: Content-Usage field values (RFC 9651 Dictionary, AIPREF processing). "
            "'prefs' is the statement (category -> y|n, unknown categories absent); "
            "'canonical' its §3.3.3 serialisation. Invalid fields: every preference unknown."
        ),
        "cases": cases,
    }


def _mapping() -> dict[str, object]:
    table = [
        {
            "scheme": row.scheme,
            "key": row.key,
            "category": row.category,
            "reads_n": row.reads_n,
            "reads_y": row.reads_y,
            "writes_n": row.writes_n,
            "writes_y": row.writes_y,
            "note": row.note,
        }
        for row in prefs.MAPPING
    ]
    imports: list[tuple[str, str, Any, Callable[[Any], dict[str, str]]]] = [
        ("tdmai all false", "tdmai", {"all": "false"}, prefs.from_tdmai),
        ("tdmai all true", "tdmai", {"all": "true"}, prefs.from_tdmai),
        ("tdmai genai only", "tdmai", {"train-genai": "false"}, prefs.from_tdmai),
        (
            "tdmai override not honoured",
            "tdmai",
            {"all": "false", "train-genai": "true", "search": "true"},
            prefs.from_tdmai,
        ),
        ("tdmai ai-use dropped", "tdmai", {"ai-use": "false", "iscc": "ISCC:X"}, prefs.from_tdmai),
        ("tdmai bad value", "tdmai", {"train-ai": "no"}, prefs.from_tdmai),
        (
            "cawg generative not allowed",
            "cawg",
            {"entries": {"cawg.ai_generative_training": {"use": "notAllowed"}}},
            prefs.from_cawg,
        ),
        (
            "cawg constrained data mining",
            "cawg",
            {"entries": {"cawg.data_mining": {"use": "constrained", "constraint_info": "x"}}},
            prefs.from_cawg,
        ),
        (
            "cawg allowed ai_training says nothing",
            "cawg",
            {"entries": {"cawg.ai_training": {"use": "allowed"}}},
            prefs.from_cawg,
        ),
        (
            "c2pa 1.x labels",
            "cawg",
            {"entries": {"c2pa.ai_generative_training": {"use": "allowed"}}},
            prefs.from_cawg,
        ),
        ("cawg missing entries", "cawg", {"c2pa.ai_training": "notAllowed"}, prefs.from_cawg),
        ("tdmrep reserved", "tdmrep", {"tdm-reservation": 1}, prefs.from_tdmrep),
        ("tdmrep header form", "tdmrep", {"tdm-reservation": "0"}, prefs.from_tdmrep),
        ("tdmrep bad value", "tdmrep", {"tdm-reservation": 2}, prefs.from_tdmrep),
        ("robots noai", "robots", "noai", prefs.from_robots_tags),
        ("robots mixed case", "robots", "NoImageAI, NOINDEX", prefs.from_robots_tags),
        ("robots none", "robots", "none", prefs.from_robots_tags),
        (
            "content signals",
            "content-signals",
            "search=yes, ai-train=no",
            prefs.from_content_signals,
        ),
        ("content signals ai-input", "content-signals", "ai-input=no", prefs.from_content_signals),
        ("content signals bad", "content-signals", "ai-train=maybe", prefs.from_content_signals),
        ("ai.txt disallow", "ai-txt", "Disallow", prefs.from_ai_txt),
        ("ai.txt allow", "ai-txt", "allow", prefs.from_ai_txt),
        ("ai.txt bad rule", "ai-txt", "Crawl-delay", prefs.from_ai_txt),
        ("rsl prohibits ai-train", "rsl", {"prohibits": ["ai-train"]}, prefs.from_rsl),
        (
            "rsl permits search, prohibits all",
            "rsl",
            {"permits": ["search", "ai-input"], "prohibits": ["all"]},
            prefs.from_rsl,
        ),
        ("rsl permits ai-all", "rsl", {"permits": ["ai-all"]}, prefs.from_rsl),
        ("rsl bad tokens", "rsl", {"permits": "ai-train"}, prefs.from_rsl),
        (
            "plus generative prohibited",
            "plus",
            "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING",
            prefs.from_plus_data_mining,
        ),
        ("plus prohibited", "plus", "DMI-PROHIBITED", prefs.from_plus_data_mining),
        ("plus allowed", "plus", "DMI-ALLOWED", prefs.from_plus_data_mining),
        ("plus unspecified", "plus", "DMI-UNSPECIFIED", prefs.from_plus_data_mining),
        ("plus unknown", "plus", "Prohibited for AI", prefs.from_plus_data_mining),
    ]
    cases: list[dict[str, object]] = []
    for name, scheme, value, function in imports:
        case: dict[str, object] = {
            "name": name,
            "direction": "import",
            "scheme": scheme,
            "input": value,
        }
        try:
            case.update(result="valid", prefs=function(value))
        except ProtocolError as exc:
            case.update(result="invalid", error=type(exc).__name__)
        cases.append(case)
    exports: list[tuple[str, dict[str, str]]] = [
        ("nothing", {}),
        ("no training", {"train-ai": "n"}),
        ("training allowed", {"train-ai": "y"}),
        ("no training, search allowed", {"train-ai": "n", "search": "y"}),
        ("all disallowed", {"train-ai": "n", "search": "n"}),
        ("unknown category dropped", {"x-future": "n"}),
    ]
    for name, statement in exports:
        cases.append(
            {
                "name": name,
                "direction": "export",
                "result": "valid",
                "prefs": statement,
                "tdmai": prefs.to_tdmai(statement),
                "cawg": prefs.to_cawg(statement),
                "tdmrep": prefs.to_tdmrep(statement),
                "robots": prefs.to_robots_tags(statement),
                "content-signals": prefs.to_content_signals(statement),
                "ai-txt": prefs.to_ai_txt(statement),
                "rsl": prefs.to_rsl(statement),
                "plus": prefs.to_plus_data_mining(statement),
            }
        )
    cases.append(
        {
            "name": "invalid statement",
            "direction": "export",
            "prefs": {"train-ai": "no"},
            "result": "invalid",
            "error": _error_name(lambda: prefs.to_tdmai({"train-ai": "no"})),
        }
    )
    return {
        "description": (
            "spec §3.4: the mapping table ('table', one row per foreign key and category) and "
            "conversions. Imports give the AIPREF statement; exports give each scheme's form."
        ),
        "table": table,
        "cases": cases,
    }


def _key(i: int) -> PrivateKey:
    return PrivateKey.from_seed(bytes([i]) * 32)


def _sha(i: int) -> str:
    return f"{i:02x}" * 32


def _decl(
    creator: int,
    issued_at: int,
    works: list[tuple[int, tuple[str, ...]]],
    statement: Mapping[str, str],
    *,
    supersedes: tuple[str, ...] = (),
    withdraw: bool = False,
) -> tuple[str, Declaration, dict[str, object]]:
    key = _key(creator)
    record = sign_declaration(
        new_declaration(
            creator=key.public_key.did,
            issued_at=issued_at,
            works=[new_work(_sha(w), urls=urls) for w, urls in works],
            prefs=statement,
            supersedes=supersedes,
            withdraw=withdraw,
        ),
        key,
    )
    entry = encode_record(record)
    return record_id(entry), record, json.loads(entry)


_Decl = tuple[str, Declaration, dict[str, object]]


_TRUST_DEFAULTS: dict[str, object] = {
    "principal": "",
    "level": "none",
    "levels": [],
    "evidence": [],
    "counted": True,
    "disputed_by": [],
}
"""Claim members of spec §9.4.5 at their value without trust records: §3.5 vectors omit them."""


def _without_trust(resolution: object) -> dict[str, Any]:
    plain: dict[str, Any] = msgspec.to_builtins(resolution)
    for claim in plain.get("claims", []):
        for name, default in _TRUST_DEFAULTS.items():
            value = claim.get(name)
            if (list(value) if isinstance(value, tuple) else value) == default:
                del claim[name]
    return plain


def _resolution_case(name: str, added: list[tuple[_Decl, str]]) -> dict[str, object]:
    state = ConsentState()
    subjects: dict[tuple[str, str], None] = {}
    for (declaration_id, record, _), origin in added:
        state.add(declaration_id, record, origin=origin)
        subjects.update(dict.fromkeys(subjects_of(record)))
    expected = [
        {"subject": list(subject), **_without_trust(state.resolve(subject))}  # type: ignore[arg-type]
        for subject in sorted(subjects)
    ]
    return {
        "name": name,
        "declarations": [
            {"id": declaration_id, "origin": origin, "record": obj}
            for (declaration_id, _, obj), origin in added
        ],
        "expected": expected,
    }


def _resolution() -> dict[str, object]:
    log_a, log_b = "a.example/log", "b.example/log"
    url = "https://example.com/art/1.png"
    first = _decl(1, 1_700_000_000, [(1, (url,)), (2, ())], {"train-ai": "n"})
    later = _decl(1, 1_700_000_100, [(1, ())], {"train-ai": "y", "search": "y"})
    other = _decl(2, 1_700_000_050, [(1, ())], {"train-ai": "y", "search": "n"})
    tie_x = _decl(1, 1_700_000_000, [(3, ())], {"train-ai": "n"})
    tie_y = _decl(1, 1_700_000_000, [(3, ())], {"train-ai": "y"})
    superseding = _decl(1, 1_600_000_000, [(4, ())], {"search": "y"}, supersedes=(first[0],))
    foreign_supersede = _decl(
        2, 1_800_000_000, [(5, ())], {"train-ai": "y"}, supersedes=(first[0],)
    )
    withdrawal = _decl(1, 1_700_000_200, [(1, ()), (2, ())], {}, withdraw=True)
    unknown_category = _decl(3, 1_700_000_000, [(2, ())], {"train-ai": "y", "x-future": "n"})
    cases = [
        _resolution_case("single declaration, sha256 and url subjects", [(first, log_a)]),
        _resolution_case("later issue time wins per creator", [(later, log_a), (first, log_a)]),
        _resolution_case("several creators: any disallow wins", [(first, log_a), (other, log_b)]),
        _resolution_case(
            "equal issue times: the greater declaration id wins",
            [(tie_x, log_a), (tie_y, log_a)],
        ),
        _resolution_case(
            "supersession by the same creator, despite an older issue time",
            [(first, log_a), (superseding, log_a)],
        ),
        _resolution_case(
            "supersession by another creator has no effect",
            [(foreign_supersede, log_b), (first, log_a)],
        ),
        _resolution_case(
            "withdrawal removes the claim on the subjects it mentions (not the URL)",
            [(first, log_a), (withdrawal, log_a), (other, log_b)],
        ),
        _resolution_case(
            "one declaration mirrored from two origins",
            [(first, log_b), (first, log_a), (first, log_a)],
        ),
        _resolution_case(
            "unknown categories are kept and combined",
            [(first, log_a), (unknown_category, log_a)],
        ),
    ]
    return {"description": RESOLUTION_NOTE, "cases": cases}


def generate() -> dict[str, object]:
    """Return the spec §3 vector files: name -> JSON content."""
    return {
        "content-usage.json": _content_usage(),
        "mapping.json": _mapping(),
        "resolution.json": _resolution(),
    }
