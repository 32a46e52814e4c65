"""Crops of images declared in the web app (spec §2.4 ``pdq_variants``), in real headless
Chromium against a real node: the browser declares the same variants as the Python SDK on the
same pixels, and copies of the work cropped by 5% or framed by a 5% border, which the image's
own PDQ hash alone does not find, are found by the SDK's recommended check and by the web app's
lookup page (spec §6.8.3 item 6). The lookup page keeps the matches the SDK's check_pdq_copies
keeps: a mirrored and resized copy whose mirror lies beyond 8 bits stands through its crops'
agreement, and a match beyond 16 bits of a declared image of PDQ quality below 70 is dropped."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import httpx
from consent.client import ConsentClient
from consent.fingerprint import (
    PDQ_TURN_DISTANCE,
    PdqQuery,
    fingerprint,
    pdq_distance,
    pdq_query_hashes_of_file,
)
from PIL import Image, ImageOps
from playwright.sync_api import Locator, Page, expect

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.web.conftest import WatchedPage
from tests.web.images import photo
from tests.web.test_web_app import create_key, drop_file


def cropped(source: Path, target: Path) -> Path:
    """``source`` without 5% of its width at the left and 5% of its height at the top."""
    with Image.open(source) as image:
        left, top = image.width * 5 // 100, image.height * 5 // 100
        image.crop((left, top, image.width, image.height)).save(target, format="PNG")
    return target


def framed(source: Path, target: Path) -> Path:
    """``source`` inside a white frame as wide as 5% of its sides, re-encoded as a JPEG."""
    with Image.open(source) as image:
        pad = (image.width * 5 // 100, image.height * 5 // 100)
        ImageOps.expand(image, border=pad, fill="white").save(target, format="JPEG", quality=90)
    return target


def test_declared_variants_find_crops_and_frames(
    node: str, watched: WatchedPage, tmp_path: Path
) -> None:
    page = watched.page
    page.goto(node + "/#/declare")
    did = create_key(page, tmp_path)
    work = tmp_path / "painting.png"
    photo(4242).save(work, format="PNG")
    page.get_by_test_id("pick-files").set_input_files([work])
    expect(page.get_by_test_id("hashed")).to_have_text("1 file fingerprinted", timeout=60_000)
    page.get_by_role("button", name="Sign and submit 1 work").click()
    expect(page.get_by_test_id("submitted")).to_contain_text("Declarations now in the node's log")

    # The declaration the browser signed carries the SDK's pdq_variants for the same pixels (a
    # PNG of at most 1024 pixels a side: the browser decodes exactly the pixels Pillow does).
    sdk = fingerprint(work, iscc=False)
    claimed = httpx.get(f"{node}/v1/works/sha256/{sdk.sha256}").json()
    assert [c["creator"] for c in claimed["claims"]] == [did]
    record = httpx.get(f"{node}/v1/declarations/{claimed['declarations'][0]}").json()["record"]
    [declared] = record["works"]
    assert declared["pdq"] == sdk.pdq
    assert len(sdk.pdq_variants) >= 8
    assert declared["pdq_variants"] == list(sdk.pdq_variants)

    crop = cropped(work, tmp_path / "crop.png")
    frame = framed(work, tmp_path / "frame.jpg")
    client = ConsentClient(node)
    for copy in (crop, frame):
        query = pdq_query_hashes_of_file(fingerprint(copy, iscc=False))
        # the copy's own PDQ hash alone misses the work: PDQ is not robust to crops and frames
        alone = httpx.get(f"{node}/v1/works/pdq/{query.pdq}").json()
        assert alone["matches"] == [], copy.name
        # the recommended check, through the declared crops, finds it
        [result] = client.check_pdq_copies([query])
        assert [m.sha256 for m in result.matches] == [sdk.sha256], copy.name
        assert result.matches[0].pdq in declared["pdq_variants"], copy.name
        assert result.prefs == {"train-ai": "n"}

        # and so does the web app's lookup page, which asks the same hashes
        page.goto(node + "/#/check")
        drop_file(page, copy, "image/png" if copy.suffix == ".png" else "image/jpeg")
        near = page.get_by_test_id("near")
        expect(near).to_contain_text(did, timeout=60_000)
        expect(near).to_contain_text("AI training: no")
        page.goto(node + "/#/declare")


def mirrored_resized(source: Path, target: Path) -> Path:
    """``source`` mirrored, resized to half and re-encoded as a JPEG of quality 70, then kept
    as a PNG (so that the browser decodes exactly the pixels Pillow does)."""
    with Image.open(source) as image:
        small = ImageOps.mirror(image).resize((image.width // 2, image.height // 2))
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=70)
    with Image.open(io.BytesIO(buffer.getvalue())) as copy:
        copy.convert("RGB").save(target, format="PNG")
    return target


def submit(node: str, seed: int, works: list[dict[str, object]]) -> str:
    """A declaration of ``works`` (``new_work`` arguments) signed by a test key, submitted to
    the node as a creator's own tool would; the creator's DID."""
    key = PrivateKey.from_seed(hashlib.sha256(b"web variants %d" % seed).digest())
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=int(time.time()),
        works=[new_work(**work) for work in works],  # type: ignore[arg-type]
        prefs={"train-ai": "n"},
    )
    with ConsentClient(node) as client:
        client.submit(encode_record(sign_declaration(record, key)))
    return key.public_key.did


def look_up(page: Page, node: str, copy: Path) -> Locator:
    page.goto(node + "/#/check")
    drop_file(page, copy, "image/png")
    result = page.get_by_test_id("result")
    expect(result).to_be_visible(timeout=60_000)
    return result


def test_a_mirrored_resized_copy_is_found_through_its_flips_crops(
    node: str, watched: WatchedPage, tmp_path: Path
) -> None:
    """The copy's mirror lies beyond the 8 bits a flip stands alone within; 2 of the mirror's
    crops matching the declared crops confirm it: the SDK and the lookup page find the work,
    which neither would without the confirmation."""
    work = tmp_path / "mirrored-work.png"
    photo(4244).save(work, format="PNG")
    fp = fingerprint(work, iscc=False)
    assert fp.pdq is not None
    did = submit(
        node,
        1,
        [
            {
                "sha256": fp.sha256,
                "pdq": fp.pdq,
                "pdq_quality": fp.pdq_quality,
                "pdq_variants": list(fp.pdq_variants),
            }
        ],
    )
    copy = mirrored_resized(work, tmp_path / "mirrored.png")
    query = pdq_query_hashes_of_file(fingerprint(copy, iscc=False))
    mirror = query.confirm[0][0]  # FLIP_LEFT_RIGHT first
    assert pdq_distance(mirror, fp.pdq) > PDQ_TURN_DISTANCE
    declared = [fp.pdq, *fp.pdq_variants]
    assert query.matches(*declared)
    assert not PdqQuery(query.pdq, query.asks, query.alone).matches(*declared)
    with ConsentClient(node) as client:
        [result] = client.check_pdq_copies([query])
    assert [m.sha256 for m in result.matches] == [fp.sha256]

    near = look_up(watched.page, node, copy).get_by_test_id("near")
    expect(near).to_contain_text(did)
    expect(near).to_contain_text(fp.sha256[:16])
    expect(near.locator(":scope > li")).to_have_count(1)


def _flipped(hex_hash: str, mask: int) -> str:
    return (int(hex_hash, 16) ^ mask).to_bytes(32, "big").hex()


def test_a_weak_declared_image_is_not_matched_beyond_16_bits(
    node: str, watched: WatchedPage, tmp_path: Path
) -> None:
    """Two works declared 20 bits from an image's PDQ hash, one of PDQ quality 55 and one of
    90: the SDK and the lookup page (which reads the quality from the declaration) keep only
    the second."""
    image = tmp_path / "weak-gate.png"
    photo(5151).save(image, format="PNG")
    fp = fingerprint(image, iscc=False)
    assert fp.pdq is not None
    first, last = ((1 << 20) - 1) << 236, (1 << 20) - 1  # 20 bits: the first, the last
    weak, strong = "aa" * 32, "bb" * 32
    submit(
        node,
        2,
        [
            {"sha256": weak, "pdq": _flipped(fp.pdq, first), "pdq_quality": 55},
            {"sha256": strong, "pdq": _flipped(fp.pdq, last), "pdq_quality": 90},
        ],
    )
    query = pdq_query_hashes_of_file(fp)
    with ConsentClient(node) as client:
        answered = client.check_pdq([fp.pdq])[0]
        [result] = client.check_pdq_copies([query])
    assert {m.sha256 for m in answered.matches} == {weak, strong}  # the node answers both
    assert [(m.sha256, m.distance) for m in result.matches] == [(strong, 20)]

    near = look_up(watched.page, node, image).get_by_test_id("near")
    expect(near).to_contain_text(strong[:16])
    expect(near.locator(":scope > li")).to_have_count(1)
    expect(near).not_to_contain_text(weak[:16])
