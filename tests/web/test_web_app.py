"""The web app in real headless Chromium against a real node process (issue 13).

A creator creates a key in the browser (and its backup opens with the Python SDK), picks a
folder of generated photographs, which are fingerprinted in the browser, signs and submits
them, downloads the receipts, and the receipts verify with the ``consent`` CLI; a resized,
re-encoded copy dropped on the lookup page shows the claim, whose receipt verifies in the
browser; a withdrawal made on the page shows on the node. Every page: no console error, no
serious accessibility violation (axe-core), and no English left in the Indonesian interface.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from consent.fingerprint import fingerprint, pdq_distance
from consent.keyfile import load_key
from playwright.sync_api import Browser, Page, Request, expect

from tests.web.conftest import WatchedPage, new_context
from tests.web.images import near_duplicate, photo, write_folder
from tests.web.support import AXE_JS, ROOT

PASSPHRASE = "correct horse battery staple"
CONSENT = str(Path(sys.executable).with_name("consent"))
PAGES = ["declare", "check", "status"]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def create_key(page: Page, tmp_path: Path) -> str:
    """Create a key on the declare page, download its backup; return the DID."""
    page.get_by_role("button", name="Create a new key").click()
    page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    page.get_by_label("Passphrase again").fill(PASSPHRASE)
    page.get_by_role("button", name="Create a new key").click()
    # a new key is followed by the prompt to download its backup
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Download a backup of my key").click()
    backup = tmp_path / "backup-key.json"
    download.value.save_as(backup)
    dialog.get_by_role("button", name="I saved it").click()
    did = page.get_by_test_id("did").inner_text()
    # The same format as `consent keygen`: the Python SDK opens the browser's key file.
    assert load_key(backup, PASSPHRASE).public_key.did == did
    return did


def drop_file(page: Page, path: Path, mime: str) -> None:
    """Drop ``path`` on the page's drop zone, as a user dragging it from a file manager."""
    payload = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([data, name, type]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type }));
            return transfer;
        }""",
        [payload, path.name, mime],
    )
    page.get_by_test_id("dropzone").dispatch_event("drop", {"dataTransfer": transfer})


def test_creator_journey(node: str, watched: WatchedPage, tmp_path: Path, shots: Path) -> None:
    page = watched.page
    page.goto(node + "/#/declare")
    did = create_key(page, tmp_path)

    # a folder of photographs, chosen with the folder picker, fingerprinted on the device
    folder = tmp_path / "portfolio"
    paths = write_folder(folder, 6)
    page.locator("input[webkitdirectory]").set_input_files(folder)
    expect(page.get_by_test_id("hashed")).to_have_text("6 files fingerprinted", timeout=60_000)
    for path in paths:
        expect(page.get_by_role("cell", name=f"portfolio/{path.name}")).to_be_visible()
    page.screenshot(path=shots / "declare-review.png", full_page=True)

    page.get_by_role("button", name="Sign and submit 6 works").click()
    expect(page.get_by_test_id("submitted")).to_have_text(
        "Done. Declarations now in the node's log: 1.", timeout=60_000
    )

    # the node holds the claim, by the DID the page showed, with the PDQ the browser computed
    work = httpx.get(f"{node}/v1/works/sha256/{sha256_file(paths[0])}").json()
    assert work["prefs"] == {"train-ai": "n"}
    assert [c["creator"] for c in work["claims"]] == [did]

    # receipts: downloaded as a zip, each verified by the Python CLI
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the receipts (.zip)").click()
    archive = tmp_path / "receipts.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "receipts")
    receipts = sorted((tmp_path / "receipts" / "consent-receipts").glob("*.json"))
    assert len(receipts) == 1
    stored = json.loads(receipts[0].read_text())
    assert sorted(stored["files"]) == sorted(sha256_file(p) for p in paths)
    verified = subprocess.run(
        [CONSENT, "verify", "--json", str(receipts[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["creator"] == did

    # "my declarations": file names and a human date
    mine = page.get_by_test_id("mine")
    expect(mine).to_contain_text("portfolio/artwork-01.png")
    expect(mine).to_contain_text("current")
    page.screenshot(path=shots / "declare-done.png", full_page=True)

    # a resized, re-encoded copy dropped on the lookup page finds the claim (near-duplicate)
    copy = near_duplicate(paths[0], tmp_path / "copy.jpg")
    page.goto(node + "/#/check")
    drop_file(page, copy, "image/jpeg")
    near = page.get_by_test_id("near")
    expect(near).to_contain_text(did, timeout=60_000)
    expect(near).to_contain_text("AI training: no")
    expect(page.get_by_test_id("result")).to_contain_text("Nobody has declared this work")
    near.get_by_role("button", name="Verify its receipt").first.click()
    expect(near).to_contain_text("Receipt verified in this browser", timeout=30_000)
    page.screenshot(path=shots / "check-near-duplicate.png", full_page=True)

    # the same work by hash, pasted
    page.get_by_label("Web address or hash").fill(sha256_file(paths[1]))
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_test_id("result")).to_contain_text("Reserved: AI training not allowed")

    # withdrawal from the page shows on the node
    page.goto(node + "/#/declare")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_test_id("mine")).to_contain_text("withdrawn", timeout=60_000)
    work = httpx.get(f"{node}/v1/works/sha256/{sha256_file(paths[0])}").json()
    assert work["claims"] == []
    assert work["prefs"] == {}
    near_answer = httpx.get(f"{node}/v1/works/pdq/{stored_pdq(stored)}").json()
    assert near_answer["matches"] == []


def stored_pdq(stored: dict[str, object]) -> str:
    entry = json.loads(str(stored["entry"]))
    pdq: str = entry["works"][0]["pdq"]
    return pdq


def test_imported_cli_key_signs(node: str, watched: WatchedPage, tmp_path: Path) -> None:
    """A key file made by `consent keygen` opens in the browser and signs as its DID."""
    key_file = tmp_path / "creator.key"
    made = subprocess.run(
        [CONSENT, "keygen", "--key", str(key_file)],
        env={"CONSENT_PASSPHRASE": PASSPHRASE, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    did = json.loads(key_file.read_text())["did"]
    page = watched.page
    page.goto(node + "/#/declare")
    page.get_by_role("button", name="Import a key file").click()
    page.get_by_label("Key file").set_input_files(key_file)
    page.get_by_label("Passphrase", exact=True).fill("not the passphrase")
    page.get_by_role("button", name="Import a key file").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Wrong passphrase, or the key file was altered.", timeout=60_000
    )
    page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    page.get_by_role("button", name="Import a key file").click()
    expect(page.get_by_test_id("did")).to_have_text(did, timeout=60_000)

    # it signs: one file declared, then its preference changed from the page
    work = write_folder(tmp_path / "one", 1, first_seed=50)[0]
    page.get_by_test_id("pick-files").set_input_files(work)
    page.get_by_role("button", name="Sign and submit 1 work").click()
    expect(page.get_by_test_id("submitted")).to_be_visible(timeout=60_000)
    url = f"{node}/v1/works/sha256/{sha256_file(work)}"
    assert httpx.get(url).json()["claims"][0]["creator"] == did
    page.get_by_role("button", name="Allow AI training instead").click()
    expect(page.get_by_test_id("mine")).to_contain_text("replaced", timeout=60_000)
    answer = httpx.get(url).json()
    assert answer["prefs"] == {"train-ai": "y"}
    assert [c["creator"] for c in answer["claims"]] == [did]


def test_status_page(node: str, watched: WatchedPage, shots: Path) -> None:
    page = watched.page
    page.goto(node + "/#/status")
    info = httpx.get(node + "/.well-known/consent-registry").json()
    expect(page.get_by_text("Signature verified in this browser")).to_be_visible(timeout=30_000)
    expect(page.locator("main")).to_contain_text(info["verifier_key"])
    size = int(httpx.get(node + "/checkpoint").text.splitlines()[1])
    expect(page.get_by_test_id("log-size")).to_have_text(
        "1 entry" if size == 1 else f"{size:,} entries"
    )
    expect(page.locator("main")).to_contain_text("This node mirrors no peers.")
    page.screenshot(path=shots / "status.png", full_page=True)


def english_fragments() -> list[str]:
    """English messages (web/src/i18n.ts) that must not appear on an Indonesian page: their
    literal parts of 6+ characters, less the words both languages share."""
    source = (ROOT / "web" / "src" / "i18n.ts").read_text()
    en_block = source.split("const en = {", 1)[1].split("\n};", 1)[0]
    id_block = source.split("const id: Record<MessageKey, string> = {", 1)[1].split("\n};", 1)[0]
    strings = re.compile(r'"((?:[^"\\]|\\.)*)"')
    english = {m for m in strings.findall(en_block) if " " in m or len(m) > 12}
    indonesian = set(strings.findall(id_block))
    fragments = []
    for text in english - indonesian:
        for part in re.split(r"\{\w+\}|`[^`]*`|\([^)]*\)", text):
            if len(part.strip()) >= 6 and " " in part.strip():
                fragments.append(part.strip())
    return fragments


@pytest.mark.parametrize("route", PAGES)
def test_indonesian_has_no_english(node: str, browser: Browser, route: str, shots: Path) -> None:
    context = new_context(browser, locale="id-ID")  # the browser's language chosen first
    watched = WatchedPage(context)
    page = watched.page
    page.goto(f"{node}/#/{route}")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("h1")).not_to_be_empty()
    page.wait_for_timeout(500)
    if route == "declare":  # the forms behind the buttons too
        page.get_by_role("button", name="Buat kunci baru").click()
    text = page.locator("body").inner_text()
    leftovers = [f for f in english_fragments() if f in text]
    assert leftovers == []
    page.screenshot(path=shots / f"{route}-id.png", full_page=True)
    # the switch goes back to English and remembers it
    page.get_by_label("Bahasa").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    expect(page.get_by_label("Language")).to_have_value("en")
    context.close()
    assert watched.errors == []


@pytest.mark.parametrize("lang", ["en", "id"])
@pytest.mark.parametrize("route", PAGES)
def test_accessibility(node: str, browser: Browser, route: str, lang: str) -> None:
    """axe-core (WCAG 2 A/AA rules) finds no serious or critical violation."""
    # axe is injected as a script: only this test lifts the page's CSP to do so.
    context = new_context(browser, locale="id-ID" if lang == "id" else "en-GB", bypass_csp=True)
    page = context.new_page()
    page.goto(f"{node}/#/{route}")
    expect(page.locator("h1")).not_to_be_empty()
    page.wait_for_timeout(500)
    page.add_script_tag(content=AXE_JS.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})"
    )
    serious = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    context.close()
    assert serious == []


def test_keyboard_only(node: str, watched: WatchedPage, shots: Path) -> None:
    """The skip link and the navigation work from the keyboard, in a sensible order."""
    page = watched.page
    page.goto(node + "/#/declare")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Declare my works")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Check a work")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Check a work")
    page.screenshot(path=shots / "check.png", full_page=True)


@pytest.mark.parametrize(
    ("size", "fmt", "bound"),
    [
        # lossless and not scaled: the very pixels Pillow decodes, the same hash
        ((640, 480), "PNG", 0),
        # JPEG, scaled to PDQ_MAX_SIDE (1024) before hashing, and Chromium's and Pillow's
        # decoders may round a few pixels differently (measured: 4 and 8 bits)
        ((1732, 1155), "JPEG", 12),
        ((4000, 3000), "JPEG", 12),
    ],
)
def test_browser_pdq_is_the_python_sdks(
    node: str,
    watched: WatchedPage,
    tmp_path: Path,
    size: tuple[int, int],
    fmt: str,
    bound: int,
) -> None:
    """The PDQ the page computes (and asks the node about) is the Python SDK's, or within
    ``bound`` bits of it where the page scales a large image down first."""
    path = tmp_path / f"photo.{fmt.lower()}"
    photo(7, *size).save(path, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    expected = fingerprint(path, iscc=False).pdq
    assert expected is not None
    page = watched.page
    page.goto(node + "/#/check")

    # The page asks the image's own hash first among those asked within 31 bits (spec §6.8.3).
    def asked_within_31(request: Request) -> bool:
        body = request.post_data_json if request.url.endswith("/v1/check/pdq") else None
        return body is not None and body["max_distance"] == 31

    with page.expect_request(asked_within_31) as request:
        page.get_by_test_id("lookup-file").set_input_files(path)
    body = request.value.post_data_json
    assert body is not None
    browser_pdq = body["hashes"][0]
    assert pdq_distance(browser_pdq, expected) <= bound
