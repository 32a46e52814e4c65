"""Equivocation evidence (spec §7.6) and convergence (spec §7.7), as properties.

- :func:`check_consistent` accepts every honest extension, turns every fork into evidence that
  :func:`verify_evidence` accepts offline, and never mistakes damaged tiles for a fork.
- Any interleaving and duplication of the same declarations across nodes, each seen under any
  origins, resolves to the same state on every node (what makes federated answers identical).
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.core.keys import PrivateKey
from registry.core.merkle import append_leaves
from registry.core.note import NoteSigner
from registry.core.records import (
    Declaration,
    encode_record,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
)
from registry.core.state import ConsentState
from registry.core.tiles import TileCoord
from registry.federation.errors import (
    EquivocationError,
    InvalidEvidenceError,
    PeerMisbehavingError,
)
from registry.federation.evidence import (
    KnownCheckpoint,
    check_consistent,
    tiles_to_compare,
    verify_evidence,
)

LOG = NoteSigner.from_seed("log.test/x", b"\x05" * 32)
LEAVES = [hashlib.sha256(b"leaf %d" % i).digest() for i in range(700)]
OTHER = [hashlib.sha256(b"other %d" % i).digest() for i in range(700)]


def tree(leaves: list[bytes]) -> tuple[KnownCheckpoint, dict[TileCoord, bytes]]:
    """A signed checkpoint of a tree of these leaf hashes, and all its tiles."""
    grown = append_leaves(0, {}, leaves)
    checkpoint = Checkpoint(LOG.name, grown.size, grown.root)
    return KnownCheckpoint(checkpoint, sign_checkpoint(checkpoint, LOG)), dict(grown.tiles)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 700), st.integers(0, 700))
def test_honest_extensions_pass(a: int, extra: int) -> None:
    b = min(700, a + extra)
    old, _ = tree(LEAVES[:a])
    new, tiles = tree(LEAVES[:b])
    wanted = tiles_to_compare(a, b)
    check_consistent(old, new, {c: tiles[c] for c in wanted})


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 699), st.integers(0, 700), st.integers(0, 698))
def test_every_fork_becomes_verifiable_evidence(a: int, extra: int, diverge: int) -> None:
    b = min(700, a + extra)
    diverge = diverge % a  # the first index where the two histories differ
    old, _ = tree(LEAVES[:a])
    new, tiles = tree([*LEAVES[:diverge], *OTHER[diverge:b]])
    with pytest.raises(EquivocationError) as caught:
        check_consistent(old, new, {c: tiles[c] for c in tiles_to_compare(a, b)})
    evidence = caught.value.evidence
    assert evidence.kind == ("same-size" if a == b else "inconsistent")
    assert (evidence.size_a, evidence.size_b) == (a, b)
    verify_evidence(evidence, LOG.verifier)
    # Tampering with the evidence, or checking it under another key, proves nothing.
    for forged in (
        dataclasses.replace(evidence, root_in_b=old.root),
        dataclasses.replace(evidence, note_b=evidence.note_a, size_b=a),
        dataclasses.replace(evidence, size_a=a + 1),
    ):
        with pytest.raises(InvalidEvidenceError):
            verify_evidence(forged, LOG.verifier)
    with pytest.raises(InvalidEvidenceError):
        verify_evidence(evidence, NoteSigner.from_seed("log.test/x", b"\x06" * 32).verifier)


def test_damaged_tiles_are_not_a_fork() -> None:
    old, _ = tree(LEAVES[:300])
    new, tiles = tree(LEAVES[:600])
    wanted = {c: tiles[c] for c in tiles_to_compare(300, 600)}
    for coord, data in wanted.items():
        damaged = {**wanted, coord: bytes(len(data))}  # zeroed hashes
        with pytest.raises(PeerMisbehavingError) as caught:
            check_consistent(old, new, damaged)
        assert not isinstance(caught.value, EquivocationError)
        truncated = {**wanted, coord: data[:-1]}
        with pytest.raises(PeerMisbehavingError):
            check_consistent(old, new, truncated)
    with pytest.raises(PeerMisbehavingError):
        check_consistent(old, new, {})


def test_empty_and_equal_trees() -> None:
    empty, _ = tree([])
    one, _ = tree(LEAVES[:1])
    check_consistent(empty, one, {})
    check_consistent(one, one, {})
    assert tiles_to_compare(0, 5) == set() == tiles_to_compare(5, 5)
    with pytest.raises(ValueError, match=r"a\.size <= b\.size"):
        check_consistent(one, empty, {})


# --- convergence (spec §7.7.3) ---------------------------------------------------------------

CREATORS = [PrivateKey.from_seed(hashlib.sha256(b"c%d" % i).digest()) for i in range(3)]
WORKS = [hashlib.sha256(b"w%d" % i).hexdigest() for i in range(4)]
ORIGINS = ["a.test/log", "b.test/log", "c.test/log"]


@st.composite
def declarations(draw: st.DrawFn) -> list[tuple[str, Declaration]]:
    """A few signed declarations by three creators about four works, some superseding others."""
    made: list[tuple[str, Declaration]] = []
    for _ in range(draw(st.integers(1, 7))):
        key = draw(st.sampled_from(CREATORS))
        works = draw(st.lists(st.sampled_from(WORKS), min_size=1, max_size=3, unique=True))
        withdraw = draw(st.booleans()) and draw(st.booleans())
        prefs = {} if withdraw else {"train-ai": draw(st.sampled_from("yn"))}
        mine = [i for i, d in made if d.creator == key.public_key.did]
        supersedes = draw(st.lists(st.sampled_from(mine), max_size=1)) if mine else []
        record = sign_declaration(
            new_declaration(
                creator=key.public_key.did,
                issued_at=draw(st.integers(0, 5)),
                works=[new_work(w) for w in sorted(works)],
                prefs=prefs,
                supersedes=sorted(supersedes),
                withdraw=withdraw,
            ),
            key,
        )
        made.append((record_id(encode_record(record)), record))
    return made


def snapshot(state: ConsentState) -> object:
    """Everything a node answers about works and creators."""
    works = {w: state.resolve_sha256(w) for w in WORKS}
    creators = {k.public_key.did: state.by_creator(k.public_key.did) for k in CREATORS}
    return works, creators


@settings(max_examples=60, deadline=None)
@given(declarations(), st.data())
def test_any_interleaving_and_duplication_converges(
    made: list[tuple[str, Declaration]], data: st.DataObject
) -> None:
    # Each declaration is logged by one or more origins; every node sees every (declaration,
    # origin) pair, in its own order, some of them several times.
    sightings = [
        (declaration_id, record, origin)
        for declaration_id, record in made
        for origin in data.draw(st.lists(st.sampled_from(ORIGINS), min_size=1, unique=True))
    ]
    answers = []
    for _node in range(3):
        order = data.draw(st.permutations(sightings))
        repeats = data.draw(st.lists(st.sampled_from(sightings), max_size=4))
        state = ConsentState()
        for declaration_id, record, origin in [*order, *repeats]:
            state.add(declaration_id, record, origin=origin)
        answers.append(snapshot(state))
    assert answers[0] == answers[1] == answers[2]
