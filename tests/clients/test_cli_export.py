"""``consent declare --from-export``: an Instagram and a Facebook data export (ZIP files built
here in the JSON structure Meta's "Download your information" uses, with generated images and
Meta's mojibake captions), declared with the real CLI against a real ``registry serve``."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from consent.exports import ExportError, fix_mojibake, scan_export
from consent.signals import xmp_signal
from PIL import Image

from tests.clients.test_cli_consent import PASSPHRASE, as_json, consent, make_image

INBOX = "your_instagram_activity/messages/inbox/friend_1"
CAPTION = "Sunset at the pier, Café del Mar ☀️"


def meta(text: str) -> str:
    """How Meta writes a string in its exports: each UTF-8 byte as one Latin-1 character."""
    return text.encode("utf-8").decode("latin-1")


def image_bytes(seed: int, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    path = Path(f"/tmp/consent-export-seed-{seed}-{fmt}.png")
    make_image(path, seed, size=256)
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, fmt)
    path.unlink()
    return buffer.getvalue()


def instagram_export(path: Path) -> dict[str, bytes]:
    """A 2024-layout Instagram export: a single-photo post, a carousel, a reel, a story, a
    photo someone sent in a message, a listed photo missing from the ZIP and an empty one."""
    prefix = "instagram-artist-2024-05-01/"
    media = {
        "media/posts/202301/17901.jpg": image_bytes(1),
        "media/posts/202302/17902.jpg": image_bytes(2),
        "media/posts/202302/17903.jpg": image_bytes(3),
        "media/reels/202303/17904.mp4": b"\x00\x00\x00\x18ftypmp42 a short video of mine",
        "media/stories/202304/17905.jpg": image_bytes(4),
        "media/posts/202305/17907.jpg": b"",
    }
    posts = [
        {"media": [{"uri": k, "creation_timestamp": 1672943400, "title": meta(CAPTION)}]}
        for k in ["media/posts/202301/17901.jpg"]
    ] + [
        {
            "media": [
                {"uri": "media/posts/202302/17902.jpg", "creation_timestamp": 1675700000},
                {"uri": "media/posts/202302/17903.jpg", "creation_timestamp": 1675700000},
                {"uri": "media/posts/202302/17906.jpg", "creation_timestamp": 1675700000},
            ],
            "title": meta("Two studies in blue — ü"),
            "creation_timestamp": 1675700000,
        },
        {"media": [{"uri": "media/posts/202305/17907.jpg", "creation_timestamp": 1683000000}]},
    ]
    files: dict[str, bytes] = {
        "your_instagram_activity/content/posts_1.json": json.dumps(posts).encode(),
        "your_instagram_activity/content/reels.json": json.dumps(
            {
                "ig_reels_media": [
                    {
                        "media": [
                            {
                                "uri": "media/reels/202303/17904.mp4",
                                "creation_timestamp": 1678000000,
                                "title": "reel",
                            }
                        ]
                    }
                ]
            }
        ).encode(),
        "your_instagram_activity/content/stories.json": json.dumps(
            {
                "ig_stories": [
                    {"uri": "media/stories/202304/17905.jpg", "creation_timestamp": 1681000000}
                ]
            }
        ).encode(),
        "your_instagram_activity/messages/inbox/friend_1/message_1.json": json.dumps(
            {
                "messages": [
                    {
                        "photos": [
                            {"uri": "your_instagram_activity/messages/inbox/friend_1/photos/1.jpg"}
                        ]
                    }
                ]
            }
        ).encode(),
        "your_instagram_activity/messages/inbox/friend_1/photos/1.jpg": image_bytes(9),
        **media,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(prefix + name, data)
    return media


def facebook_export(path: Path) -> dict[str, bytes]:
    """A Facebook export (2024 layout): a post with a photo, and an album."""
    media = {
        "your_facebook_activity/posts/media/Mobile_uploads/101.jpg": image_bytes(5),
        "your_facebook_activity/posts/media/Album_1/102.png": image_bytes(6, "PNG"),
    }
    posts = [
        {
            "timestamp": 1690000000,
            "title": meta("Ana Lúcia added a new photo."),
            "data": [{"post": meta("Ölgemälde Nr. 5")}],
            "attachments": [
                {
                    "data": [
                        {
                            "media": {
                                "uri": "your_facebook_activity/posts/media/Mobile_uploads/101.jpg",
                                "creation_timestamp": 1690000000,
                                "title": "",
                            }
                        }
                    ]
                }
            ],
        }
    ]
    album = {
        "name": "Album 1",
        "photos": [
            {
                "uri": "your_facebook_activity/posts/media/Album_1/102.png",
                "creation_timestamp": 1691000000,
                "description": meta("Aquarell, 2023"),
            }
        ],
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json",
            json.dumps(posts),
        )
        archive.writestr("your_facebook_activity/posts/album/0.json", json.dumps(album))
        for name, data in media.items():
            archive.writestr(name, data)
    return media


@pytest.fixture(scope="module")
def creator_env(served_node: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A creator with a key, a receipts folder and the node, in CONSENT_* variables."""
    home = tmp_path_factory.mktemp("exporter")
    env = {
        "CONSENT_KEY": str(home / "key.json"),
        "CONSENT_PASSPHRASE": PASSPHRASE,
        "CONSENT_NODE": served_node,
        "CONSENT_RECEIPTS": str(home / "receipts"),
    }
    consent("keygen", "--scrypt-n", "1024", cwd=home, env=env)
    return env


def test_mojibake_is_fixed_and_plain_text_kept() -> None:
    assert fix_mojibake(meta(CAPTION)) == CAPTION
    assert fix_mojibake("plain") == "plain"
    assert fix_mojibake("déjà vu") == "déjà vu"  # real Latin-1 text: not UTF-8 bytes
    assert fix_mojibake("日本") == "日本"


def test_scan_finds_own_media_with_dates_and_captions(tmp_path: Path) -> None:
    export = tmp_path / "instagram.zip"
    instagram_export(export)
    scan = scan_export([export])
    by_name = {Path(item.member).name: item for item in scan.items}
    assert sorted(by_name) == ["17901.jpg", "17902.jpg", "17903.jpg", "17904.mp4", "17905.jpg"]
    assert by_name["17901.jpg"].caption == CAPTION
    assert by_name["17901.jpg"].date == "2023-01-05T18:30:00Z"
    assert by_name["17902.jpg"].caption == "Two studies in blue — ü"  # the carousel's caption
    assert by_name["17901.jpg"].platform == "instagram"
    reasons = {Path(member).name: reason for member, reason in scan.skipped}
    assert "not in the export" in reasons["17906.jpg"]
    assert reasons["17907.jpg"] == "empty file"
    assert "not one of your posts" in reasons["1.jpg"]  # a photo a friend sent


def test_html_export_is_refused_with_a_reason(tmp_path: Path) -> None:
    export = tmp_path / "html.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("your_instagram_activity/content/posts_1.html", "<html></html>")
    with pytest.raises(ExportError, match="HTML format"):
        scan_export([export])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_declare_from_instagram_and_facebook_exports(
    creator_env: dict[str, str], tmp_path: Path
) -> None:
    insta, face = tmp_path / "instagram.zip", tmp_path / "facebook.zip"
    insta_media = instagram_export(insta)
    face_media = facebook_export(face)

    dry = consent(
        "declare", "--from-export", str(insta), "--dry-run", cwd=tmp_path, env=creator_env
    )
    assert "5 works in 1 declarations (not sent); 3 files skipped" in dry.stdout
    assert CAPTION in dry.stdout  # shown locally...

    result = consent("declare", "--from-export", str(insta), cwd=tmp_path, env=creator_env)
    assert "declared: 1 declarations logged, 5 works" in result.stdout
    skipped_lines = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert len(skipped_lines) == 3
    assert any("17907.jpg: empty file" in line for line in skipped_lines)

    # ...and never sent: the node holds fingerprints only (``consent status`` shows the local
    # names beside the node's answer, so ask the node itself)
    did = json.loads(Path(creator_env["CONSENT_KEY"]).read_text())["did"]
    status = httpx.get(f"{creator_env['CONSENT_NODE']}/v1/creators/{did}").json()
    sent = json.dumps(status)
    assert "Sunset" not in sent
    assert "17901" not in sent
    declared = {w for d in status["declarations"] for w in d["works"]}
    expected = {_sha(data) for data in insta_media.values() if data}
    assert expected <= declared

    # the local record: receipts name the works by file, date and caption; the export map too
    receipts = Path(creator_env["CONSENT_RECEIPTS"])
    names = [
        name
        for path in receipts.glob("*.json")
        if len(path.stem) == 64
        for names in json.loads(path.read_text())["files"].values()
        for name in names
    ]
    assert any(CAPTION in name and "2023-01-05" in name for name in names)
    mapped: dict[str, Any] = json.loads((receipts / "exports" / "instagram.json").read_text())
    entry = mapped["works"][_sha(insta_media["media/posts/202301/17901.jpg"])][0]
    assert entry["caption"] == CAPTION
    assert entry["date"] == "2023-01-05T18:30:00Z"

    again = consent("declare", "--from-export", str(insta), cwd=tmp_path, env=creator_env)
    assert "0 declarations logged" in again.stdout
    assert "5 already declared" in again.stdout

    fb = as_json(
        consent("declare", "--from-export", str(face), "--json", cwd=tmp_path, env=creator_env)
    )
    assert fb["works"] == 2
    assert fb["skipped_files"] == []
    fb_map = json.loads((receipts / "exports" / "facebook.json").read_text())
    captions = {e[0]["caption"] for e in fb_map["works"].values()}
    assert captions == {"Ölgemälde Nr. 5", "Aquarell, 2023"}
    assert {_sha(d) for d in face_media.values()} == set(fb_map["works"])
    # a crawler now finds the Instagram photo reserved by its bytes
    photo = tmp_path / "found.jpg"
    photo.write_bytes(insta_media["media/posts/202301/17901.jpg"])
    check = consent(
        "check", str(photo), "--fail-on-reserved", cwd=tmp_path, env=creator_env, ok=False
    )
    assert check.returncode == 3
    # and `consent signals` tags copies of the imported photos, read from the ZIP files
    tagged = as_json(consent("signals", "--out", "tagged", "--json", cwd=tmp_path, env=creator_env))
    names = sorted(Path(i["file"]).name for i in tagged["images"])
    assert names == ["101.jpg", "102.png", "17901.jpg", "17902.jpg", "17903.jpg", "17905.jpg"]
    signal = xmp_signal((tmp_path / "tagged" / "images" / "17901.jpg").read_bytes())
    assert signal is not None
    assert signal.prefs == {"train-ai": "n"}


def test_older_layouts_folders_and_split_parts(tmp_path: Path) -> None:
    # Instagram before 2021: media.json with "caption", "taken_at" (ISO) and "path"
    old = tmp_path / "old-instagram"
    (old / "photos" / "201903").mkdir(parents=True)
    (old / "photos" / "201903" / "a.jpg").write_bytes(image_bytes(11))
    (old / "media.json").write_text(
        json.dumps(
            {
                "photos": [
                    {
                        "caption": meta("Première"),
                        "taken_at": "2019-03-01T12:00:00+00:00",
                        "path": "photos/201903/a.jpg",
                    }
                ]
            }
        )
    )
    (item,) = scan_export([old]).items
    assert (item.caption, item.date, item.member) == (
        "Première",
        "2019-03-01T12:00:00Z",
        "photos/201903/a.jpg",
    )
    # Facebook before 2024, split in two parts: the JSON in one, the media in the other
    part1, part2 = tmp_path / "facebook-1.zip", tmp_path / "facebook-2.zip"
    with zipfile.ZipFile(part1, "w") as archive:
        archive.writestr(
            "posts/your_posts_1.json",
            json.dumps(
                [
                    {
                        "timestamp": 1500000000,
                        "data": [{"post": "old post"}],
                        "attachments": [{"data": [{"media": {"uri": "photos/1/b.png"}}]}],
                    }
                ]
            ),
        )
    with zipfile.ZipFile(part2, "w") as archive:
        archive.writestr("photos/1/b.png", image_bytes(12, "PNG"))
    (fb,) = scan_export([part1, part2]).items
    assert (fb.platform, fb.caption, fb.date, fb.source) == (
        "facebook",
        "old post",
        "2017-07-14T02:40:00Z",
        str(part2),
    )
    with pytest.raises(ExportError, match="no posts"):
        scan_export([part2])
    # Instagram from 2025: the content files moved to your_instagram_activity/media/
    new = tmp_path / "instagram-2025.zip"
    with zipfile.ZipFile(new, "w") as archive:
        archive.writestr(
            "your_instagram_activity/media/posts_1.json",
            json.dumps([{"media": [{"uri": "media/posts/202501/c.jpg", "title": "new"}]}]),
        )
        archive.writestr("media/posts/202501/c.jpg", image_bytes(13))
    (recent,) = scan_export([new]).items
    assert (recent.caption, recent.member) == ("new", "media/posts/202501/c.jpg")
    with pytest.raises(ExportError, match="not a ZIP"):
        scan_export([old / "media.json"])
