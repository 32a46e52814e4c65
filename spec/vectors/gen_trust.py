"""Test vectors for spec §9.4: resolution with identity levels, per policy.

``generate()`` returns ``{"trust-resolution.json": ...}``. Every case is a set of real signed
entries (declarations and trust records, spec §2 and §9.3) with the log origin each was seen in,
a trust configuration (trusted platform keys with their names, trusted node keys), and the
expected resolution of each subject under each policy. Keys come from the fixed seeds
SHA-256("consent-registry trust vectors: NAME"); times are fixed, so the output is deterministic.
"""

from __future__ import annotations

import hashlib
import json

import msgspec

from registry.core import keys, records
from registry.core.records import AnyRecord
from registry.core.state import Subject, subjects_of
from registry.core.trust import POLICIES, TrustState

T = 1767225600  # 2026-01-01T00:00:00Z
LOG = "registry.example/log"


def _key(name: str) -> keys.PrivateKey:
    return keys.PrivateKey.from_seed(
        hashlib.sha256(f"consent-registry trust vectors: {name}".encode()).digest()
    )


OWNER, STRANGER, NEW, NODE, ART = (
    _key(n) for n in ("owner", "stranger", "owner-new-key", "node", "art-platform")
)
PAGE = "https://owner.example/gallery/1.png"
UPLOAD = "https://art.example/@owner/1"


def _sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _declare(
    key: keys.PrivateKey, at: int, prefs: dict[str, str], *, urls: tuple[str, ...] = (PAGE,),
    work: str = "work-1", supersedes: tuple[str, ...] = (), withdraw: bool = False,
) -> records.Declaration:  # fmt: skip
    record = records.new_declaration(
        creator=key.public_key.did, issued_at=at, works=[records.new_work(_sha(work), urls=urls)],
        prefs={} if withdraw else prefs, supersedes=supersedes, withdraw=withdraw,
    )  # fmt: skip
    return records.sign_declaration(record, key)


def _binding(creator: keys.PrivateKey, at: int, *, lapsed: bool = False) -> AnyRecord:
    return records.sign_record(records.Binding(
        v=1, node=NODE.public_key.did, origin=LOG, domain="owner.example",
        creator=creator.public_key.did, issued_at=at, evidence=_sha("did.json"), lapsed=lapsed,
    ), NODE)  # fmt: skip


def _entry(record: AnyRecord) -> bytes:
    return records.encode_record(record)


def _case(name: str, description: str, added: list[AnyRecord]) -> dict[str, object]:
    platforms = {ART.public_key.did: "art"}
    nodes = [NODE.public_key.did]
    state = TrustState(platforms=platforms, nodes=nodes)
    subjects: dict[Subject, None] = {}
    entries: list[dict[str, str]] = []
    for record in added:
        entry = _entry(record)
        record_id = records.record_id(entry)
        state.add(record_id, records.load_entry(entry), origin=LOG)
        entries.append({"entry": entry.decode("ascii"), "origin": LOG, "id": record_id})
        if isinstance(record, records.Declaration):
            subjects.update(dict.fromkeys(subjects_of(record)))
    expected = [
        {"subject": list(subject), "policy": policy,
         "resolution": json.loads(msgspec.json.encode(state.resolve(subject, policy)))}
        for subject in subjects for policy in POLICIES
    ]  # fmt: skip
    config = {"platforms": platforms, "nodes": nodes}
    return {"name": name, "description": description, "config": config, "entries": entries,
            "expected": expected}  # fmt: skip


def _resolution() -> dict[str, object]:
    owner_y = _declare(OWNER, T, {"train-ai": "y"})
    stranger_n = _declare(STRANGER, T + 10, {"train-ai": "n"})
    owner_n = _declare(OWNER, T, {"train-ai": "n"})
    owner_n_id = records.record_id(_entry(owner_n))
    attested = records.sign_record(records.PlatformAttestation(
        v=1, platform=ART.public_key.did, account="@owner", creator=OWNER.public_key.did,
        issued_at=T, hashes=records.pack_hashes([_sha("work-1")]),
    ), ART)  # fmt: skip
    cases = [
        _case("domain owner outranks stranger",
              "the owner, bound to owner.example by a trusted node, says y; a stranger says n",
              [owner_y, stranger_n, _binding(OWNER, T - 100)]),
        _case("platform owner outranks stranger",
              "a trusted platform attests the owner uploaded the work",
              [owner_y, stranger_n, attested]),
        _case("no verified claim",
              "nobody is bound: verified counts every claim, verified-only none",
              [owner_y, stranger_n]),
        _case("lapsed binding",
              "the owner's declaration after the binding lapsed is not verified",
              [_declare(OWNER, T + 500, {"train-ai": "y"}), stranger_n,
               _binding(OWNER, T - 100), _binding(OWNER, T + 200, lapsed=True)]),
        _case("revocation",
              "after revoking since T+50, the thief's withdrawal at T+60 does not count",
              [owner_n, _declare(OWNER, T + 60, {}, withdraw=True),
               records.sign_record(records.Revocation(
                   v=1, creator=OWNER.public_key.did, key=OWNER.public_key.did, since=T + 50,
                   issued_at=T + 100), OWNER)]),
        _case("rotation",
              "the old key rotates; the new key's declaration wins and keeps the domain level",
              [owner_n, _binding(OWNER, T - 100),
               records.sign_record(records.Rotation(
                   v=1, creator=OWNER.public_key.did, new_key=NEW.public_key.did,
                   issued_at=T + 10), OWNER),
               _declare(NEW, T + 20, {"train-ai": "y"})]),
        _case("counter-statement",
              "the platform-verified owner disputes a stranger's claim",
              [_declare(STRANGER, T, {"train-ai": "n"}, urls=()), attested,
               records.sign_record(records.CounterStatement(
                   v=1, creator=OWNER.public_key.did,
                   target=records.record_id(_entry(_declare(STRANGER, T, {"train-ai": "n"},
                                                            urls=()))),
                   statement="not-rightsholder", issued_at=T + 5), OWNER)]),
        _case("supersession across a rotation",
              "the new key supersedes the old key's declaration",
              [owner_n,
               records.sign_record(records.Rotation(
                   v=1, creator=OWNER.public_key.did, new_key=NEW.public_key.did,
                   issued_at=T + 10), OWNER),
               _declare(NEW, T + 20, {"train-ai": "y"}, work="work-2", urls=(),
                        supersedes=(owner_n_id,))]),
    ]  # fmt: skip
    return {
        "description": "Resolution with identity levels (spec §9.4). For each case: add every "
        "entry (load_entry, spec §9.3) with its origin to a state with the case's config "
        "(platforms: trusted platform did:key -> name; nodes: trusted node keys for bindings), "
        "in any order; resolving each subject under each policy gives the expected resolution.",
        "cases": cases,
    }


def generate() -> dict[str, object]:
    """Return the spec §9.4 vector file."""
    return {"trust-resolution.json": _resolution()}
