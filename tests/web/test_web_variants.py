"""Crops of images declared in the web app (spec §2.4 ``pdq_variants``), in real headless
Chromium against a real node: the browser declares the same variants as the Python SDK on the
same pixels, and copies of the work cropped by 5% or framed by a 5% border, which the image's
own PDQ hash alone does not find, are found by the SDK's recommended check and by the web app's
lookup page (spec §6.8.3 item 6)."""

from __future__ import annotations

from pathlib import Path

import httpx
from consent.client import ConsentClient
from consent.fingerprint import fingerprint, pdq_query_hashes_of_file
from PIL import Image, ImageOps
from playwright.sync_api import expect

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
