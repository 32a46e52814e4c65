"""Near-duplicates that survive what copies go through (spec §2.4 ``pdq_variants``, §6.8.3,
ADR 0011): a creator declares real photographs (scikit-image's bundled samples) through a real
``registry serve`` process; a crawler holding a cropped, framed, captioned, flipped or rotated
copy finds the reservation with ``consent check``, where one PDQ hash per side does not."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skimage.data
from consent import ConsentClient, fingerprint, pdq_distance
from consent.creator import Creator
from consent.fingerprint import (
    CONFIRMING_CROPS,
    DECLARED_CROPS,
    PDQ_CONFIRMATIONS,
    PDQ_CUT_DISTANCE,
    PDQ_FLIP_CONFIRMED_DISTANCE,
    PDQ_MATCH_DISTANCE,
    PDQ_TURN_DISTANCE,
    PDQ_WEAK_DISTANCE,
    PdqQuery,
    fingerprint_bytes,
    pdq_of_image,
    pdq_query_hashes,
    pdq_query_of_bytes,
    pdq_variants_of_image,
    trim_border,
)
from consent.receipts import ReceiptStore
from PIL import Image, ImageDraw, ImageFont, ImageOps

from registry.core.records import (
    MAX_PDQ_VARIANTS,
    encode_record,
    new_declaration,
    new_work,
    sign_declaration,
)
from registry.wire import PdqResult
from tests.clients.sdk_support import CONSENT, creator_key, in_process_node


def _photo(name: str) -> Image.Image:
    array: np.ndarray = getattr(skimage.data, name)()
    return Image.fromarray(array).convert("RGB")


def _crop(image: Image.Image, loss: float, ax: float, ay: float) -> Image.Image:
    w, h = image.size
    cw, ch = round(w * (1 - loss)), round(h * (1 - loss))
    x, y = round((w - cw) * ax), round((h - ch) * ay)
    return image.crop((x, y, x + cw, y + ch))


def _caption(image: Image.Image) -> Image.Image:
    image = image.copy()
    w, h = image.size
    font = ImageFont.load_default(size=h // 12)
    ImageDraw.Draw(image).text((w // 6, h - h // 8), "do not repost", font=font, fill="white",
                               stroke_width=3, stroke_fill="black")  # fmt: skip
    return image


COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "cropped-5-right-bottom.jpg": lambda im: _crop(im, 0.05, 1.0, 1.0),
    "cropped-10-centre.jpg": lambda im: _crop(im, 0.10, 0.5, 0.5),
    "framed.png": lambda im: ImageOps.expand(im, (im.width // 20, im.height // 20), fill="white"),
    "captioned.jpg": _caption,
    "mirrored.jpg": ImageOps.mirror,
    "rotated.png": lambda im: im.transpose(Image.Transpose.ROTATE_90),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The creator's folder (two photographs) and a crawler's folder of edited copies of the
    first, plus an unrelated photograph nobody declared."""
    root = tmp_path_factory.mktemp("neardup")
    works, copies = root / "works", root / "copies"
    works.mkdir()
    copies.mkdir()
    astronaut = _photo("astronaut")
    astronaut.save(works / "astronaut.png")
    _photo("rocket").save(works / "rocket.png")
    for name, make in COPIES.items():
        make(astronaut).save(copies / name, quality=85)
    _photo("coffee").save(copies / "unrelated-coffee.png")
    return works, copies


def test_a_declared_image_carries_the_pdq_of_its_crops(folders: tuple[Path, Path]) -> None:
    works, _ = folders
    fp = fingerprint(works / "astronaut.png")
    assert fp.pdq is not None
    assert fp.pdq_quality is not None
    assert fp.pdq_quality >= 50
    assert 9 <= len(fp.pdq_variants) <= min(len(DECLARED_CROPS), MAX_PDQ_VARIANTS)
    assert list(fp.pdq_variants) == sorted(set(fp.pdq_variants))
    assert fp.pdq not in fp.pdq_variants
    # ``variants=False`` (what a checker uses) and images without PDQ carry none
    assert fingerprint(works / "astronaut.png", variants=False).pdq_variants == ()
    assert fingerprint(works / "astronaut.png", pdq=False).pdq_variants == ()


def test_query_hashes_line_up_with_declared_crops() -> None:
    """Each query hash is asked at the distance of its kind (spec §6.8.3 item 6)."""
    image = _photo("astronaut")
    declared = [*pdq_variants_of_image(image)]
    copy = _crop(image, 0.05, 0.0, 0.0)
    query = pdq_query_hashes(copy)
    groups = query.by_distance()
    # the copy itself (no border to trim) and its 7 other flips and rotations ...
    assert groups[PDQ_MATCH_DISTANCE][0] == query.pdq
    assert len(groups[PDQ_MATCH_DISTANCE]) == 8
    assert query.pdq == pdq_of_image(copy)[0]
    # ... whose matches stand alone within 8 bits, beyond only if 2 of their crops agree
    flips = [flip for flip, _ in query.confirm]
    assert flips == groups[PDQ_MATCH_DISTANCE][1:]
    assert [query.standing()[flip] for flip in flips] == [PDQ_TURN_DISTANCE] * 7
    assert [len(crops) for _, crops in query.confirm] == [len(CONFIRMING_CROPS)] * 7
    assert PDQ_FLIP_CONFIRMED_DISTANCE == PDQ_MATCH_DISTANCE
    assert 18 + 7 * 9 <= len(groups[PDQ_CUT_DISTANCE]) <= 90 + 7 * 9
    assert PDQ_WEAK_DISTANCE not in groups  # a detailed photograph has no weak hash
    assert min(pdq_distance(q, d) for q in groups[PDQ_CUT_DISTANCE] for d in declared) <= 16
    assert query.matches(*declared)
    assert not query.matches(pdq_of_image(image)[0])  # the whole image alone does not
    framed = ImageOps.expand(image, 25, fill=(0, 0, 0))
    assert trim_border(framed).size == image.size
    assert trim_border(image).size == image.size
    # ... and the copy without its frame, at the whole-image distance
    assert len(pdq_query_hashes(framed).by_distance()[PDQ_MATCH_DISTANCE]) == 2 + 7


def test_downloaded_bytes_are_asked_like_files() -> None:
    """``pdq_query_of_bytes`` (a crawler's download): the copy's own PDQ hash (what
    ``fingerprint_bytes`` gives) and every query hash; None for bytes that are no image."""
    image = _photo("astronaut")
    buffer = io.BytesIO()
    _crop(image, 0.05, 1.0, 1.0).save(buffer, "JPEG", quality=80)
    data = buffer.getvalue()
    query = pdq_query_of_bytes(data)
    assert query is not None
    assert query.pdq == fingerprint_bytes(data).pdq
    assert dict(query.asks)[query.pdq] == PDQ_MATCH_DISTANCE
    assert len(query.asks) > 20
    assert query.matches(*pdq_variants_of_image(image))
    assert query.confirm  # flips and their crops are carried over
    assert pdq_query_of_bytes(b"plain text, no image") is None
    assert pdq_query_of_bytes(b"") is None


def test_weak_and_symmetric_images_are_asked_within_their_distances() -> None:
    """A low-quality hash (a flat gradient) is asked within at most 16 bits; a hash that is
    both the image's own and a flip of it (a mirror-symmetric picture) at the larger."""
    flat = Image.linear_gradient("L").resize((256, 256)).convert("RGB")
    assert pdq_of_image(flat)[1] < 70
    weak = pdq_query_hashes(flat)
    assert max(distance for _, distance in weak.asks) <= PDQ_WEAK_DISTANCE
    half = _photo("astronaut").resize((128, 256))
    symmetric = Image.new("RGB", (256, 256))
    symmetric.paste(half, (0, 0))
    symmetric.paste(ImageOps.mirror(half), (128, 0))
    query = pdq_query_hashes(symmetric)
    assert dict(query.asks)[query.pdq] == PDQ_MATCH_DISTANCE
    assert len({h for h, _ in query.asks}) == len(query.asks)


def _mirrored_resized(image: Image.Image) -> Image.Image:
    """A mirrored copy, also resized to half and re-encoded at quality 70."""
    small = ImageOps.mirror(image).resize((image.width // 2, image.height // 2))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=70)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_a_mirrored_and_resized_copy_is_found_when_the_flips_crops_agree() -> None:
    """The mirror of the copy lies 9-31 bits from the declared hash (beyond the 8 a flip
    stands alone within); 2 of its crops matching the declared crops confirm it."""
    image = _photo("astronaut")
    declared = [pdq_of_image(image)[0], *pdq_variants_of_image(image)]
    query = pdq_query_hashes(_mirrored_resized(image))
    mirror, crops = query.confirm[0]  # FLIP_LEFT_RIGHT comes first in Image.Transpose
    assert PDQ_TURN_DISTANCE < pdq_distance(mirror, declared[0]) <= PDQ_FLIP_CONFIRMED_DISTANCE
    agreeing = [c for c in crops if min(pdq_distance(c, d) for d in declared) <= 26]
    assert len(agreeing) >= PDQ_CONFIRMATIONS
    assert query.matches(*declared)
    # without the confirmation, nothing else of the copy finds the work
    assert not PdqQuery(query.pdq, query.asks, query.alone).matches(*declared)


def _consent(*args: str, node: str, cwd: Path) -> dict[str, Any]:
    result = subprocess.run(
        [CONSENT, *args, "--json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")},
            "CONSENT_NODE": node,
        },
        timeout=300,
        check=True,
    )
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_edited_copies_check_as_reserved_through_a_real_node(
    served_node: str, folders: tuple[Path, Path], tmp_path: Path
) -> None:
    works, copies = folders
    declared = [fingerprint(works / name) for name in ("astronaut.png", "rocket.png")]
    with ConsentClient(served_node) as node:
        creator = Creator(creator_key(14), node, ReceiptStore(tmp_path / "receipts"))
        creator.declare(declared, prefs={"train-ai": "n"})
        # one PDQ hash per side (what checkers did before) misses every edited copy
        singles = node.check_pdq([fingerprint(copies / name).pdq or "" for name in COPIES])
        assert [r.matches for r in singles[::2]] == [[]] * 3  # the 5% crop, frame, mirror
        # (a centre crop keeping 90% is itself a declared crop, spec §2.4: even its single
        # hash matches a declared variant)
        assert [m.sha256 for m in singles[1].matches] == [declared[0].sha256]
        # every query hash of each copy, as the recommended check asks (spec §6.8.3)
        copy_hashes = [pdq_query_hashes(Image.open(copies / name)) for name in COPIES]
        found = node.check_pdq_copies(copy_hashes)
        assert [r.reserved() for r in found] == [True] * len(COPIES)
        assert {m.sha256 for r in found for m in r.matches} == {declared[0].sha256}

    report = _consent("check", str(copies), "--near", node=served_node, cwd=tmp_path)
    rows = {Path(row["item"]).name: row for row in report["results"]}
    for name in COPIES:
        assert rows[name]["prefs"] == {"train-ai": "n"}, name
        assert rows[name]["decided_by"] == "registry (near-duplicate)"
        assert [m["sha256"] for m in rows[name]["near"]] == [declared[0].sha256]
    assert rows["unrelated-coffee.png"]["prefs"] == {}
    assert "near" not in rows["unrelated-coffee.png"] or not rows["unrelated-coffee.png"]["near"]
    assert report["reserved"] == len(COPIES)


async def test_async_client_checks_copies_and_merges_their_matches(tmp_path: Path) -> None:
    """``AsyncConsentClient.check_pdq_copies``: one result per copy, the work once at its
    smallest distance, reserved through a declared crop; an undeclared photograph is not."""
    astronaut = _photo("astronaut")
    path = tmp_path / "astronaut.png"
    astronaut.save(path)
    fp = fingerprint(path, iscc=False)
    work = new_work(fp.sha256, pdq=fp.pdq, pdq_quality=fp.pdq_quality,
                    pdq_variants=fp.pdq_variants)  # fmt: skip
    key = creator_key(15)
    record = new_declaration(
        creator=key.public_key.did, issued_at=1_700_000_000, works=[work], prefs={"train-ai": "n"}
    )
    async with in_process_node(tmp_path / "node") as node:
        await node.submit(encode_record(sign_declaration(record, key)))
        cropped = pdq_query_hashes(_crop(astronaut, 0.10, 0.0, 1.0))
        unrelated = pdq_query_hashes(_photo("coffee"))
        mirrored = pdq_query_hashes(_mirrored_resized(astronaut))
        found, other, flipped = await node.check_pdq_copies([cropped, unrelated, mirrored])
    assert [m.sha256 for m in flipped.matches] == [fp.sha256]
    assert PDQ_TURN_DISTANCE < flipped.matches[0].distance <= PDQ_MATCH_DISTANCE
    assert flipped.reserved()
    assert found.pdq == cropped.pdq
    assert found.reserved()
    assert [m.sha256 for m in found.matches] == [fp.sha256]
    assert found.matches[0].distance <= 31
    assert other.matches == []
    assert not other.reserved()


def _flipped(hex_hash: str, bits: int) -> str:
    """``hex_hash`` with its first ``bits`` bits inverted: exactly ``bits`` away."""
    value = int(hex_hash, 16) ^ (((1 << bits) - 1) << (256 - bits))
    return value.to_bytes(32, "big").hex()


def _weak_and_strong_declaration(seed: int) -> tuple[bytes, str, str]:
    """A declaration of two works, as a creator's tool might hash them: one of PDQ quality
    55 (a flat, low-contrast image), one of quality 90; their hashes and the entry."""
    weak, strong = "0f" * 32, "35" * 32
    works = [
        new_work("aa" * 32, pdq=weak, pdq_quality=55),
        new_work("bb" * 32, pdq=strong, pdq_quality=90),
    ]
    key = creator_key(seed)
    record = new_declaration(
        creator=key.public_key.did, issued_at=1_700_000_000, works=works, prefs={"train-ai": "n"}
    )
    return encode_record(sign_declaration(record, key)), weak, strong


def _weak_gate_queries(weak: str, strong: str) -> list[PdqQuery]:
    """Copies asked as the recommended check would ask a high-quality hash (within 31): 20
    bits from each declared hash, and 12 bits from the weak one."""
    return [
        PdqQuery(pdq=q, asks=((q, PDQ_MATCH_DISTANCE),))
        for q in (_flipped(weak, 20), _flipped(strong, 20), _flipped(weak, PDQ_WEAK_DISTANCE - 4))
    ]


def _check_weak_gate(results: list[PdqResult]) -> None:
    far_from_weak, far_from_strong, near_weak = results
    # the node itself answers the weak work within 31 bits ...
    assert far_from_weak.matches == []  # ... the check drops it beyond 16: quality 55 < 70
    assert not far_from_weak.reserved()
    assert [(m.sha256, m.distance) for m in far_from_strong.matches] == [("bb" * 32, 20)]
    assert far_from_strong.reserved()
    assert [(m.sha256, m.distance) for m in near_weak.matches] == [("aa" * 32, 12)]
    assert near_weak.reserved()


def test_a_weak_declared_image_matches_only_within_the_weak_distance(served_node: str) -> None:
    """spec §6.8.3 item 6: a declared image whose PDQ quality is below 70 matches only within
    16 bits; the checker reads the quality from the match's declaration."""
    entry, weak, strong = _weak_and_strong_declaration(16)
    with ConsentClient(served_node) as node:
        node.submit(entry)
        single = node.check_pdq([_flipped(weak, 20)])[0]
        assert [m.sha256 for m in single.matches] == ["aa" * 32]  # what the node answers
        _check_weak_gate(node.check_pdq_copies(_weak_gate_queries(weak, strong)))


async def test_async_client_drops_far_matches_of_weak_declared_images(tmp_path: Path) -> None:
    entry, weak, strong = _weak_and_strong_declaration(17)
    async with in_process_node(tmp_path / "node") as node:
        await node.submit(entry)
        _check_weak_gate(await node.check_pdq_copies(_weak_gate_queries(weak, strong)))


async def test_a_flips_farther_match_stands_only_with_two_of_its_crops(tmp_path: Path) -> None:
    """spec §6.8.3 item 6: a flip matching a work 9-31 bits away counts only if 2 of its crops
    match the same work; the crops' own matches never count alone."""
    flip, crop_a, crop_b = "0f" * 32, "35" * 32, "c3" * 32
    confirmed = new_work("aa" * 32, pdq=_flipped(flip, 20), pdq_quality=90,
                         pdq_variants=[_flipped(crop_a, 5), _flipped(crop_b, 5)])  # fmt: skip
    lone = new_work("bb" * 32, pdq=_flipped(flip, 22), pdq_quality=90,
                    pdq_variants=[_flipped(crop_a, 6)])  # fmt: skip
    key = creator_key(18)
    record = new_declaration(creator=key.public_key.did, issued_at=1_700_000_000,
                             works=[confirmed, lone], prefs={"train-ai": "n"})  # fmt: skip
    query = PdqQuery(
        pdq=flip,
        asks=((flip, PDQ_MATCH_DISTANCE), (crop_a, PDQ_CUT_DISTANCE), (crop_b, PDQ_CUT_DISTANCE)),
        alone=((flip, PDQ_TURN_DISTANCE), (crop_a, -1), (crop_b, -1)),
        confirm=((flip, (crop_a, crop_b)),),
    )
    async with in_process_node(tmp_path / "node") as node:
        await node.submit(encode_record(sign_declaration(record, key)))
        (found,) = await node.check_pdq_copies([query])
        # what the node answers for the flip alone: both works
        (single,) = await node.check_pdq([flip], max_distance=PDQ_MATCH_DISTANCE)
    assert {m.sha256 for m in single.matches} == {"aa" * 32, "bb" * 32}
    assert [(m.sha256, m.distance) for m in found.matches] == [("aa" * 32, 20)]
    assert query.matches(confirmed.pdq or "", *confirmed.pdq_variants)
    assert not query.matches(lone.pdq or "", *lone.pdq_variants)
