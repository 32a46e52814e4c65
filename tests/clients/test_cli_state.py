"""The ``consent`` command's record belongs to the key, not the folder; key backup; CLI oddities.

Subprocesses, real files, a real ``registry serve`` process on 127.0.0.1 (module scope). Every
creator here has its own key and data directory (``CONSENT_DATA_DIR``); nothing sets
``CONSENT_RECEIPTS``, so the per-key record is what is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from PIL import Image

from tests.clients.sdk_support import CONSENT
from tests.clients.test_cli_consent import PASSPHRASE, as_json, consent, make_image


def _creator(home: Path, node: str) -> dict[str, str]:
    env = {
        "CONSENT_KEY": str(home / "key.json"),
        "CONSENT_PASSPHRASE": PASSPHRASE,
        "CONSENT_NODE": node,
        "CONSENT_DATA_DIR": str(home / "data"),
    }
    consent("keygen", "--json", "--scrypt-n", "1024", cwd=home, env=env)
    return env


def _portfolio(root: Path) -> Path:
    art = root / "portfolio" / "art"
    art.mkdir(parents=True)
    for n in range(3):
        make_image(art / f"img{n}.png", 100 + n)
    (art / "poem.txt").write_text("Words that are mine.\n" * 30)
    return art


def _works_now(env: dict[str, str], cwd: Path) -> dict[str, tuple[bool, dict[str, str]]]:
    """sha256 -> (current, prefs) as ``consent status --json`` says."""
    status = as_json(consent("status", "--json", cwd=cwd, env=env))
    return {w["sha256"]: (w["current"], w["prefs"]) for w in status["works"]}


def test_the_record_follows_the_key_across_folders_and_machines(
    served_node: str, tmp_path: Path
) -> None:
    env = _creator(tmp_path, served_node)
    art = _portfolio(tmp_path)
    first = as_json(consent("declare", "portfolio/art", "--json", cwd=tmp_path, env=env))
    assert len(first["declarations"]) == 1
    assert first["works"] == 4
    # the same folder from inside it, and from elsewhere: nothing new is logged
    inside = as_json(consent("declare", ".", "--json", cwd=art, env=env))
    assert inside["declarations"] == []
    assert len(inside["skipped"]) == 4
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = as_json(consent("declare", str(art), "--json", cwd=elsewhere, env=env))
    assert again["declarations"] == []
    assert len(again["skipped"]) == 4
    assert not (art / "consent-receipts").exists()
    assert not (elsewhere / "consent-receipts").exists()

    # withdraw one work and allow training on another, from yet another folder
    consent("withdraw", "img0.png", cwd=art, env=env)
    consent("change", str(art / "poem.txt"), "--allow-train", cwd=elsewhere, env=env)
    # declaring the folder again neither restates the withdrawn work nor undoes the change
    kept = consent("declare", "portfolio/art", "--json", cwd=tmp_path, env=env)
    document = json.loads(kept.stdout)
    assert document["declarations"] == []
    assert len(document["kept"]) == 2
    human = consent("declare", "portfolio/art", cwd=tmp_path, env=env)
    assert "2 works kept as they are" in human.stdout

    # status: by file name, human dates, history; the withdrawn work is not current
    before = _works_now(env, tmp_path)
    status = as_json(consent("status", "--json", cwd=tmp_path, env=env))
    by_name = {Path(w["name"]).name: w for w in status["works"]}
    assert set(by_name) == {"img0.png", "img1.png", "img2.png", "poem.txt"}
    assert by_name["img0.png"]["current"] is False
    assert by_name["img0.png"]["withdrawn"] is True
    assert by_name["img1.png"]["prefs"] == {"train-ai": "n"}
    assert by_name["poem.txt"]["prefs"] == {"train-ai": "y"}
    assert [h["stated"] for h in by_name["poem.txt"]["history"]] == ["train-ai=n", "train-ai=y"]
    assert by_name["poem.txt"]["since"].endswith(" UTC")
    states = sorted(d["state"] for d in status["declarations"])
    assert states == ["in force", "in force", "withdrawal"]
    assert status["summary"]["current_works"] == 3
    text = consent("status", cwd=tmp_path, env=env).stdout
    assert "img0.png" in text
    assert "withdrawn" in text
    assert " UTC" in text
    assert "3 declarations: 2 in force, 1 withdrawal, 0 superseded" in text

    # a new machine: an empty data directory is rebuilt from the node
    fresh = {**env, "CONSENT_DATA_DIR": str(tmp_path / "new-laptop")}
    rebuilt = consent("status", "--json", cwd=elsewhere, env=fresh)
    assert "rebuilt 3 declarations of this key from the node" in rebuilt.stderr
    assert _works_now(fresh, elsewhere) == before
    # ... it names the works by the files given (the log holds no file names)
    named = as_json(consent("status", str(art), "--json", cwd=elsewhere, env=fresh))
    assert sorted(Path(w["name"]).name for w in named["works"]) == sorted(by_name)
    # ... and declaring there logs nothing twice and undoes nothing
    other = as_json(consent("declare", str(art), "--json", cwd=elsewhere, env=fresh))
    assert other["declarations"] == []
    assert len(other["kept"]) == 2
    # every receipt of the key verifies offline, with no file named
    verified = consent("verify", cwd=elsewhere, env=fresh)
    assert verified.stdout.count("OK: declaration") == 3


def test_an_old_receipts_folder_is_migrated(served_node: str, tmp_path: Path) -> None:
    env = _creator(tmp_path, served_node)
    _portfolio(tmp_path)
    legacy = tmp_path / "consent-receipts"
    old = {**env, "CONSENT_RECEIPTS": str(legacy)}
    declared = as_json(consent("declare", "portfolio", "--json", cwd=tmp_path, env=old))
    assert (legacy / f"{declared['declarations'][0]['id']}.json").exists()
    moved = consent("declare", "portfolio", "--json", cwd=tmp_path, env=env)
    assert "moved 1 receipts of this key from consent-receipts to " in moved.stderr
    assert json.loads(moved.stdout)["declarations"] == []
    assert not legacy.exists()
    assert (tmp_path / "consent-receipts.migrated").is_dir()
    assert len(_receipts_in(tmp_path / "data")) == 1
    # the command's own files (key, data, old receipts) are never taken for works
    plan = as_json(consent("declare", ".", "--dry-run", "--json", cwd=tmp_path, env=env))
    assert len(plan["works"]) == 4


def test_recovery_phrase_round_trip(tmp_path: Path) -> None:
    env = {"CONSENT_KEY": str(tmp_path / "key.json"), "CONSENT_PASSPHRASE": PASSPHRASE}
    made = consent("keygen", "--scrypt-n", "1024", cwd=tmp_path, env=env)
    did = made.stdout.splitlines()[0]
    assert "consent key backup" in made.stdout
    assert "recovery phrase" in made.stdout
    page = consent("key", "backup", "--out", "recovery.txt", cwd=tmp_path, env=env)
    assert "written to recovery.txt" in page.stdout
    text = (tmp_path / "recovery.txt").read_text()
    assert did in text
    assert " 1. " in text
    assert "24." in text
    assert (tmp_path / "recovery.txt").stat().st_mode & 0o777 == 0o600
    phrase = as_json(consent("key", "backup", "--json", cwd=tmp_path, env=env))["phrase"]
    assert len(phrase.split()) == 24

    # a new machine: the printed page (numbered words) restores the same key
    restored = {"CONSENT_KEY": str(tmp_path / "new" / "key.json"), "CONSENT_PASSPHRASE": "new one"}
    back = consent(
        "key", "restore", "--phrase-file", "recovery.txt", "--scrypt-n", "1024",
        cwd=tmp_path, env=restored,
    )  # fmt: skip
    assert back.stdout.splitlines()[0] == did
    again = as_json(consent("key", "backup", "--json", cwd=tmp_path, env=restored))
    assert again["phrase"] == phrase
    assert again["did"] == did
    # the bare words on standard input work too; the existing key is not overwritten
    again_in = subprocess_input(
        ["key", "restore", "--phrase-file", "-"], phrase, tmp_path, restored
    )
    assert again_in.returncode == 1
    assert "already exists" in again_in.stderr
    # a mistyped word is caught by the word list or the checksum, in one line
    words = phrase.split()
    (tmp_path / "typo.txt").write_text(
        " ".join([*words[:23], "zoo" if words[23] != "zoo" else "zero"])
    )
    typo = {"CONSENT_KEY": str(tmp_path / "typo" / "key.json"), "CONSENT_PASSPHRASE": "x"}
    wrong = consent("key", "restore", "--phrase-file", "typo.txt", cwd=tmp_path, env=typo, ok=False)
    assert wrong.returncode == 1
    assert len(wrong.stderr.splitlines()) == 1
    assert "checksum" in wrong.stderr
    (tmp_path / "short.txt").write_text(" ".join(words[:12]))
    short = consent(
        "key", "restore", "--phrase-file", "short.txt", cwd=tmp_path, env=typo, ok=False
    )
    assert "24 words, this one 12" in short.stderr
    assert not (tmp_path / "typo" / "key.json").exists()


def subprocess_input(
    args: list[str], stdin: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``consent ARGS`` with ``stdin`` on its standard input."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")} | env
    return subprocess.run(
        [CONSENT, *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=full,
        timeout=120, check=False,
    )  # fmt: skip


def test_cli_oddities(served_node: str, tmp_path: Path) -> None:
    env = _creator(tmp_path, served_node)
    art = _portfolio(tmp_path)
    # a node URL without its scheme fails at once, in one line, with the fix
    bare = served_node.removeprefix("http://")
    no_scheme = consent("status", "--node", bare, cwd=tmp_path, env=env, ok=False)
    assert no_scheme.returncode == 1
    assert no_scheme.stderr.splitlines() == [
        f"consent: error: node URL '{bare}' is not an http:// or https:// URL "
        f"(did you mean http://{bare}?)"
    ]
    # ... and so does a work URL given to check without it
    url_check = consent("check", "example.com/a.png", cwd=tmp_path, env=env, ok=False)
    assert "(a URL needs http:// or https://)" in url_check.stderr
    # options are never abbreviated: --url is not --url-map
    abbreviated = consent("declare", str(art), "--url", "x.tsv", cwd=tmp_path, env=env, ok=False)
    assert abbreviated.returncode == 2
    assert "unrecognized arguments: --url" in abbreviated.stderr
    # --dry-run says what would be declared: files, hashes, media types
    dry = consent("declare", str(art), "--dry-run", cwd=tmp_path, env=env)
    assert "img1.png" in dry.stdout
    assert "image/png" in dry.stdout
    assert "text/plain" in dry.stdout
    assert "would declare 4 works (train-ai=n) in 1 declarations" in dry.stdout
    plan = as_json(consent("declare", str(art), "--dry-run", "--json", cwd=tmp_path, env=env))
    named = sorted(Path(f).name for w in plan["works"] for f in w["files"])
    assert named == ["img0.png", "img1.png", "img2.png", "poem.txt"]
    assert all(len(w["sha256"]) == 64 and w["media_type"] for w in plan["works"])
    assert len(plan["declarations"]) == 1

    # a near-duplicate of an ALLOWED work shows as allowed; --verify shows in the table
    # (a picture of its own: the other tests' creators reserve the portfolio's pictures)
    free = tmp_path / "free.png"
    make_image(free, 200)
    consent("declare", str(free), "--allow-train", cwd=tmp_path, env=env)
    copy = tmp_path / "copy.jpg"
    with Image.open(free) as image:
        image.convert("RGB").save(copy, quality=70)
    crawler = {"CONSENT_NODE": served_node}
    table = consent("check", str(copy), str(free), "--verify", cwd=tmp_path, env=crawler)
    lines = table.stdout.splitlines()
    assert "verified" in lines[0]
    copy_row = next(line for line in lines if "copy.jpg" in line)
    assert "allowed" in copy_row
    assert "near-duplicate" in copy_row
    original_row = next(line for line in lines if "free.png" in line)
    assert "allowed" in original_row
    assert "yes (1)" in original_row
    checked = as_json(consent("check", str(copy), "--json", cwd=tmp_path, env=crawler))
    assert checked["results"][0]["prefs"] == {"train-ai": "y"}


def _receipts_in(data: Path) -> list[Path]:
    return [p for p in data.glob("z6Mk*/receipts/*.json") if len(p.stem) == 64]


def test_data_dir_option_and_the_xdg_default(served_node: str, tmp_path: Path) -> None:
    env = _creator(tmp_path, served_node)
    art = _portfolio(tmp_path)
    del env["CONSENT_DATA_DIR"]
    consent("declare", str(art), "--data-dir", str(tmp_path / "mine"), cwd=tmp_path, env=env)
    assert len(_receipts_in(tmp_path / "mine")) == 1
    xdg = {**env, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    consent("status", cwd=tmp_path, env=xdg)
    assert len(_receipts_in(tmp_path / "xdg" / "consent")) == 1
    # anyone may look at a creator's works; nothing of theirs is kept
    did = json.loads((tmp_path / "key.json").read_text())["did"]
    reader = {"CONSENT_NODE": served_node, "XDG_DATA_HOME": str(tmp_path / "reader")}
    seen = as_json(consent("status", "--did", did, "--json", cwd=tmp_path, env=reader))
    assert seen["summary"]["current_works"] == 4
    assert not (tmp_path / "reader").exists()
