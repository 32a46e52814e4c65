"""Test vectors for spec §8: offline snapshots (keys, binary fuse filters, signed files, chains).

``generate()`` returns ``snapshots.json``, built from fixed items, a fixed seed material and a
fixed node key (Ed25519 is deterministic, RFC 8032), so every byte is reproducible. Case kinds:

- ``key``: a subject and its 64-bit key (spec §8.2), as 16 lowercase hex digits;
- ``filter``: keys, fingerprint width and seed material in; parameters, filter bytes (hex) and
  lookups out (spec §8.4). Implementations MUST reproduce every lookup answer; reproducing the
  bytes is only expected of a builder following the RECOMMENDED construction of §8.4.3;
- ``snapshot``: a signed snapshot file (hex) with the node's verifier key; the header it
  carries and lookups (spec §8.3, §8.5, §8.6), or ``result: invalid`` and the error;
- ``chain``: snapshot files (by case name) that do or do not form a chain (spec §8.7).

and ``snapshot-levels.json`` (spec §8.10): levels files (hex) with the snapshot file they belong
to and the node's verifier key; the header text, every row, and lookups with the answer under
each policy (``row: false``: the default answer), or ``result: invalid`` and the error.
"""

from __future__ import annotations

import hashlib

from registry.core.encoding import b64encode
from registry.core.keys import PublicKey
from registry.core.levels import (
    LevelClaim,
    LevelRow,
    MirroredSize,
    SnapshotLevels,
    delta_rows,
    encode_levels_body,
    make_levels,
    merge_levels,
    open_levels,
)
from registry.core.note import NoteSigner, NoteVerifier, sign_note
from registry.core.snapshot import (
    SnapshotHeader,
    build_filter,
    encode_snapshot,
    make_snapshot,
    open_snapshot,
    sha256_key,
    split_snapshot,
    url_key,
)

ORIGIN = "node.example.org/log"
OTHER = "other.example.org/log"


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"consent-registry vector seed: {label}".encode()).digest()


def _work(i: int) -> str:
    return hashlib.sha256(f"snapshot vector work {i}".encode()).hexdigest()


def _url(i: int) -> str:
    return f"https://example.org/works/{i}.jpg"


def _root(size: int) -> bytes:
    return hashlib.sha256(f"vector root {size}".encode()).digest()


def _invalid(name: str, error: str, **fields: object) -> dict[str, object]:
    return {"name": name, **fields, "result": "invalid", "error": error}


def _keys() -> list[dict[str, object]]:
    cases: list[dict[str, object]] = []
    for i in range(3):
        cases.append(
            {"name": f"key-sha256-{i}", "kind": "key", "subject": ["sha256", _work(i)],
             "key": f"{sha256_key(_work(i)):016x}"}
        )  # fmt: skip
        cases.append(
            {"name": f"key-url-{i}", "kind": "key", "subject": ["url", _url(i)],
             "key": f"{url_key(_url(i)):016x}"}
        )  # fmt: skip
    return cases


def _filters() -> list[dict[str, object]]:
    cases: list[dict[str, object]] = []
    for count in (0, 1, 5, 40):
        members = [sha256_key(_work(i)) for i in range(count)]
        members += [url_key(_url(i)) for i in range(count // 2)]
        others = [sha256_key(_work(1000 + i)) for i in range(20)]
        for bits in (8, 16):
            material = f"vector filter {count}".encode()
            fuse = build_filter(members, fingerprint_bits=bits, seed_material=material)
            lookups = [
                {"key": f"{k:016x}", "member": True, "hit": fuse.contains(k)} for k in members
            ]
            lookups += [
                {"key": f"{k:016x}", "member": False, "hit": fuse.contains(k)} for k in others
            ]
            cases.append(
                {
                    "name": f"filter-{count}-{bits}",
                    "kind": "filter",
                    "keys": [f"{k:016x}" for k in members],
                    "fingerprint_bits": bits,
                    "seed_material": material.hex(),
                    "seed": f"{fuse.seed:016x}",
                    "items": fuse.items,
                    "segment_length": fuse.segment_length,
                    "segment_count": fuse.segment_count,
                    "array_length": fuse.array_length,
                    "filter": fuse.data.hex(),
                    "lookups": lookups,
                }
            )  # fmt: skip
    return cases


def _snapshot_case(name: str, data: bytes, vkey: str, **extra: object) -> dict[str, object]:
    note, _ = split_snapshot(data)
    text = note.decode().split("\n\n")[0] + "\n"
    return {"name": name, "kind": "snapshot", "file": data.hex(), "verifier_key": vkey,
            "header": text, **extra}  # fmt: skip


def _snapshots() -> list[dict[str, object]]:
    node = NoteSigner.from_seed(ORIGIN, _seed("snapshot node"))
    other = NoteSigner.from_seed(OTHER, _seed("snapshot other"))
    vkey = node.verifier.vkey
    reserved = [("sha256", _work(i)) for i in range(6)] + [("url", _url(0))]
    not_reserved = [("sha256", _work(100 + i)) for i in range(4)] + [("url", _url(9))]

    def keys(subjects: list[tuple[str, str]]) -> list[int]:
        return [sha256_key(v) if k == "sha256" else url_key(v) for k, v in subjects]

    full_filter = build_filter(keys(reserved), fingerprint_bits=16, seed_material=_root(10))
    full = make_snapshot(origin=ORIGIN, size=10, root_hash=_root(10), fuse=full_filter,
                         signers=[node])  # fmt: skip
    added = [("sha256", _work(6)), ("url", _url(1))]
    delta_filter = build_filter(keys(added), fingerprint_bits=8, seed_material=_root(12))
    delta = make_snapshot(origin=ORIGIN, size=12, root_hash=_root(12), fuse=delta_filter,
                          signers=[node], kind="delta", base=10, previous=10)  # fmt: skip
    empty = make_snapshot(origin=ORIGIN, size=13, root_hash=_root(13),
                          fuse=build_filter([]), signers=[node], kind="delta", base=10,
                          previous=12)  # fmt: skip

    def lookups(filt: object, subjects: list[tuple[str, str]], member: bool) -> list[object]:
        from registry.core.snapshot import BinaryFuseFilter  # noqa: PLC0415

        assert isinstance(filt, BinaryFuseFilter)
        return [{"subject": list(s), "member": member, "hit": filt.contains(k)}
                for s, k in zip(subjects, keys(subjects), strict=True)]  # fmt: skip

    cases = [
        _snapshot_case("snapshot-full", full, vkey, name_on_server="full-10",
                       lookups=lookups(full_filter, reserved, True)
                       + lookups(full_filter, not_reserved, False)),
        _snapshot_case("snapshot-delta", delta, vkey, name_on_server="delta-10-12",
                       lookups=lookups(delta_filter, added, True)),
        _snapshot_case("snapshot-delta-empty", empty, vkey, name_on_server="delta-12-13",
                       lookups=lookups(build_filter([]), added, False)),
    ]  # fmt: skip
    note, filter_bytes = split_snapshot(full)
    flipped = bytearray(filter_bytes)
    flipped[0] ^= 1
    header = SnapshotHeader.from_text(note.decode().split("\n\n")[0] + "\n")
    bad_fpr = header.to_text().replace("fpr 1/65536", "fpr 1/100000")
    by_other = make_snapshot(origin=OTHER, size=10, root_hash=_root(10), fuse=full_filter,
                             signers=[other])  # fmt: skip
    cases += [
        _invalid("snapshot-filter-tampered", "SnapshotError", kind="snapshot",
                 file=encode_snapshot(note, bytes(flipped)).hex(), verifier_key=vkey),
        _invalid("snapshot-truncated", "SnapshotError", kind="snapshot",
                 file=full[:-1].hex(), verifier_key=vkey),
        _invalid("snapshot-note-length-too-long", "SnapshotError", kind="snapshot",
                 file=(b"\x00\x01\x00\x01" + full[4:]).hex(), verifier_key=vkey),
        _invalid("snapshot-wrong-key", "UnverifiedNoteError", kind="snapshot",
                 file=full.hex(), verifier_key=other.verifier.vkey),
        _invalid("snapshot-bad-fpr-line", "SnapshotError", kind="snapshot",
                 file=encode_snapshot(sign_note(bad_fpr, [node]), filter_bytes).hex(),
                 verifier_key=vkey),
        _invalid("snapshot-origin-not-key-name", "SnapshotError", kind="snapshot",
                 file=encode_snapshot(sign_note(header.to_text().replace(ORIGIN, OTHER),
                                                [node]), filter_bytes).hex(),
                 verifier_key=vkey),
        _invalid("snapshot-signed-by-other-log", "UnverifiedNoteError", kind="snapshot",
                 file=by_other.hex(), verifier_key=vkey),
    ]  # fmt: skip
    cases += [
        {"name": "chain-full-delta-delta", "kind": "chain",
         "snapshots": ["snapshot-full", "snapshot-delta", "snapshot-delta-empty"],
         "size": 13},
        _invalid("chain-skips-a-delta", "SnapshotError", kind="chain",
                 snapshots=["snapshot-full", "snapshot-delta-empty"]),
        _invalid("chain-starts-with-delta", "SnapshotError", kind="chain",
                 snapshots=["snapshot-delta"]),
    ]  # fmt: skip
    return cases


def _id(label: str) -> str:
    return hashlib.sha256(f"levels vector record {label}".encode()).hexdigest()


def _level_rows() -> list[LevelRow]:
    """A work attested to its owner (y) and claimed by a stranger (n); a URL bound to its
    owner's domain, whose stranger's claim is disputed; a revoked key's reservation."""
    owner = LevelClaim(
        declaration_id=_id("owner declaration"),
        levels=("platform:pics",),
        evidence=(_id("attestation"),),
        preference="y",
        counted_verified=True,
    )
    stranger = LevelClaim(
        declaration_id=_id("stranger declaration"),
        levels=(),
        evidence=(),
        preference="n",
        counted_verified=False,
    )
    domain_owner = LevelClaim(
        declaration_id=_id("domain owner declaration"),
        levels=("domain:example.org", "platform:pics"),
        evidence=tuple(sorted((_id("binding"), _id("attestation")))),
        preference=None,
        counted_verified=True,
    )
    disputed = LevelClaim(
        declaration_id=_id("disputed declaration"),
        levels=(),
        evidence=(),
        preference="n",
        counted_verified=False,
        disputed_by=(_id("counter-statement"),),
    )
    return [
        LevelRow(key=sha256_key(_work(0)), reserved=frozenset({"any"}), claims=(owner, stranger)),
        LevelRow(
            key=url_key(_url(0)), reserved=frozenset({"any"}), claims=(domain_owner, disputed)
        ),
        LevelRow(key=sha256_key(_work(1)), reserved=frozenset()),
    ]


def _row_json(row: LevelRow) -> dict[str, object]:
    return {
        "key": f"{row.key:016x}",
        "reserved": sorted(row.reserved),
        "claims": [
            {
                "declaration": c.declaration_id,
                "level": c.level,
                "levels": list(c.levels),
                "evidence": list(c.evidence),
                "preference": c.preference,
                "counted": {p: c.counted(p) for p in ("any", "verified", "verified-only")},
                "disputed_by": list(c.disputed_by),
            }
            for c in row.claims
        ],
    }


def _levels() -> list[dict[str, object]]:
    node = NoteSigner.from_seed(ORIGIN, _seed("snapshot node"))
    other = NoteSigner.from_seed(OTHER, _seed("snapshot other"))
    vkey = node.verifier.vkey
    platform = NoteSigner.from_seed("pics", _seed("levels platform"))
    platform_did = PublicKey.from_bytes(platform.verifier.public_key).did
    node_did = PublicKey.from_bytes(node.verifier.public_key).did
    reserved = [sha256_key(_work(i)) for i in range(6)] + [url_key(_url(0))]
    full = make_snapshot(origin=ORIGIN, size=10, root_hash=_root(10), signers=[node],
                         fuse=build_filter(reserved, seed_material=_root(10)))  # fmt: skip
    delta = make_snapshot(origin=ORIGIN, size=12, root_hash=_root(12), signers=[node],
                          fuse=build_filter([sha256_key(_work(6))], fingerprint_bits=8,
                                            seed_material=_root(12)),
                          kind="delta", base=10, previous=10)  # fmt: skip
    snapshot = open_snapshot(full, NoteVerifier.from_vkey(vkey))
    rows = _level_rows()
    data = make_levels(snapshot.header, rows, signers=[node], nodes=[node_did],
                       platforms={platform_did: "pics"})  # fmt: skip
    levels = open_levels(data, NoteVerifier.from_vkey(vkey), snapshot)
    empty = make_levels(snapshot.header, [], signers=[node])
    # spec §8.10.2: a node that mirrors two logs names them, by origin, with sizes and roots
    mirrors = [MirroredSize("peer-b.example/log", 7, _root(7)),
               MirroredSize("peer-a.example/log", 3, _root(3))]  # fmt: skip
    mirrored = make_levels(snapshot.header, rows, signers=[node], nodes=[node_did],
                           platforms={platform_did: "pics"}, mirrors=mirrors)  # fmt: skip
    mirrored_text = split_snapshot(mirrored)[0].decode().split("\n\n")[0] + "\n"
    a_line, b_line = (m.line() + "\n" for m in sorted(mirrors))
    swapped_text = mirrored_text.replace(a_line + b_line, b_line + a_line)
    own_text = mirrored_text.replace(a_line, f"mirror {ORIGIN} 3 {b64encode(_root(3))}\n")
    mirrored_body = split_snapshot(mirrored)[1]
    # spec §8.10.1 item 4: the delta's file holds what changed since the full one's (the
    # stranger's claim on work 0 withdrawn, work 1 back to the default, work 6 newly marked)
    # and names that file by its SHA-256
    delta_snapshot = open_snapshot(delta, NoteVerifier.from_vkey(vkey))
    at_full = {row.key: row for row in rows}
    owner_only = LevelRow(key=rows[0].key, reserved=frozenset(), claims=rows[0].claims[:1])
    newly = LevelRow(key=sha256_key(_work(6)), reserved=frozenset({"any", "verified-only"}))
    at_delta = {at_full[k].key: at_full[k] for k in (url_key(_url(0)),)}
    at_delta |= {owner_only.key: owner_only, newly.key: newly}
    delta_levels = make_levels(delta_snapshot.header, delta_rows(at_full, at_delta), signers=[node],
                               nodes=[node_did], platforms={platform_did: "pics"},
                               previous=hashlib.sha256(data).digest())  # fmt: skip
    opened_delta = open_levels(delta_levels, NoteVerifier.from_vkey(vkey), delta_snapshot)
    merged = merge_levels([levels, opened_delta])
    delta_keys = [*(sha256_key(_work(i)) for i in range(3)), url_key(_url(0)), sha256_key(_work(6))]
    no_link = make_levels(delta_snapshot.header, delta_rows(at_full, at_delta), signers=[node])

    def lookups(opened: SnapshotLevels, keys: list[int]) -> list[object]:
        return [
            {"key": f"{k:016x}", "row": opened.row(k) is not None,
             "reserved": {p: opened.reserved(k, p) for p in ("any", "verified", "verified-only")}}
            for k in keys
        ]  # fmt: skip

    keys = [sha256_key(_work(i)) for i in range(3)] + [url_key(_url(0))]
    note, body = split_snapshot(data)
    text = note.decode().split("\n\n")[0] + "\n"
    flipped = bytearray(body)
    flipped[-1] ^= 1
    unsorted = encode_levels_body(rows)
    # the rows' keys swapped: a body out of order, re-signed so only the body rule refuses it
    table = len(unsorted) - 3 * 11
    bad = bytearray(unsorted)
    bad[table : table + 11], bad[table + 11 : table + 22] = (
        unsorted[table + 11 : table + 22], unsorted[table : table + 11])  # fmt: skip
    bad_text = text.replace(
        f"body-sha256 {hashlib.sha256(body).hexdigest()}",
        f"body-sha256 {hashlib.sha256(bytes(bad)).hexdigest()}",
    )
    return [
        {"name": "levels-full", "kind": "levels", "file": data.hex(), "snapshot": full.hex(),
         "verifier_key": vkey, "header": text, "rows": [_row_json(r) for r in levels.rows],
         "lookups": lookups(levels, keys)},
        {"name": "levels-empty", "kind": "levels", "file": empty.hex(), "snapshot": full.hex(),
         "verifier_key": vkey, "header": split_snapshot(empty)[0].decode().split("\n\n")[0]
         + "\n", "rows": [],
         "lookups": lookups(open_levels(empty, NoteVerifier.from_vkey(vkey), snapshot), keys)},
        {"name": "levels-mirrors", "kind": "levels", "file": mirrored.hex(),
         "snapshot": full.hex(), "verifier_key": vkey, "header": mirrored_text,
         "mirrors": [{"origin": m.origin, "size": m.size, "root": b64encode(m.root_hash)}
                     for m in sorted(mirrors)],
         "rows": [_row_json(r) for r in levels.rows], "lookups": lookups(levels, keys)},
        {"name": "levels-delta", "kind": "levels", "file": delta_levels.hex(),
         "snapshot": delta.hex(), "verifier_key": vkey,
         "header": split_snapshot(delta_levels)[0].decode().split("\n\n")[0] + "\n",
         "previous_levels": hashlib.sha256(data).hexdigest(), "follows": "levels-full",
         "rows": [_row_json(r) for r in opened_delta.rows],
         "lookups": lookups(opened_delta, delta_keys),
         "merged_rows": [_row_json(r) for r in merged.rows],
         "merged_lookups": lookups(merged, delta_keys)},
        _invalid("levels-delta-without-previous", "SnapshotError", kind="levels",
                 file=no_link.hex(), snapshot=delta.hex(), verifier_key=vkey),
        _invalid("levels-full-with-previous", "SnapshotError", kind="levels",
                 file=make_levels(snapshot.header, rows, signers=[node],
                                  previous=hashlib.sha256(data).digest()).hex(),
                 snapshot=full.hex(), verifier_key=vkey),
        _invalid("levels-mirrors-out-of-order", "SnapshotError", kind="levels",
                 file=encode_snapshot(sign_note(swapped_text, [node]), mirrored_body).hex(),
                 snapshot=full.hex(), verifier_key=vkey),
        _invalid("levels-mirror-of-own-log", "SnapshotError", kind="levels",
                 file=encode_snapshot(sign_note(own_text, [node]), mirrored_body).hex(),
                 snapshot=full.hex(), verifier_key=vkey),
        _invalid("levels-body-tampered", "SnapshotError", kind="levels",
                 file=encode_snapshot(note, bytes(flipped)).hex(), snapshot=full.hex(),
                 verifier_key=vkey),
        _invalid("levels-of-another-snapshot", "SnapshotError", kind="levels",
                 file=data.hex(), snapshot=delta.hex(), verifier_key=vkey),
        _invalid("levels-wrong-key", "UnverifiedNoteError", kind="levels",
                 file=data.hex(), snapshot=full.hex(), verifier_key=other.verifier.vkey),
        _invalid("levels-rows-out-of-order", "SnapshotError", kind="levels",
                 file=encode_snapshot(sign_note(bad_text, [node]), bytes(bad)).hex(),
                 snapshot=full.hex(), verifier_key=vkey),
    ]  # fmt: skip


def generate() -> dict[str, object]:
    """Return ``{"snapshots.json": ..., "snapshot-levels.json": ...}`` (spec §8)."""
    return {
        "snapshot-levels.json": {
            "description": (
                "Levels files of snapshots (spec §8.10): each file with the snapshot file it "
                "belongs to (both hex) and the node's verifier key; its header text, rows "
                "(keys as 16 lowercase hex digits, 'counted' per policy), the mirrored logs "
                "its header names (spec §8.10.2, where present) and lookups: 'row' false is "
                "the default answer of spec §8.10.1. A delta's file ('follows' names the case "
                "of the file before it, 'previous_levels' its SHA-256) gives its own rows and "
                "lookups and those of the chain merged (spec §8.10.5)."
            ),
            "cases": _levels(),
        },
        "snapshots.json": {
            "description": (
                "Offline snapshots (spec §8): subject keys, binary fuse filters, signed "
                "snapshot files and chains. Keys and seeds are 16 lowercase hex digits, "
                "files and filters lowercase hex. 'hit' is what the lookup of spec §8.4.2 "
                "answers; every member is a hit."
            ),
            "cases": _keys() + _filters() + _snapshots(),
        },
    }
