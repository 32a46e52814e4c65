"""What ``consent declare`` reads, as a user meets it: empty, mislabelled, broken and special
files, images too detailed-less for PDQ, decompression bombs, and a 14000 x 14000 PNG.

Subprocesses and real files (a real ``registry serve`` process where something is sent).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from consent import fingerprint, pdq_distance
from consent.fingerprint import pdq_of_image
from PIL import Image

from tests.clients.sdk_support import CONSENT
from tests.clients.test_cli_consent import PASSPHRASE, as_json, consent, make_image


@pytest.fixture
def creator(served_node: str, tmp_path: Path) -> dict[str, str]:
    env = {
        "CONSENT_KEY": str(tmp_path / "key.json"),
        "CONSENT_PASSPHRASE": PASSPHRASE,
        "CONSENT_NODE": served_node,
        "CONSENT_DATA_DIR": str(tmp_path / "data"),
    }
    consent("keygen", "--scrypt-n", "1024", cwd=tmp_path, env=env)
    return env


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG file whose header claims ``width`` x ``height`` pixels (a bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    pixels = zlib.compress(b"\0" * (width + 1) * 4)  # a few rows only
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_every_input_is_read_or_reported(creator: dict[str, str], tmp_path: Path) -> None:
    works = tmp_path / "works"
    works.mkdir()
    make_image(works / "photo.png", 1)
    (works / "empty.jpg").write_bytes(b"")
    (works / "notes.jpg").write_text("not a picture at all, just words\n" * 10)
    with Image.open(works / "photo.png") as image:
        image.save(works / "really-a-png.txt", format="PNG", compress_level=1)
    (works / "paper.bin").write_bytes(b"%PDF-1.4\n" + b"x" * 400)
    (works / "dangling.png").symlink_to(tmp_path / "gone.png")
    os.mkfifo(works / "pipe.png")
    (works / ".DS_Store").write_bytes(b"finder junk")
    (works / "bomb.png").write_bytes(_png_claiming(20_000, 20_000))

    result = consent("declare", "works", "--json", cwd=tmp_path, env=creator)
    document = as_json(result)
    reasons = {Path(r["path"]).name: r["reason"] for r in document["refused"]}
    assert reasons["empty.jpg"].startswith("empty file (0 bytes)")
    assert reasons["dangling.png"].startswith("broken symbolic link")
    assert reasons["pipe.png"].startswith("a named pipe (FIFO)")
    assert reasons[".DS_Store"].startswith("hidden file")
    assert "over the limit of 256,000,000 pixels (a decompression bomb?)" in reasons["bomb.png"]
    assert "20,000 x 20,000 pixels" in reasons["bomb.png"]
    # every skipped path is said on stderr, one line each (hidden ones counted in one line)
    for name in ("empty.jpg", "dangling.png", "pipe.png", "bomb.png"):
        assert any(
            line.startswith("consent: skipped ") and name in line
            for line in result.stderr.splitlines()
        ), name
    assert "skipped 1 hidden files and folders" in result.stderr
    assert document["works"] == 4

    # media types come from the content, not the name
    plan = as_json(consent("declare", "works", "--dry-run", "--json", cwd=tmp_path, env=creator))
    types = {Path(w["files"][0]).name: w["media_type"] for w in plan["works"]}
    assert types == {
        "photo.png": "image/png",
        "notes.jpg": "text/plain",
        "really-a-png.txt": "image/png",
        "paper.bin": "application/pdf",
    }
    assert all(len(w["sha256"]) == 64 for w in plan["works"])

    # a crawler's check reports the same, and does not stop on them
    crawler = {"CONSENT_NODE": creator["CONSENT_NODE"]}
    checked = consent("check", "works", "--json", cwd=tmp_path, env=crawler)
    assert len(as_json(checked)["results"]) == 4
    assert "skipped" in checked.stderr
    # a path named on the command line that does not exist is an error, in one line
    missing = consent("declare", "nothing-here", cwd=tmp_path, env=creator, ok=False)
    assert missing.stderr.splitlines() == ["consent: error: no such file or folder: nothing-here"]


def test_low_quality_pdq_is_reported_with_what_protection_remains(
    creator: dict[str, str], tmp_path: Path
) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (400, 300), (200, 30, 30)).save(flat)
    detailed = tmp_path / "detailed.png"
    make_image(detailed, 5)
    result = consent("declare", str(flat), str(detailed), "--dry-run", cwd=tmp_path, env=creator)
    notes = [line for line in result.stderr.splitlines() if "PDQ quality" in line]
    assert len(notes) == 1
    assert notes[0].startswith(f"consent: note: {flat}: PDQ quality ")
    assert "re-encoded or resized copies will not be matched by PDQ" in notes[0]
    assert "its exact bytes (SHA-256)" in notes[0]
    assert "its ISCC image code" in notes[0]
    assert "give --base-url or --url-map" in notes[0]
    with_url = consent(
        "declare", str(flat), "--dry-run", "--url-map", str(tmp_path / "urls.tsv"),
        cwd=tmp_path, env=creator, ok=False,
    )  # fmt: skip
    assert with_url.returncode == 1  # no such map yet
    (tmp_path / "urls.tsv").write_text(f"{flat}\thttps://example.com/flat.png\n")
    mapped = consent(
        "declare", str(flat), "--dry-run", "--url-map", str(tmp_path / "urls.tsv"),
        cwd=tmp_path, env=creator,
    )  # fmt: skip
    assert "its 1 URL" in mapped.stderr


def _full_size_pdq(path: Path) -> str:
    """PDQ of the image decoded at full size, with no downsampling (the reference)."""
    with Image.open(path) as image:
        image.load()
        return pdq_of_image(image)[0]


@pytest.mark.parametrize(("width", "height"), [(2100, 2100), (4100, 3000), (2500, 5200)])
def test_pdq_of_the_downsample_is_close_to_full_size(
    tmp_path: Path, width: int, height: int
) -> None:
    source = tmp_path / "square.png"
    make_image(source, width, size=max(width, height))
    with Image.open(source) as square:
        big = square.crop((0, 0, width, height))
    for name, quality in (("big.png", 0), ("big.jpg", 90)):
        path = tmp_path / name
        big.save(path, quality=quality) if quality else big.save(path)
        reduced = fingerprint(path, iscc=False)
        assert reduced.pdq is not None
        assert pdq_distance(_full_size_pdq(path), reduced.pdq) <= 12, name


_GENERATE = textwrap.dedent(
    """
    import random, sys
    from PIL import Image, ImageDraw
    n = 14000
    image = Image.linear_gradient("L").resize((n, n)).convert("RGB")
    draw = ImageDraw.Draw(image)
    rng = random.Random(1)
    for _ in range(40):
        x, y = rng.randrange(n), rng.randrange(n)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle([x, y, x + rng.randrange(n // 8), y + rng.randrange(n // 8)], fill=colour)
    image.save(sys.argv[1], compress_level=1)
    """
)

_MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    started = time.monotonic()
    run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    print(json.dumps({
        "status": run.returncode,
        "seconds": time.monotonic() - started,
        "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "stdout": run.stdout,
        "stderr": run.stderr,
    }))
    """
)


@pytest.mark.slow
def test_a_14000_pixel_png_declares_in_bounded_memory(
    creator: dict[str, str], tmp_path: Path
) -> None:
    huge = tmp_path / "huge.png"
    subprocess.run([sys.executable, "-c", _GENERATE, str(huge)], check=True, timeout=600)
    with Image.open(huge) as image:
        assert image.size == (14000, 14000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")} | creator
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, CONSENT, "declare", str(huge), "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True, timeout=600,
    )  # fmt: skip
    import json  # noqa: PLC0415

    result = json.loads(measured.stdout)
    print(
        f"\n14000x14000 PNG ({huge.stat().st_size / 1e6:.1f} MB): declared in "
        f"{result['seconds']:.1f} s, peak RSS {result['peak_mib']:.0f} MiB"
    )
    assert result["status"] == 0, result["stderr"]
    declared = json.loads(result["stdout"])
    assert declared["works"] == 1
    assert len(declared["declarations"]) == 1
    assert result["peak_mib"] <= 1024
