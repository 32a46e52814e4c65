"""The ``consent`` command as a creator and a crawler run it: subprocesses, real files, and a
real ``registry serve`` process on 127.0.0.1.

The works are a folder of generated images (Pillow) and texts. A re-encoded (JPEG quality 40)
and a resized (half size) copy of one image are not byte-identical, so they do not match by
SHA-256, but they match the original by PDQ (Hamming distance <= 31).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from consent import fingerprint, pdq_distance
from PIL import Image, ImageDraw

from tests.clients.sdk_support import CONSENT

PASSPHRASE = "correct horse battery staple"


def make_image(path: Path, seed: int, size: int = 320) -> None:
    """A structured test picture: gradients and shapes, so its PDQ quality is high."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        shade = int(255 * y / size)
        draw.line([(0, y), (size, y)], fill=(shade, rng.randrange(60), 255 - shade))
    for _ in range(12):
        x0, y0 = rng.randrange(size), rng.randrange(size)
        x1, y1 = x0 + rng.randrange(20, 160), y0 + rng.randrange(20, 160)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    image.save(path)


@pytest.fixture(scope="module")
def works(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A portfolio: 4 PNG images and 2 texts in a nested folder, plus copies elsewhere."""
    root = tmp_path_factory.mktemp("portfolio")
    art = root / "art"
    (art / "texts").mkdir(parents=True)
    for n in range(4):
        make_image(art / f"img{n}.png", n)
    (art / "texts" / "poem.txt").write_text("The sea is calm tonight.\nThe tide is full.\n" * 20)
    (art / "texts" / "essay.md").write_text("# On consent\n\n" + "Words about works. " * 200)
    (art / ".hidden").write_text("not a work")
    copies = root / "copies"
    copies.mkdir()
    with Image.open(art / "img0.png") as original:
        original.convert("RGB").save(copies / "img0-q40.jpg", quality=40)
        original.resize((160, 160), Image.Resampling.LANCZOS).save(copies / "img0-half.png")
    return root


def consent(
    *args: str, cwd: Path, env: dict[str, str] | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``consent ARGS`` in ``cwd``; with ``ok`` assert exit status 0."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    full_env.update(env or {})
    result = subprocess.run(
        [CONSENT, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=180,
        check=False,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def creator_env(served_node: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a creator: key file, passphrase and node from CONSENT_* variables."""
    home = tmp_path_factory.mktemp("creator")
    env = {
        "CONSENT_KEY": str(home / "key.json"),
        "CONSENT_PASSPHRASE": PASSPHRASE,
        "CONSENT_NODE": served_node,
        "CONSENT_RECEIPTS": str(home / "receipts"),
    }
    made = consent("keygen", "--json", "--scrypt-n", "1024", cwd=home, env=env)
    assert as_json(made)["did"].startswith("did:key:z6Mk")
    return env


def test_keygen_refuses_to_overwrite_and_errors_are_one_line(
    creator_env: dict[str, str], tmp_path: Path
) -> None:
    again = consent("keygen", cwd=tmp_path, env=creator_env, ok=False)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1
    assert "already exists" in again.stderr
    wrong = consent(
        "declare",
        str(tmp_path),
        cwd=tmp_path,
        env={**creator_env, "CONSENT_PASSPHRASE": "nope"},
        ok=False,
    )
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines() == [
        f"consent: error: {creator_env['CONSENT_KEY']}: wrong passphrase (or the file was altered)"
    ]
    bad_prefs = consent(
        "declare", str(tmp_path), "--prefs", "train-ai", cwd=tmp_path, env=creator_env, ok=False
    )
    assert bad_prefs.returncode == 1
    assert "states no preference" in bad_prefs.stderr
    usage = consent("declare", cwd=tmp_path, env=creator_env, ok=False)
    assert usage.returncode == 2


def test_creator_and_crawler_walkthrough(
    works: Path, creator_env: dict[str, str], served_node: str, tmp_path: Path
) -> None:
    env = creator_env
    art = works / "art"
    # declare: every file of the folder (hidden ones skipped), with the URLs of its web gallery
    declared = as_json(
        consent(
            "declare",
            str(art),
            "--no-train",
            "--base-url",
            "https://gallery.example/art",
            "--json",
            cwd=tmp_path,
            env=env,
        )
    )
    assert declared["works"] == 6
    assert declared["rejected"] == []
    assert len(declared["declarations"]) == 1
    declaration_id = declared["declarations"][0]["id"]
    receipt_file = Path(env["CONSENT_RECEIPTS"]) / f"{declaration_id}.json"
    stored = json.loads(receipt_file.read_text())
    assert stored["receipt"].startswith("c2sp.org/tlog-proof@v1\n")
    record = json.loads(stored["entry"])
    assert record["prefs"] == {"train-ai": "n"}
    images = [w for w in record["works"] if w.get("media_type") == "image/png"]
    texts = [w for w in record["works"] if w.get("media_type", "").startswith("text/")]
    assert len(images) == 4
    assert all(len(w["pdq"]) == 64 and w["pdq_quality"] >= 50 for w in images)
    assert all(w["iscc"].startswith("ISCC:") for w in images + texts)
    assert len(texts) == 2
    assert "https://gallery.example/art/img1.png" in [u for w in images for u in w["urls"]]

    # the same run again declares nothing new: every work already has a receipt
    again = as_json(
        consent(
            "declare",
            str(art),
            "--json",
            "--base-url",
            "https://gallery.example/art",
            cwd=tmp_path,
            env=env,
        )
    )
    assert again["declarations"] == []
    assert len(again["skipped"]) == 6

    # verify the receipt offline (the node key pinned in the receipt file), human and JSON
    verified = consent("verify", str(receipt_file), cwd=tmp_path, env={})
    assert verified.stdout.startswith(f"OK: declaration {declaration_id} by ")
    assert "sdk.test/log" in verified.stdout
    assert as_json(consent("verify", str(receipt_file), "--json", cwd=tmp_path))["valid"] is True
    tampered = tmp_path / "tampered.json"
    altered = json.loads(receipt_file.read_text())
    altered["entry"] = altered["entry"].replace('"train-ai":"n"', '"train-ai":"y"')
    tampered.write_text(json.dumps(altered))
    failed = consent("verify", str(tampered), cwd=tmp_path, ok=False)
    assert failed.returncode == 1
    assert len(failed.stderr.strip().splitlines()) == 1
    assert "does not match the id" in failed.stderr
    forged = json.loads(receipt_file.read_text())
    forged["receipt"] = forged["receipt"].replace("index 0", "index 1", 1)
    tampered.write_text(json.dumps(forged))
    failed = consent("verify", str(tampered), cwd=tmp_path, ok=False)
    assert failed.returncode == 1
    assert "receipt" in failed.stderr
    # a bare C2SP tlog-proof with the declaration beside it, the node key given explicitly
    (tmp_path / "proof.txt").write_text(stored["receipt"])
    (tmp_path / "declaration.json").write_text(stored["entry"])
    bare = consent(
        "verify",
        str(tmp_path / "proof.txt"),
        "--entry",
        str(tmp_path / "declaration.json"),
        "--node-key",
        stored["verifier_key"],
        cwd=tmp_path,
    )
    assert bare.stdout.startswith("OK: ")
    wrong_key = consent(
        "verify",
        str(tmp_path / "proof.txt"),
        "--entry",
        str(tmp_path / "declaration.json"),
        "--node-key",
        stored["verifier_key"].replace("sdk.test", "evil.test"),
        cwd=tmp_path,
        ok=False,
    )
    assert wrong_key.returncode == 1
    assert len(wrong_key.stderr.strip().splitlines()) == 1
    needs_witness = consent(
        "verify", str(receipt_file), "--min-witnesses", "1", cwd=tmp_path, ok=False
    )
    assert needs_witness.returncode == 1

    # a crawler checks the files, the copies and the gallery URLs
    check = as_json(
        consent(
            "check",
            str(art / "img1.png"),
            str(works / "copies"),
            "https://gallery.example/art/img1.png",
            "https://elsewhere.example/x.png",
            "--verify",
            "--json",
            cwd=tmp_path,
            env={"CONSENT_NODE": served_node},
        )
    )
    by_item = {row["item"]: row for row in check["results"]}
    assert by_item[str(art / "img1.png")]["prefs"] == {"train-ai": "n"}
    assert by_item[str(art / "img1.png")]["verified"] == [declaration_id]
    assert by_item["https://gallery.example/art/img1.png"]["prefs"] == {"train-ai": "n"}
    assert by_item["https://elsewhere.example/x.png"]["prefs"] == {}
    copies = [row for row in check["results"] if "copies" in row["item"]]
    # not byte-identical, so no exact match: the node lists check_pdq, so the CLI asks for
    # near-duplicates by PDQ on its own and marks them
    assert [row["decided_by"] for row in copies] == ["registry (near-duplicate)"] * 2
    assert [row["prefs"] for row in copies] == [{"train-ai": "n"}] * 2
    assert check["reserved"] == 4
    # ... but the copies are the same picture by PDQ
    original = fingerprint(art / "img0.png")
    assert original.pdq is not None
    for copy in (works / "copies").iterdir():
        near = fingerprint(copy)
        assert near.pdq is not None
        assert near.sha256 != original.sha256
        assert pdq_distance(original.pdq, near.pdq) <= 31, copy.name
    # ... by PDQ (spec §6.8.3); --near insists on the node's near-duplicate search
    near_check = as_json(
        consent(
            "check",
            str(works / "copies"),
            "--near",
            "--json",
            cwd=tmp_path,
            env={"CONSENT_NODE": served_node},
        )
    )
    for row in near_check["results"]:
        assert row["prefs"] == {"train-ai": "n"}, row
        assert row["decided_by"] == "registry (near-duplicate)"
        assert [m["sha256"] for m in row["near"]] == [original.sha256]
        assert row["near"][0]["distance"] <= 31
    assert near_check["reserved"] == 2
    signals = as_json(
        consent(
            "check",
            str(art / "img1.png"),
            "--signals",
            "--json",
            cwd=tmp_path,
            env={"CONSENT_NODE": served_node},
        )
    )
    assert signals["results"][0]["decided_by"] == "registry"
    assert [s["name"] for s in signals["results"][0]["signals"]] == ["registry"]
    failing = consent(
        "check",
        str(art / "img1.png"),
        "--fail-on-reserved",
        cwd=tmp_path,
        env={"CONSENT_NODE": served_node},
        ok=False,
    )
    assert failing.returncode == 3
    assert "1 checked, 1 reserved for train-ai" in failing.stdout

    # change: the texts are now licensed for training
    changed = as_json(
        consent("change", str(art / "texts"), "--allow-train", "--json", cwd=tmp_path, env=env)
    )
    assert len(changed["declarations"]) == 1
    after = as_json(
        consent("check", str(art / "texts"), str(art / "img2.png"), "--json", cwd=tmp_path, env=env)
    )
    assert [row["prefs"] for row in after["results"]] == [
        {"train-ai": "y"},
        {"train-ai": "y"},
        {"train-ai": "n"},
    ]

    # withdraw the first declaration: it is superseded; the works it still decided (the
    # images) are withdrawn, the texts keep their newer statement
    withdrawn = as_json(
        consent("withdraw", "--declaration", declaration_id, "--json", cwd=tmp_path, env=env)
    )
    assert len(withdrawn["declarations"]) == 1
    assert withdrawn["works"] == 4
    status = as_json(consent("status", "--json", cwd=tmp_path, env=env))
    statuses = {d["id"]: d["status"] for d in status["declarations"]}
    assert statuses[declaration_id] == "superseded"
    assert sorted(statuses.values()) == ["current", "current", "superseded"]
    human = consent("status", cwd=tmp_path, env=env)
    assert "3 declarations: 1 in force, 1 withdrawal, 1 superseded" in human.stdout
    final = as_json(consent("check", str(art), "--json", cwd=tmp_path, env=env))
    assert final["reserved"] == 0
    assert [row["prefs"] for row in final["results"]] == [{}] * 4 + [{"train-ai": "y"}] * 2
