"""What the ``consent`` command reads: the files under the paths given, and every path it skips.

Nothing is skipped silently: a broken symbolic link, a named pipe, a device, an unreadable or
empty file, a hidden file, an image refused as a decompression bomb each come back as a
:class:`Skipped` with the reason, which the command prints. And after hashing, what a work with
an unreliable perceptual hash (PDQ quality below 50) is still protected by.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from consent.errors import InputError
from consent.fingerprint import Fingerprint, fingerprint

__all__ = [
    "MIN_PDQ_QUALITY",
    "Scan",
    "Skipped",
    "fingerprint_files",
    "protection_notes",
    "scan",
]

MIN_PDQ_QUALITY: Final = 50
"""Below this PDQ quality a hash is unreliable for matching; nodes do not index it (spec §6.8.3)."""


@dataclass(frozen=True)
class Skipped:
    """A path the command did not read, and why."""

    path: Path
    reason: str

    @property
    def hidden(self) -> bool:
        """Skipped because its name starts with a dot."""
        return self.reason.startswith("hidden")

    def to_json(self) -> dict[str, str]:
        """``{"path", "reason"}``."""
        return {"path": str(self.path), "reason": self.reason}


@dataclass
class Scan:
    """The regular files found under the given paths, and the paths skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _special(mode: int) -> str | None:
    """Why a non-regular file is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file: reading it could block forever"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    return "not a regular file"


def _classify(path: Path, *, given: bool) -> tuple[str, str | None]:
    """``("file" | "folder" | "skip", reason)`` for one path (symbolic links followed only
    when the user named the link itself)."""
    try:
        link = path.is_symlink()
        info = path.stat()
    except FileNotFoundError:
        return "skip", f"broken symbolic link (to {os.readlink(path)})"
    except OSError as exc:
        return "skip", f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        if link and not given:
            return "skip", "symbolic link to a folder (not followed)"
        return "folder", None
    reason = _special(info.st_mode)
    if reason is not None:
        return "skip", reason
    if info.st_size == 0:
        return "skip", "empty file (0 bytes): there is no content to identify it by"
    if not os.access(path, os.R_OK):
        return "skip", "cannot be read (permission denied)"
    return "file", None


def scan(paths: Iterable[Path], *, exclude: Iterable[Path] = ()) -> Scan:
    """Every regular, non-empty, readable file under ``paths`` (files as given, folders walked
    in sorted order), and every other path met, with the reason it was skipped.

    Inside a walked folder, hidden names (starting with ``.``) are skipped (and reported), as
    are the paths in ``exclude`` (the command's own data; not reported).

    Raises:
        FileNotFoundError: a given path does not exist at all.
    """
    excluded = {p.resolve() for p in exclude}
    result = Scan()
    for root in paths:
        if not os.path.lexists(root):
            raise FileNotFoundError(f"no such file or folder: {root}")
        kind, reason = _classify(root, given=True)
        if kind == "skip":
            result.skipped.append(Skipped(root, reason or ""))
        elif kind == "file":
            result.files.append(root)
        else:
            _walk(root, excluded, result)
    return result


def _walk(root: Path, excluded: set[Path], result: Scan) -> None:
    for folder, dirs, files in os.walk(root, onerror=lambda exc: _unreadable(exc, result)):
        here = Path(folder)
        kept = []
        for name in sorted(dirs):
            path = here / name
            if path.resolve() in excluded:
                continue
            if name.startswith("."):
                result.skipped.append(Skipped(path, "hidden folder (name starts with '.')"))
            elif path.is_symlink():
                result.skipped.append(Skipped(path, "symbolic link to a folder (not followed)"))
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            path = here / name
            if path.resolve() in excluded:
                continue
            if name.startswith("."):
                result.skipped.append(Skipped(path, "hidden file (name starts with '.')"))
                continue
            kind, reason = _classify(path, given=False)
            if kind == "file":
                result.files.append(path)
            elif kind == "skip":
                result.skipped.append(Skipped(path, reason or ""))


def _unreadable(exc: OSError, result: Scan) -> None:
    result.skipped.append(Skipped(Path(exc.filename or "?"), f"cannot be read ({exc.strerror})"))


def fingerprint_files(
    files: Sequence[Path],
    *,
    pdq: bool = True,
    iscc: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Fingerprint], list[Skipped]]:
    """Fingerprint every file; a file that is refused (empty by now, a decompression bomb) or
    cannot be read is skipped with the reason instead of stopping the run."""
    done: list[Fingerprint] = []
    skipped: list[Skipped] = []
    for n, path in enumerate(files, 1):
        try:
            done.append(fingerprint(path, pdq=pdq, iscc=iscc))
        except InputError as exc:
            skipped.append(Skipped(path, str(exc).removeprefix(f"{path}: ")))
        except OSError as exc:
            skipped.append(Skipped(path, f"cannot be read ({exc.strerror or exc})"))
        if progress is not None:
            progress(n, len(files))
    return done, skipped


def protection_notes(
    fps: Iterable[Fingerprint], urls: Mapping[Path, Sequence[str]] | None = None
) -> list[str]:
    """One line per image whose PDQ hash is too weak to match copies, saying what still
    protects it: the exact SHA-256 always, the ISCC image code if any, its URLs if given."""
    notes = []
    for fp in fps:
        if fp.pdq is None or fp.pdq_quality is None or fp.pdq_quality >= MIN_PDQ_QUALITY:
            continue
        remains = ["its exact bytes (SHA-256)"]
        if fp.iscc:
            remains.append("its ISCC image code (similar copies, coarser)")
        published = list((urls or {}).get(fp.path, ()))
        if published:
            remains.append(f"its {len(published)} URL{'s' if len(published) > 1 else ''}")
        advice = "" if published else "; give --base-url or --url-map to protect it by address"
        notes.append(
            f"{fp.path}: PDQ quality {fp.pdq_quality} < {MIN_PDQ_QUALITY} (too little detail): "
            f"re-encoded or resized copies will not be matched by PDQ; still protected by "
            + ", ".join(remains)
            + advice
        )
    return notes
