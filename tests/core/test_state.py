"""Deterministic state resolution (spec §3.5), against a reference written from the spec text."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core.errors import RecordError
from registry.core.records import Declaration, Work
from registry.core.state import (
    EMPTY_RESOLUTION,
    ConsentState,
    Resolution,
    Subject,
    subjects_of,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "spec" / "vectors"

ALICE = "did:key:z6MkAlice"
BOB = "did:key:z6MkBob"
CAROL = "did:key:z6MkCarol"


def sha(i: int) -> str:
    return f"{i:02x}" * 32


def did(i: int) -> str:
    """A declaration id (record id): 64 lowercase hex digits."""
    return f"{i:064x}"


def decl(
    creator: str,
    issued_at: int,
    works: Iterable[int | tuple[int, tuple[str, ...]]],
    prefs: dict[str, str] | None = None,
    *,
    supersedes: tuple[str, ...] = (),
    withdraw: bool = False,
) -> Declaration:
    built = []
    for w in works:
        number, urls = (w, ()) if isinstance(w, int) else w
        built.append(Work(sha256=sha(number), urls=tuple(sorted(urls))))
    return Declaration(
        v=1,
        creator=creator,
        issued_at=issued_at,
        works=tuple(sorted(built, key=lambda work: work.sha256)),
        prefs={} if withdraw else (prefs if prefs is not None else {"train-ai": "n"}),
        supersedes=tuple(sorted(supersedes)),
        withdraw=withdraw,
    )


def test_empty_state_knows_nothing() -> None:
    state = ConsentState()
    assert len(state) == 0
    assert state.resolve_sha256(sha(1)) is EMPTY_RESOLUTION
    assert state.resolve_url("https://x.example/") == Resolution()
    assert not EMPTY_RESOLUTION.reserved()
    assert EMPTY_RESOLUTION.preference("train-ai") is None
    assert state.by_creator(ALICE) == []
    assert list(state.subjects()) == []


def test_single_declaration_claims_sha256_and_url_subjects() -> None:
    state = ConsentState()
    url = "https://example.com/a.png"
    assert state.add(did(1), decl(ALICE, 10, [(1, (url,)), 2]), origin="log-a") is True
    assert len(state) == 1
    assert did(1) in state
    for resolution in (state.resolve_sha256(sha(1)), state.resolve_sha256(sha(2)),
                       state.resolve_url(url)):  # fmt: skip
        assert resolution.reserved("train-ai")
        assert not resolution.reserved("search")
        assert resolution.preference("train-ai") == "n"
        (claim,) = resolution.claims
        assert (claim.creator, claim.declaration_id, claim.issued_at) == (ALICE, did(1), 10)
        assert claim.origins == ("log-a",)
        assert claim.origin == "log-a"
        assert claim.verified is False
    assert set(state.subjects()) == {("sha256", sha(1)), ("sha256", sha(2)), ("url", url)}
    assert state.subject_counts == (2, 1)
    assert state.resolve(("url", url)) == state.resolve_url(url)
    assert state.resolve(("sha256", sha(2))) == state.resolve_sha256(sha(2))


def test_subjects_of_deduplicates_urls_across_works() -> None:
    record = decl(ALICE, 1, [(1, ("https://a/",)), (2, ("https://a/",))])
    assert subjects_of(record) == [("sha256", sha(1)), ("url", "https://a/"), ("sha256", sha(2))]


def test_latest_issue_time_wins_per_creator_in_either_order() -> None:
    old, new = decl(ALICE, 10, [1]), decl(ALICE, 20, [1], {"train-ai": "y"})
    for order in ([(did(1), old), (did(2), new)], [(did(2), new), (did(1), old)]):
        state = ConsentState()
        for declaration_id, record in order:
            state.add(declaration_id, record, origin="o")
        assert state.resolve_sha256(sha(1)).prefs == {"train-ai": "y"}


def test_equal_issue_times_break_ties_by_greater_declaration_id() -> None:
    low, high = "0" * 64, "f" * 64
    state = ConsentState()
    state.add(high, decl(ALICE, 10, [1], {"train-ai": "y"}), origin="o")
    state.add(low, decl(ALICE, 10, [1], {"train-ai": "n"}), origin="o")
    assert state.resolve_sha256(sha(1)).claims[0].declaration_id == high
    assert state.resolve_sha256(sha(1)).prefs == {"train-ai": "y"}


def test_later_declaration_only_replaces_the_subjects_it_mentions() -> None:
    state = ConsentState()
    state.add(did(1), decl(ALICE, 10, [1, 2]), origin="o")
    state.add(did(2), decl(ALICE, 20, [2], {"train-ai": "y"}), origin="o")
    assert state.resolve_sha256(sha(1)).prefs == {"train-ai": "n"}
    assert state.resolve_sha256(sha(2)).prefs == {"train-ai": "y"}
    statuses = {d.declaration_id: d.status for d in state.by_creator(ALICE)}
    assert statuses == {did(1): "current", did(2): "current"}


def test_withdrawal_removes_the_claim_and_by_creator_reports_it() -> None:
    state = ConsentState()
    state.add(did(1), decl(ALICE, 10, [1]), origin="o")
    state.add(did(2), decl(BOB, 10, [1], {"train-ai": "y"}), origin="o")
    state.add(did(3), decl(ALICE, 20, [1], withdraw=True), origin="o")
    resolution = state.resolve_sha256(sha(1))
    assert [c.creator for c in resolution.claims] == [BOB]
    assert resolution.prefs == {"train-ai": "y"}
    assert [(d.declaration_id, d.status) for d in state.by_creator(ALICE)] == [
        (did(1), "overridden"),
        (did(3), "current"),
    ]
    # a withdrawal older than the claim does nothing
    state.add(did(4), decl(BOB, 5, [1], withdraw=True), origin="o")
    assert state.resolve_sha256(sha(1)).prefs == {"train-ai": "y"}


def test_withdrawing_every_claim_empties_the_subject() -> None:
    state = ConsentState()
    state.add(did(1), decl(ALICE, 10, [1]), origin="o")
    state.add(did(2), decl(ALICE, 20, [1], withdraw=True), origin="o")
    assert state.resolve_sha256(sha(1)) is EMPTY_RESOLUTION
    assert list(state.subjects()) == []


def test_supersession_by_the_same_creator_in_either_order() -> None:
    target = decl(ALICE, 50, [1, 2])
    superseding = decl(ALICE, 10, [3], {"search": "y"}, supersedes=(did(1),))
    for order in ([(did(1), target), (did(2), superseding)],
                  [(did(2), superseding), (did(1), target)]):  # fmt: skip
        state = ConsentState()
        for declaration_id, record in order:
            state.add(declaration_id, record, origin="o")
        assert state.resolve_sha256(sha(1)) is EMPTY_RESOLUTION
        assert state.resolve_sha256(sha(2)) is EMPTY_RESOLUTION
        assert state.resolve_sha256(sha(3)).prefs == {"search": "y"}
        by_id = {d.declaration_id: d for d in state.by_creator(ALICE)}
        assert by_id[did(1)].status == "superseded"
        assert by_id[did(1)].superseded_by == (did(2),)
        assert by_id[did(2)].status == "current"
        # the view the node's index rebuild compares its stored rows with
        assert state.superseded_by(did(1)) == {did(2)}
        assert state.superseded_by(did(9)) == frozenset()
        rows = {row[0]: row[1:] for row in state.declarations()}
        assert rows[did(1)] == (target, ("o",), True)
        assert rows[did(2)] == (superseding, ("o",), False)
        assert state.winner(ALICE, ("sha256", sha(1))) is None
        assert state.winner(ALICE, ("sha256", sha(3))) == did(2)


def test_supersession_by_another_creator_has_no_effect() -> None:
    for order in ("target first", "superseder first"):
        state = ConsentState()
        target = (did(1), decl(ALICE, 10, [1]))
        attack = (did(2), decl(BOB, 99, [2], {"train-ai": "y"}, supersedes=(did(1),)))
        for declaration_id, record in (
            [target, attack]
            if order == "target first"
            else [
                attack,
                target,
            ]
        ):
            state.add(declaration_id, record, origin="o")
        assert state.resolve_sha256(sha(1)).reserved()
        assert state.by_creator(ALICE)[0].status == "current"


def test_superseded_declaration_still_supersedes() -> None:
    state = ConsentState()
    state.add(did(1), decl(ALICE, 10, [1]), origin="o")
    state.add(did(2), decl(ALICE, 20, [2], supersedes=(did(1),)), origin="o")
    state.add(did(3), decl(ALICE, 30, [3], supersedes=(did(2),)), origin="o")
    assert state.resolve_sha256(sha(1)) is EMPTY_RESOLUTION
    assert state.resolve_sha256(sha(2)) is EMPTY_RESOLUTION
    assert state.resolve_sha256(sha(3)).reserved()


def test_declarations_mentions_and_listings_are_looked_up() -> None:
    """What a resolver of marked subjects (the snapshot builder's levels) reads: every
    declaration mentioning a subject, and who lists one in ``supersedes``, of any creator."""
    state = ConsentState()
    first = decl(ALICE, 10, [1])
    state.add(did(1), first, origin="o")
    state.add(did(2), decl(BOB, 20, [1], supersedes=(did(1),)), origin="o")
    assert state.declaration(did(1)) == first
    assert state.declaration(did(9)) is None
    assert state.mentions(("sha256", sha(1))) == (did(1), did(2))
    assert state.mentions(("sha256", sha(2))) == ()
    assert state.listed_by(did(1)) == {did(2)}
    assert state.superseded_by(did(1)) == frozenset()  # another creator's supersedes
    assert state.listed_by(did(2)) == frozenset()


def test_several_creators_any_disallow_wins_and_claims_are_sorted() -> None:
    state = ConsentState()
    state.add(did(1), decl(CAROL, 10, [1], {"train-ai": "y", "search": "y"}), origin="o")
    state.add(did(2), decl(ALICE, 10, [1], {"train-ai": "n", "x-new": "y"}), origin="o")
    state.add(did(3), decl(BOB, 10, [1], {"search": "y"}), origin="o")
    resolution = state.resolve_sha256(sha(1))
    assert [c.creator for c in resolution.claims] == [ALICE, BOB, CAROL]
    assert resolution.prefs == {"search": "y", "train-ai": "n", "x-new": "y"}
    assert list(resolution.prefs) == sorted(resolution.prefs)


def test_mirrored_declaration_is_one_claim_with_all_origins() -> None:
    state = ConsentState()
    record = decl(ALICE, 10, [1])
    assert state.add(did(1), record, origin="log-b") is True
    assert state.add(did(1), record, origin="log-a") is False
    assert state.add(did(1), record, origin="log-a") is False
    assert len(state) == 1
    (claim,) = state.resolve_sha256(sha(1)).claims
    assert claim.origins == ("log-a", "log-b")
    assert claim.origin == "log-a"
    assert state.by_creator(ALICE)[0].origins == ("log-a", "log-b")


def test_add_rejects_bad_ids_and_conflicting_records() -> None:
    state = ConsentState()
    for bad in ("", "ab", "A" * 64, "g" * 64, "0" * 63):
        with pytest.raises(RecordError):
            state.add(bad, decl(ALICE, 1, [1]), origin="o")
    state.add(did(1), decl(ALICE, 1, [1]), origin="o")
    with pytest.raises(RecordError):
        state.add(did(1), decl(ALICE, 2, [1]), origin="o")
    assert len(state) == 1


def test_verified_creators_flag_claims_without_changing_prefs() -> None:
    state = ConsentState(verified_creators=[BOB])
    state.add(did(1), decl(ALICE, 10, [1]), origin="o")
    state.add(did(2), decl(BOB, 10, [1], {"train-ai": "y"}), origin="o")
    flags = {c.creator: c.verified for c in state.resolve_sha256(sha(1)).claims}
    assert flags == {ALICE: False, BOB: True}
    before = state.resolve_sha256(sha(1)).prefs
    state.set_verified(ALICE)
    state.set_verified(ALICE)  # no change
    state.set_verified(BOB, False)
    state.set_verified(CAROL, False)  # unknown, no change
    flags = {c.creator: c.verified for c in state.resolve_sha256(sha(1)).claims}
    assert flags == {ALICE: True, BOB: False}
    assert state.verified_creators == frozenset({ALICE})
    assert state.resolve_sha256(sha(1)).prefs == before
    state.set_verified(CAROL)
    assert state.verified_creators == frozenset({ALICE, CAROL})


def test_batch_lookups_match_single_lookups() -> None:
    state = ConsentState()
    state.add(did(1), decl(ALICE, 10, [(1, ("https://u/1",)), 2]), origin="o")
    hashes = [sha(1), sha(9), sha(2), sha(1)]
    assert state.resolve_many_sha256(hashes) == [state.resolve_sha256(h) for h in hashes]
    assert state.resolve_many_urls(["https://u/1", "https://u/2"]) == [
        state.resolve_url("https://u/1"),
        EMPTY_RESOLUTION,
    ]


def test_resolutions_encode_to_json() -> None:
    state = ConsentState()
    state.add(did(1), decl(ALICE, 10, [1]), origin="o")
    encoded = json.loads(msgspec.json.encode(state.resolve_sha256(sha(1))))
    assert encoded == {
        "claims": [
            {
                "creator": ALICE,
                "declaration_id": did(1),
                "issued_at": 10,
                "prefs": {"train-ai": "n"},
                "origins": ["o"],
                "verified": False,
                # without trust records (spec §9.4.5): the creator is its own principal
                "principal": "",
                "level": "none",
                "levels": [],
                "evidence": [],
                "counted": True,
                "disputed_by": [],
            }
        ],
        "prefs": {"train-ai": "n"},
    }


# -- property: order independence against a reference implementation (spec §3.5.6) -----------


def reference(
    added: list[tuple[str, Declaration, str]], verified: frozenset[str] = frozenset()
) -> dict[Subject, dict[str, Any]]:
    """Spec §3.5 read literally, with no incremental state."""
    decls: dict[str, Declaration] = {}
    origins: dict[str, set[str]] = {}
    for declaration_id, record, origin in added:
        decls[declaration_id] = record
        origins.setdefault(declaration_id, set()).add(origin)
    superseded = {
        target
        for s in decls.values()
        for target in s.supersedes
        if target in decls and decls[target].creator == s.creator
    }
    subjects: set[Subject] = set()
    for record in decls.values():
        for work in record.works:
            subjects.add(("sha256", work.sha256))
            subjects.update(("url", u) for u in work.urls)
    out: dict[Subject, dict[str, Any]] = {}
    for subject in subjects:
        claims: list[dict[str, Any]] = []
        for creator in sorted({r.creator for r in decls.values()}):
            candidates = [
                (r.issued_at, i)
                for i, r in decls.items()
                if r.creator == creator and i not in superseded and subject in subjects_of(r)
            ]
            if not candidates:
                continue
            issued_at, winner = max(candidates)
            if decls[winner].withdraw:
                continue
            claims.append(
                {
                    "creator": creator,
                    "declaration_id": winner,
                    "issued_at": issued_at,
                    "prefs": dict(sorted(decls[winner].prefs.items())),
                    "origins": sorted(origins[winner]),
                    "verified": creator in verified,
                }
            )
        combined: dict[str, str] = {}
        for claim in claims:
            for category, value in claim["prefs"].items():
                if value == "n" or combined.get(category) != "n":
                    combined[category] = value
        out[subject] = {"claims": claims, "prefs": dict(sorted(combined.items()))}
    return out


TRUST_DEFAULTS: dict[str, Any] = {
    "principal": "",
    "level": "none",
    "levels": [],
    "evidence": [],
    "counted": True,
    "disputed_by": [],
}
"""The members spec §9.4.5 adds to a claim, at their value without trust records."""


def as_plain(resolution: Resolution) -> dict[str, Any]:
    """The resolution as JSON, without the §9.4.5 members when they are at their defaults (a
    ConsentState never sets them)."""
    plain: dict[str, Any] = json.loads(msgspec.json.encode(resolution))
    for claim in plain["claims"]:
        for name, default in TRUST_DEFAULTS.items():
            assert claim.pop(name) == default
    return plain


URLS = ("https://a.example/1", "https://a.example/2")


@st.composite
def declaration_sets(draw: st.DrawFn) -> list[tuple[str, Declaration, str]]:
    count = draw(st.integers(1, 8))
    ids = [f"{i:064x}" for i in draw(st.lists(st.integers(0, 40), min_size=count,
                                                max_size=count, unique=True))]  # fmt: skip
    out: list[tuple[str, Declaration, str]] = []
    for declaration_id in ids:
        works = draw(st.lists(st.tuples(st.integers(1, 3), st.sets(st.sampled_from(URLS))),
                              min_size=1, max_size=3, unique_by=lambda w: w[0]))  # fmt: skip
        withdraw = draw(st.booleans())
        record = decl(
            draw(st.sampled_from([ALICE, BOB, CAROL])),
            draw(st.integers(0, 3)),  # few values: many issue-time ties
            [(n, tuple(urls)) for n, urls in works],
            draw(
                st.dictionaries(
                    st.sampled_from(["train-ai", "search", "x-new"]),
                    st.sampled_from("yn"),
                    min_size=1,
                )
            ),
            supersedes=tuple(sorted(set(draw(st.lists(st.sampled_from(ids), max_size=2))))),
            withdraw=withdraw,
        )
        out.append((declaration_id, record, draw(st.sampled_from(["log-a", "log-b"]))))
    return out


@settings(max_examples=150, deadline=None)
@given(declaration_sets(), st.randoms(use_true_random=False), st.data())
def test_any_order_and_duplication_gives_the_reference_resolution(
    added: list[tuple[str, Declaration, str]], rnd: Any, data: st.DataObject
) -> None:
    verified = frozenset(data.draw(st.sets(st.sampled_from([ALICE, BOB, CAROL]))))
    expected = reference(added, verified)
    sequence = added + data.draw(st.lists(st.sampled_from(added), max_size=6))
    for _ in range(3):
        rnd.shuffle(sequence)
        state = ConsentState(verified_creators=verified)
        for declaration_id, record, origin in sequence:
            state.add(declaration_id, record, origin=origin)
        assert len(state) == len(added)
        for subject, want in expected.items():
            got = state.resolve(subject)
            assert as_plain(got) == want
            assert got.reserved("train-ai") == (want["prefs"].get("train-ai") == "n")
        live = {s for s, want in expected.items() if want["claims"]}
        assert set(state.subjects()) == live


# -- vectors (spec/vectors/resolution.json) ----------------------------------------------------


def _generated() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("gen_prefs", VECTORS / "gen_prefs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files: dict[str, Any] = json.loads(json.dumps(module.generate()))
    return files


def _resolution_files() -> list[dict[str, Any]]:
    out = [_generated()["resolution.json"]]
    path = VECTORS / "resolution.json"
    if path.exists():
        out.append(json.loads(path.read_text(encoding="utf-8")))
    return out


def test_resolution_vectors_in_every_order() -> None:
    decoder = msgspec.json.Decoder(Declaration)
    for data in _resolution_files():
        assert data["cases"]
        for case in data["cases"]:
            entries = [
                (d["id"], decoder.decode(json.dumps(d["record"])), d["origin"])
                for d in case["declarations"]
            ]
            for sequence in (entries, entries[::-1], entries + entries):
                state = ConsentState()
                for declaration_id, record, origin in sequence:
                    state.add(declaration_id, record, origin=origin)
                for want in case["expected"]:
                    subject = (want["subject"][0], want["subject"][1])
                    got = as_plain(state.resolve(subject))
                    assert {"subject": want["subject"], **got} == want, case["name"]


def test_resolution_vectors_cover_the_rules() -> None:
    names = " ".join(c["name"] for c in _generated()["resolution.json"]["cases"])
    for rule in ("issue time", "declaration id", "supersession", "another creator",
                 "withdrawal", "two origins", "several creators"):  # fmt: skip
        assert rule in names
