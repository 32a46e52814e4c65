"""Works from an Instagram or Facebook data export ("Download your information", JSON format).

A creator's photographs and videos are on Instagram and Facebook; both let the account holder
download everything they posted as a ZIP file (or several parts). This module finds, in such an
export, the photos and videos the creator posted, with each one's date and caption, so that
``consent declare --from-export`` can declare them. Only fingerprints go to the node; the dates
and captions stay on this machine, in the receipts' file-name map and in an export map file
(``<receipts>/exports/<export name>.json``).

Layouts read (the JSON structures Meta documents in the export's own files and that its export
has used over the years; all nest the same ``{"uri", "creation_timestamp", "title"}`` media
objects):

- Instagram, 2024 on: ``your_instagram_activity/content/posts_1.json`` (a list of posts, each
  ``{"media": [{"uri", "creation_timestamp", "title", ...}], "title", "creation_timestamp"}``;
  a single-photo post has its caption in the media's ``title``, a carousel in the post's),
  ``reels.json`` (``{"ig_reels_media": [{"media": [...]}]}``), ``stories.json``
  (``{"ig_stories": [...]}``), ``archived_posts.json``, ``igtv_videos.json``,
  ``profile_photos.json`` (from 2025 under ``your_instagram_activity/media/``); 2021-2023: the
  same files under ``content/`` at the top;
  before 2021: ``media.json`` (``{"photos": [{"caption", "taken_at", "path"}], "videos": ...}``).
- Facebook, 2024 on: ``your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1
  .json`` (a list of ``{"timestamp", "data": [{"post": caption}], "attachments": [{"data":
  [{"media": {"uri", "creation_timestamp", "description"}}]}]}``), ``posts/album/N.json``
  (``{"name", "photos": [...]}``), ``your_videos.json`` (``{"videos_v2": [...]}``),
  ``your_uncategorized_photos.json``; before: the same under ``posts/`` or
  ``photos_and_videos/`` at the top.

Only media that the creator's own content files list are works: photos other people sent in
messages (``messages/inbox/*/photos``) or media no content file lists are reported as skipped,
as are listed media missing from the export, empty files and files that are not photos or
videos. An export in HTML format is refused with a line saying to request JSON.

Meta writes every non-ASCII string of these files as UTF-8 bytes each escaped as a Latin-1
character ("CafÃ©" for "Café"): :func:`fix_mojibake` undoes it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final

import msgspec

from consent.errors import ConsentError, InputError

if TYPE_CHECKING:
    from consent.creator import Creator, SubmitReport
    from consent.fingerprint import Fingerprint

__all__ = [
    "EXPORT_MAP_FORMAT",
    "ExportError",
    "ExportItem",
    "ExportScan",
    "extracted",
    "fix_mojibake",
    "read_member",
    "run_declare_export",
    "scan_export",
    "write_export_map",
]

EXPORT_MAP_FORMAT: Final = "consent-export-map/v1"

# Photos and videos as Meta exports them (by name: the JSON gives no media types).
_MEDIA_SUFFIXES: Final = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".mp4", ".mov", ".m4v", ".webm"}
)
# Folders of the creator's own content; anything under "messages" or "inbox" is other people's.
_OWN_FOLDERS: Final = frozenset({"content", "media", "posts", "photos_and_videos"})
_OWN_FILES: Final = frozenset({"media.json"})
_FOREIGN_FOLDERS: Final = frozenset({"messages", "inbox", "comments", "saved", "likes"})
_CAPTION_KEYS: Final = ("caption", "title", "description")
_TIME_KEYS: Final = ("creation_timestamp", "taken_at", "timestamp")
_URI_KEYS: Final = ("uri", "path")


class ExportError(ConsentError):
    """The export cannot be read (not a ZIP or folder, HTML format, no content files)."""


def fix_mojibake(text: str) -> str:
    """Undo Meta's encoding: UTF-8 bytes written as one Latin-1 character each.

    ``"Caf\\u00c3\\u00a9"`` becomes ``"Café"``. A string that is not such a sequence (plain
    ASCII, or characters beyond U+00FF, or bytes that are not UTF-8) is returned unchanged.
    """
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


@dataclass(frozen=True)
class ExportItem:
    """One photo or video of the creator's, as the export lists it."""

    member: str
    """Its path inside the export (ZIP member or file relative to the folder)."""
    source: str
    """The export (ZIP file or folder) it is in."""
    platform: str
    """``instagram`` or ``facebook``."""
    listed_in: str
    """The content file that lists it (e.g. ``.../content/posts_1.json``)."""
    taken_at: int | None
    """Its post's date, Unix seconds (None if the export gives none)."""
    caption: str
    """Its post's caption (mojibake fixed; may be empty)."""

    @property
    def date(self) -> str:
        """The date as ISO 8601 UTC (``2023-01-05T18:30:00Z``), or ``""``."""
        if self.taken_at is None:
            return ""
        moment = datetime.datetime.fromtimestamp(self.taken_at, tz=datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def label(self) -> str:
        """How the work is named locally: source, member, date and caption."""
        caption = " ".join(self.caption.split())
        caption = caption if len(caption) <= 80 else caption[:79] + "…"
        parts = [f"{self.source}:{self.member}", self.date, caption]
        return "  ".join(part for part in parts if part)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready view (the export map's entry)."""
        return {
            "file": self.member,
            "export": self.source,
            "platform": self.platform,
            "listed_in": self.listed_in,
            "date": self.date,
            "caption": self.caption,
        }


@dataclass
class ExportScan:
    """What an export holds: the creator's photos and videos, and what was skipped and why."""

    items: list[ExportItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --- reading the archive ------------------------------------------------------------------------


class _Archive:
    """A ZIP file or an extracted folder: member names and bytes."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self._zip: zipfile.ZipFile | None = None
        if source.is_dir():
            self.members = {
                p.relative_to(source).as_posix(): p.stat().st_size
                for p in sorted(source.rglob("*"))
                if p.is_file()
            }
        elif source.is_file():
            try:
                self._zip = zipfile.ZipFile(source)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ExportError(f"{source} is not a ZIP file: {exc}") from exc
            self.members = {i.filename: i.file_size for i in self._zip.infolist() if not i.is_dir()}
        else:
            raise ExportError(f"{source}: no such file or folder")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def read(self, member: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(member)
        return (self.source / member).read_bytes()

    def copy_to(self, member: str, target: Path) -> None:
        if self._zip is not None:
            with self._zip.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            shutil.copyfile(self.source / member, target)


def read_member(source: Path, member: str) -> bytes:
    """The bytes of one file of an export (ZIP member or file of an extracted folder).

    Raises:
        ExportError: the export cannot be opened.
        KeyError: no such member.
    """
    archive = _Archive(source)
    try:
        return archive.read(member)
    finally:
        archive.close()


def _platform(names: Sequence[str]) -> str:
    joined = "\n".join(names)
    if "your_facebook_activity/" in joined or re.search(r"(^|/)posts/your_posts", joined):
        return "facebook"
    return "instagram"


def _is_content_file(member: str) -> bool:
    path = PurePosixPath(member)
    if path.suffix != ".json":
        return False
    folders = set(path.parts[:-1])
    if folders & _FOREIGN_FOLDERS:
        return False
    return bool(folders & _OWN_FOLDERS) or path.name in _OWN_FILES


def _timestamp(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        return int(value)
    if isinstance(value, str) and value:
        try:  # media.json (before 2021): "2019-03-01T12:00:00" or with an offset
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return int(moment.timestamp())
    return None


def _own_caption(node: dict[str, object]) -> str:
    # Facebook posts: the caption is in "data": [{"post": ...}]; their "title" is a line such
    # as "Jane Doe added a new photo.", so "data" is read first.
    data = node.get("data")
    if isinstance(data, list):
        for entry in data:
            if isinstance(entry, dict) and isinstance(entry.get("post"), str):
                return fix_mojibake(entry["post"])
    for key in _CAPTION_KEYS:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return fix_mojibake(value)
    return ""


def _own_time(node: dict[str, object]) -> int | None:
    for key in _TIME_KEYS:
        found = _timestamp(node.get(key))
        if found is not None:
            return found
    return None


def _media_refs(
    node: object, caption: str = "", taken_at: int | None = None
) -> Iterator[tuple[str, str, int | None]]:
    """Every media reference (uri, caption, time) in a content file, with the innermost
    non-empty caption and time of the objects around it."""
    if isinstance(node, list):
        for child in node:
            yield from _media_refs(child, caption, taken_at)
        return
    if not isinstance(node, dict):
        return
    caption = _own_caption(node) or caption
    taken_at = _own_time(node) or taken_at
    for key in _URI_KEYS:
        uri = node.get(key)
        if isinstance(uri, str) and PurePosixPath(uri).suffix.lower() in _MEDIA_SUFFIXES:
            yield fix_mojibake(uri), caption, taken_at
    for key, child in node.items():
        if key not in _URI_KEYS and isinstance(child, dict | list):
            yield from _media_refs(child, caption, taken_at)


def _resolve(uri: str, members: dict[str, int], by_tail: dict[str, list[str]]) -> str | None:
    """The member a URI names: itself, or the member ending with it (an export folder or a
    split export puts a prefix before the paths the JSON gives)."""
    uri = uri.lstrip("/")
    if uri in members:
        return uri
    candidates = by_tail.get(PurePosixPath(uri).name, [])
    matches = [m for m in candidates if m.endswith("/" + uri)]
    return matches[0] if matches else None


def scan_export(sources: Sequence[Path]) -> ExportScan:
    """Find the creator's photos and videos in one export (its parts given together).

    Raises:
        ExportError: a source cannot be read, the export is in HTML format, or it has no
            content files at all.
    """
    scan = ExportScan()
    with ExitStack() as stack:
        archives = []
        for source in sources:
            archive = _Archive(source)
            stack.callback(archive.close)
            archives.append(archive)
        members: dict[str, int] = {}
        owner: dict[str, _Archive] = {}
        for archive in archives:
            for name, size in archive.members.items():
                members.setdefault(name, size)
                owner.setdefault(name, archive)
        by_tail: dict[str, list[str]] = {}
        for name in members:
            by_tail.setdefault(PurePosixPath(name).name, []).append(name)
        platform = _platform(list(members))
        content_files = [m for m in members if _is_content_file(m)]
        if not content_files:
            if any(m.endswith(".html") for m in members):
                raise ExportError(
                    "this export is in HTML format: request it again with Format: JSON "
                    '("Download your information" > format)'
                )
            raise ExportError(
                "no posts, reels, stories or albums found: is this an Instagram or Facebook "
                "data export in JSON format?"
            )
        listed: dict[str, ExportItem] = {}
        for content in sorted(content_files):
            try:
                document = json.loads(owner[content].read(content))
            except (ValueError, UnicodeDecodeError) as exc:
                scan.skipped.append((content, f"not valid JSON ({exc}); its media not read"))
                continue
            for uri, caption, taken_at in _media_refs(document):
                member = _resolve(uri, members, by_tail)
                if member is None:
                    scan.skipped.append((uri, f"listed in {content} but not in the export"))
                    continue
                if member in listed:
                    continue
                listed[member] = ExportItem(
                    member=member,
                    source=str(owner[member].source),
                    platform=platform,
                    listed_in=content,
                    taken_at=taken_at,
                    caption=caption,
                )
        for member in sorted(members):
            suffix = PurePosixPath(member).suffix.lower()
            item = listed.get(member)
            if item is None:
                if suffix in _MEDIA_SUFFIXES:
                    scan.skipped.append(
                        (member, "not one of your posts, reels or stories (e.g. sent to you)")
                    )
                continue
            if members[member] == 0:
                scan.skipped.append((member, "empty file"))
                continue
            scan.items.append(item)
    return scan


class extracted:  # noqa: N801 - used as a context manager, like tempfile's
    """Copy the scanned items to a temporary folder (deleted on exit) to fingerprint them.

    Yields ``(path, item)`` pairs; each file keeps its name, so its media type is known.
    """

    def __init__(self, scan: ExportScan) -> None:
        self.scan = scan
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> list[tuple[Path, ExportItem]]:
        self._tmp = tempfile.TemporaryDirectory(prefix="consent-export-")
        root = Path(self._tmp.name)
        out: list[tuple[Path, ExportItem]] = []
        archives: dict[str, _Archive] = {}
        try:
            for n, item in enumerate(self.scan.items):
                archive = archives.get(item.source)
                if archive is None:
                    archive = archives[item.source] = _Archive(Path(item.source))
                target = root / str(n) / PurePosixPath(item.member).name
                target.parent.mkdir()
                archive.copy_to(item.member, target)
                out.append((target, item))
        finally:
            for archive in archives.values():
                archive.close()
        return out

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


# --- the command: consent declare --from-export -------------------------------------------------


def _map_path(receipts: Path, sources: Sequence[Path]) -> Path:
    return receipts / "exports" / (sources[0].name.removesuffix(".zip") + ".json")


def write_export_map(path: Path, works: dict[str, list[ExportItem]]) -> None:
    """Merge ``sha256 -> items`` into the export map file (kept locally, never sent)."""
    from consent.receipts import write_atomic  # noqa: PLC0415 - avoid a cycle at import

    document: dict[str, object] = {"format": EXPORT_MAP_FORMAT, "works": {}}
    if path.exists():
        try:
            loaded = json.loads(path.read_bytes())
            if isinstance(loaded, dict) and loaded.get("format") == EXPORT_MAP_FORMAT:
                document = loaded
        except ValueError:
            pass
    known = document.setdefault("works", {})
    assert isinstance(known, dict)
    for sha256, items in sorted(works.items()):
        known[sha256] = [item.to_json() for item in items]
    data = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(path, data.encode("utf-8"))


def run_declare_export(
    args: argparse.Namespace,
    prefs: dict[str, str],
    *,
    receipts: Path,
    key_path: Path,
    make_creator: Callable[[argparse.Namespace], Creator],
    emit: Callable[[argparse.Namespace, object, str], None],
    finish: Callable[[argparse.Namespace, SubmitReport, str], int],
) -> int:
    """``consent declare --from-export FILE...``: declare the export's photos and videos.

    Each work's local name is its label (export, file, date, caption); the export map file
    keeps date and caption per SHA-256. Skipped files are listed (stderr, or ``skipped`` in
    ``--json``).
    """
    from consent.creator import collect_works, pack_declarations  # noqa: PLC0415
    from consent.fingerprint import fingerprint  # noqa: PLC0415
    from consent.keyfile import read_did  # noqa: PLC0415

    if args.paths or args.base_url or args.url_map:
        raise ExportError("--from-export takes no PATH, --base-url or --url-map: run them apart")
    sources = [Path(p) for p in args.from_export]
    scan = scan_export(sources)
    fps: list[Fingerprint] = []
    by_sha: dict[str, list[ExportItem]] = {}
    skipped = list(scan.skipped)
    with extracted(scan) as files:
        for path, item in files:
            try:
                fp = fingerprint(path, pdq=not args.no_pdq, iscc=not args.no_iscc)
            except OSError as exc:
                skipped.append((item.member, f"cannot read: {exc.strerror or exc}"))
                continue
            except InputError as exc:  # empty, or an image over the pixel limit
                skipped.append((item.member, str(exc).removeprefix(f"{path}: ")))
                continue
            fps.append(dataclasses.replace(fp, path=Path(item.label())))
            by_sha.setdefault(fp.sha256, []).append(item)
    skipped_doc = [{"file": member, "reason": reason} for member, reason in skipped]
    if not args.json:
        for member, reason in skipped:
            sys.stderr.write(f"consent: skipped {member}: {reason}\n")
    if not fps:
        raise ExportError(f"no photos or videos to declare in {', '.join(map(str, sources))}")
    if args.dry_run:
        did = read_did(key_path)
        works, _ = collect_works(fps)
        planned = pack_declarations(works, creator=did, issued_at=args.issued_at or 0, prefs=prefs)
        plan: dict[str, object] = {
            "declarations": [msgspec.to_builtins(d) for d in planned],
            "works": [
                {"sha256": sha, **item.to_json()} for sha, items in by_sha.items() for item in items
            ],
            "skipped": skipped_doc,
        }
        lines = [f"{sha[:16]}  {items[0].label()}" for sha, items in sorted(by_sha.items())]
        lines.append(
            f"{len(works)} works in {len(planned)} declarations (not sent); "
            f"{len(skipped)} files skipped"
        )
        emit(args, plan, "\n".join(lines))
        return 0
    creator = make_creator(args)
    with creator.client:
        report = creator.declare(fps, prefs=prefs, issued_at=args.issued_at)
    map_file = _map_path(receipts, sources)
    write_export_map(map_file, by_sha)
    if args.json:
        document: dict[str, object] = {
            **report.to_json(),
            "skipped_files": skipped_doc,
            "map": str(map_file),
        }
        emit(args, document, "")
        if report.rejected:
            first = report.rejected[0]
            raise ExportError(
                f"{len(report.rejected)} declarations rejected, e.g. {first[0][:16]}: {first[1]}"
            )
        return 0
    status = finish(args, report, "declared")
    sys.stdout.write(f"dates and captions kept locally in {map_file}; {len(skipped)} skipped\n")
    return status
