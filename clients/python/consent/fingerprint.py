"""Fingerprints of a work, computed locally: SHA-256, PDQ and its quality, ISCC, media type.

The work's bytes never leave the machine: only these fingerprints go into a declaration
(spec §2.4). Implementations used:

- SHA-256: :mod:`hashlib`, streamed.
- PDQ: Meta's reference C++ implementation through the ``pdqhash`` bindings (PyPI), on the
  image as Pillow decodes it after applying its EXIF orientation, converted to RGB. The hex
  form puts bit 0 of ``pdqhash.compute`` first, the order Meta's tools print (checked against
  ThreatExchange's published hashes in the tests). Quality is PDQ's 0..100 gradient measure;
  hashes of quality below 50 are unreliable for matching (PDQ documentation), but are kept:
  the reader decides.
- ISCC: ``iscc-core``. For text (UTF-8 ``text/*``) and images, an ISCC-CODE of the content
  code (Text-Code of the decoded text; Image-Code of the 32x32 grey image iscc-sdk's way:
  EXIF transpose, transparency on white, grey, bicubic resize, without border trimming), the
  Data-Code and the Instance-Code. Other media types get no ISCC (``iscc-sdk``, which extracts
  content from audio, video and documents, needs native tools: see the README).
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pdqhash  # type: ignore[import-untyped]
from PIL import Image, ImageOps, UnidentifiedImageError

from registry.wire import PDQ_MATCH_DISTANCE

__all__ = [
    "PDQ_MATCH_DISTANCE",
    "Fingerprint",
    "fingerprint",
    "fingerprint_bytes",
    "iscc_for",
    "iter_files",
    "media_type_of",
    "pdq_distance",
    "pdq_of_image",
    "sha256_of",
]

_CHUNK: Final = 1 << 20
_MEDIA_TYPE: Final = re.compile(
    r"[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}"
)
_TEXT_ISCC_MAX_BYTES: Final = 64 * 1024 * 1024

# Pillow would refuse very large images as a "decompression bomb"; a creator hashing their own
# photographs wants them hashed, and a crawler sets its own limit before calling us.
Image.MAX_IMAGE_PIXELS = 300_000_000


@dataclass(frozen=True)
class Fingerprint:
    """What the SDK computed for one file. ``pdq`` and ``pdq_quality`` only for images."""

    path: Path
    size: int
    sha256: str
    media_type: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    iscc: str | None = None


def sha256_of(path: Path) -> str:
    """Lowercase hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pdq_of_image(image: Image.Image) -> tuple[str, int]:
    """PDQ hash (64 lowercase hex digits) and quality (0..100) of a decoded image."""
    upright = ImageOps.exif_transpose(image)
    pixels = np.asarray(upright.convert("RGB"))
    bits, quality = pdqhash.compute(pixels)
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value.to_bytes(32, "big").hex(), int(quality)


def pdq_distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes in hex (0..256).

    Raises:
        ValueError: either is not 64 hex digits.
    """
    if len(a) != 64 or len(b) != 64:
        raise ValueError("PDQ hashes are 64 hex digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def media_type_of(path: Path, image_format: str | None = None) -> str | None:
    """The RFC 6838 media type of a file: Pillow's for images, else from the file name.

    Only a lowercase ``type/subtype`` without parameters is returned (spec §2.4), else None.
    """
    guess = Image.MIME.get(image_format) if image_format else None
    if guess is None:
        guess, _ = mimetypes.guess_type(path.name, strict=False)
    if guess is None:
        return None
    guess = guess.lower()
    return guess if _MEDIA_TYPE.fullmatch(guess) else None


def _image_pixels_for_iscc(image: Image.Image) -> list[int]:
    """The 1024 grey values ISCC's Image-Code hashes (iscc-sdk's normalisation, no trim)."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    ):
        rgba = upright.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(background, rgba)
    grey = upright.convert("L").resize((32, 32), Image.Resampling.BICUBIC)
    return list(grey.tobytes())


def _iscc_code(content_code: str, path: Path) -> str:
    import iscc_core  # type: ignore[import-untyped]  # noqa: PLC0415 - slow import (pydantic)

    with path.open("rb") as handle:
        data = iscc_core.gen_data_code_v0(handle)["iscc"]
    with path.open("rb") as handle:
        instance = iscc_core.gen_instance_code_v0(handle)["iscc"]
    code: str = iscc_core.gen_iscc_code_v0([content_code, data, instance])["iscc"]
    return code


def iscc_for(path: Path, media_type: str | None, image: Image.Image | None = None) -> str | None:
    """The ISCC-CODE of a text or image file, or None for other media types.

    Text must be UTF-8 (with or without BOM); a text file that does not decode gets None.
    """
    import iscc_core  # noqa: PLC0415

    if image is not None:
        content: str = iscc_core.gen_image_code_v0(_image_pixels_for_iscc(image))["iscc"]
        return _iscc_code(content, path)
    if media_type is None or not media_type.startswith("text/"):
        return None
    if path.stat().st_size > _TEXT_ISCC_MAX_BYTES:
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not text.strip():
        return None
    content = iscc_core.gen_text_code_v0(text)["iscc"]
    return _iscc_code(content, path)


def _open_image(path: Path) -> Image.Image | None:
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return image


def fingerprint(path: Path, *, pdq: bool = True, iscc: bool = True) -> Fingerprint:
    """Compute every fingerprint the SDK knows for the file at ``path``.

    A file is an image if Pillow can decode it; images get PDQ (with ``pdq``). Text and
    images get an ISCC (with ``iscc``).

    Raises:
        OSError: the file cannot be read.
    """
    size = path.stat().st_size
    digest = sha256_of(path)
    guessed, _ = mimetypes.guess_type(path.name, strict=False)
    image = None
    if guessed is None or not guessed.startswith(("text/", "audio/", "video/")):
        image = _open_image(path)
    media_type = media_type_of(path, image.format if image is not None else None)
    pdq_hex = quality = None
    if image is not None and pdq:
        pdq_hex, quality = pdq_of_image(image)
    code = iscc_for(path, media_type, image) if iscc else None
    if image is not None:
        image.close()
    return Fingerprint(
        path=path,
        size=size,
        sha256=digest,
        media_type=media_type,
        pdq=pdq_hex,
        pdq_quality=quality,
        iscc=code,
    )


def fingerprint_bytes(data: bytes, *, pdq: bool = True) -> Fingerprint:
    """Fingerprints of bytes held in memory (a crawler's download): SHA-256, and PDQ for images.

    ``path`` of the result is ``Path("-")``; no ISCC (it is a creator's concern).
    """
    digest = hashlib.sha256(data).hexdigest()
    pdq_hex = quality = None
    media_type = None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        image = None
    if image is not None:
        media_type = Image.MIME.get(image.format or "")
        if pdq:
            pdq_hex, quality = pdq_of_image(image)
    return Fingerprint(
        path=Path("-"),
        size=len(data),
        sha256=digest,
        media_type=media_type,
        pdq=pdq_hex,
        pdq_quality=quality,
    )


def iter_files(paths: Iterable[Path], *, exclude: Iterable[Path] = ()) -> Iterator[Path]:
    """Every regular file under ``paths`` (files as given, folders walked), in sorted order.

    Hidden files and folders (names starting with ``.``) inside a walked folder are skipped,
    as are the paths in ``exclude`` (e.g. the receipts folder) and symbolic links to folders.

    Raises:
        FileNotFoundError: a given path does not exist.
    """
    excluded = {p.resolve() for p in exclude}
    for root in paths:
        if not root.exists():
            raise FileNotFoundError(f"no such file or folder: {root}")
        if root.is_file():
            yield root
            continue
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and (here / d).resolve() not in excluded
            )
            for name in sorted(files):
                candidate = here / name
                if name.startswith(".") or not candidate.is_file():
                    continue
                if candidate.resolve() in excluded:
                    continue
                yield candidate
