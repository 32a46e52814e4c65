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
- Media type: from the content, never the name: Pillow's format for images, else the magic
  bytes (``filetype``), else ``text/...`` for UTF-8 text (the name's text subtype, e.g.
  ``text/markdown``, else ``text/plain``), else none.
- Bounded decoding: an image over :data:`MAX_IMAGE_PIXELS` is refused as a likely
  decompression bomb (:class:`~consent.errors.InputError`). An image whose longer side exceeds
  :data:`REDUCE_ABOVE` is hashed from a box-filtered downsample whose longer side is at least
  :data:`REDUCED_SIDE` (JPEG: decoded at a reduced DCT scale; other formats: reduced in bands of
  rows), so nothing but the decoded image itself is ever held at full size. PDQ reduces every
  image to 64x64 anyway; the downsample changes the hash by a few bits: 0 to 8 of 256 (mean
  2.6) over 24 generated PNG and JPEG images of 2,100 to 6,000 pixels a side, far below the
  match threshold of 31 (``tests/clients/test_cli_inputs.py`` checks it stays within 12). The
  ISCC Image-Code (32x32 grey) came out identical on 10 such images.
- ISCC: ``iscc-core``. For text (UTF-8 ``text/*``) and images, an ISCC-CODE of the content
  code (Text-Code of the decoded text; Image-Code of the 32x32 grey image iscc-sdk's way:
  EXIF transpose, transparency on white, grey, bicubic resize, without border trimming), the
  Data-Code and the Instance-Code. Other media types get no ISCC (``iscc-sdk``, which extracts
  content from audio, video and documents, needs native tools: see the README).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import mimetypes
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import filetype  # type: ignore[import-untyped]
import numpy as np
import pdqhash  # type: ignore[import-untyped]
from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

from consent.errors import InputError
from registry.core.records import MAX_PDQ_VARIANTS
from registry.wire import PDQ_MATCH_DISTANCE

__all__ = [
    "MAX_IMAGE_PIXELS",
    "PDQ_CONFIRMATIONS",
    "PDQ_CUT_DISTANCE",
    "PDQ_FLIP_CONFIRMED_DISTANCE",
    "PDQ_MATCH_DISTANCE",
    "PDQ_MIN_QUALITY",
    "PDQ_TURN_DISTANCE",
    "PDQ_WEAK_DISTANCE",
    "PDQ_WEAK_QUALITY",
    "REDUCED_SIDE",
    "REDUCE_ABOVE",
    "Fingerprint",
    "PdqQuery",
    "decode_image",
    "fingerprint",
    "fingerprint_bytes",
    "iscc_for",
    "iter_files",
    "media_type_of",
    "pdq_distance",
    "pdq_of_image",
    "pdq_query_hashes",
    "pdq_query_hashes_of_file",
    "pdq_query_of_bytes",
    "pdq_variants_of_image",
    "sha256_of",
]

_CHUNK: Final = 1 << 20
_MEDIA_TYPE: Final = re.compile(
    r"[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}"
)
_TEXT_ISCC_MAX_BYTES: Final = 64 * 1024 * 1024

_HEAD: Final = 8192

MAX_IMAGE_PIXELS: Final = 256_000_000
"""Images with more pixels (16,000 x 16,000) are refused as likely decompression bombs. Pillow's
own check (which warns above ``Image.MAX_IMAGE_PIXELS`` and refuses above twice that) is set to
this limit when this module is imported, and the limit is enforced here explicitly."""
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

REDUCE_ABOVE: Final = 2048
"""Images whose longer side is larger are hashed from a downsample (see the module docstring)."""
REDUCED_SIDE: Final = 1024
"""The downsample's longer side is at least this (PDQ works on 64x64, ISCC on 32x32)."""

# EXIF orientation (tag 0x0112) -> the transposition that makes the image upright.
_ORIENTATION: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Text-based media types a UTF-8 file may be named as (else it is text/plain).
_TEXTUAL: Final = ("text/", "application/json", "application/xml", "image/svg+xml")


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
    pdq_variants: tuple[str, ...] = ()
    """PDQ hashes of crops of the image (spec §2.4), declared beside ``pdq``."""


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


# spec §2.4 / ADR 0011: the crops whose PDQ hashes a declaration carries as ``pdq_variants``,
# each (kept share of the width and height, horizontal anchor, vertical anchor) on a 3x3 grid
# of anchors (left/centre/right x top/middle/bottom): the 9 crops keeping 90%, then the 7
# keeping 80% other than the middle-left and middle-right ones (MAX_PDQ_VARIANTS is 16). A copy
# cropped from one or two edges, or around its centre, or captioned along an edge, still holds
# one of these crops whole.
CROP_ANCHORS: Final = tuple((x, y) for y in (0.0, 0.5, 1.0) for x in (0.0, 0.5, 1.0))
CROP_KEEPS: Final = (0.9, 0.8)
DECLARED_CROPS: Final = tuple((0.9, x, y) for x, y in CROP_ANCHORS) + tuple(
    (0.8, x, y) for x, y in CROP_ANCHORS if y != 0.5 or x == 0.5
)
# Check side: how much a copy may have lost on each axis; the copy is cut at each anchor to the
# fraction keep / (1 - lost) of its size for each declared keep, so one cut lines up with a
# declared crop.
CROP_LOSSES: Final = (0.0, 0.025, 0.05, 0.075, 0.1)
# Crops are hashed on the image scaled down to at most this many pixels on its longer side
# (PDQ itself works on a 64x64 reduction; this bounds the cost of 16 or 90 hashes).
VARIANT_SIDE: Final = 256
PDQ_MIN_QUALITY: Final = 50
"""Below this PDQ quality a node does not index a hash (spec §6.8.3); cuts below it are dropped."""
DIHEDRAL_SIDE: Final = 1024  # the 8 flips/rotations are hashed at most this size
_BORDER_TOLERANCE: Final = 24  # grey levels a border pixel may differ from the corner's

# spec §6.8.3 item 6 / ADR 0011: the distance each query hash of a copy is asked at.
PDQ_TURN_DISTANCE: Final = 8
"""Within this, a match of one of the copy's 7 other flips and rotations stands on its own: a
transposition moves no pixel value, so an unedited flipped or rotated copy is within a few
bits of the declared hash (0 in the benchmark); farther, see
:data:`PDQ_FLIP_CONFIRMED_DISTANCE`."""
PDQ_CUT_DISTANCE: Final = 26
"""The cuts of a copy (lined up with declared crops)."""
PDQ_FLIP_CONFIRMED_DISTANCE: Final = PDQ_MATCH_DISTANCE
"""A flip or rotation of the copy matching a work beyond :data:`PDQ_TURN_DISTANCE` but within
this stands only if :data:`PDQ_CONFIRMATIONS` of the same flip's crops (the 9 declared crops
keeping 90%, :data:`DECLARED_CROPS`, each asked within :data:`PDQ_CUT_DISTANCE`) match the same
work: a mirrored copy that was also resized or re-encoded lies 9-31 bits away, but so do the
tiles of a mirror-symmetric picture or texture, flips of one another; the agreement of the
crops halves such matches in the benchmark (ADR 0011)."""
PDQ_CONFIRMATIONS: Final = 2
"""How many of a flip's crops must match a work to confirm the flip's farther match."""
CONFIRMING_CROPS: Final = tuple(crop for crop in DECLARED_CROPS if crop[0] == CROP_KEEPS[0])
PDQ_WEAK_QUALITY: Final = 70
"""Query hashes of lower PDQ quality (flat, low-contrast pictures) are asked within at most
:data:`PDQ_WEAK_DISTANCE`: such hashes lie closer to unrelated ones."""
PDQ_WEAK_DISTANCE: Final = 16


@dataclass(frozen=True)
class PdqQuery:
    """What a checker asks about one image (spec §6.8.3 item 6): its own PDQ hash (answers
    name the copy by it) and each query hash with the ``max_distance`` it is asked at."""

    pdq: str
    asks: tuple[tuple[str, int], ...]
    alone: tuple[tuple[str, int], ...] = ()
    """The query hashes whose match stands on its own only within a smaller distance than
    they are asked at (flips and rotations: :data:`PDQ_TURN_DISTANCE`; a flip's crops asked only
    to confirm it: -1, never); every other hash's match stands within its asked distance."""
    confirm: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(a flip or rotation, its crops): a match of the flip within its asked distance stands
    if :data:`PDQ_CONFIRMATIONS` of its crops match the same work (spec §6.8.3 item 6)."""

    def by_distance(self) -> dict[int, list[str]]:
        """The query hashes grouped by the distance they are asked at (one request each)."""
        out: dict[int, list[str]] = {}
        for hex_hash, distance in self.asks:
            out.setdefault(distance, []).append(hex_hash)
        return out

    def standing(self) -> dict[str, int]:
        """Each query hash and the distance within which its match stands on its own."""
        return {**dict(self.asks), **dict(self.alone)}

    def confirmed(self, found: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
        """Given the works each query hash matched (``found[hash]``, within its asked
        distance), the works each confirmed flip may stand for: those matched by at least
        :data:`PDQ_CONFIRMATIONS` of its crops."""
        out: dict[str, set[str]] = {}
        for flip, crops in self.confirm:
            votes = Counter(work for crop in crops for work in set(found.get(crop, ())))
            out[flip] = {work for work, n in votes.items() if n >= PDQ_CONFIRMATIONS}
        return out

    def matches(self, *declared: str) -> bool:
        """True if a work declared with these hashes (its ``pdq`` and ``pdq_variants``) is
        found: some query hash within its standing distance of one of them, or a flip within
        its asked distance with :data:`PDQ_CONFIRMATIONS` of its crops within theirs."""
        nearest = {h: min(pdq_distance(h, d) for d in declared) for h, _ in self.asks}
        found = {h: ("work",) for h, d in self.asks if nearest[h] <= d}
        confirmed = self.confirmed(found)
        return any(nearest[h] <= d for h, d in self.standing().items()) or any(
            flip in found and works for flip, works in confirmed.items()
        )


def _query(
    pdq: str,
    items: Iterable[tuple[str, int, int, int]],
    confirm: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> PdqQuery:
    """(hash, quality, asked distance, standing distance of its kind) -> the query: a weak
    hash is asked (and stands) within at most :data:`PDQ_WEAK_DISTANCE`; a hash of several
    kinds at the largest of each."""
    asked: dict[str, int] = {}
    alone: dict[str, int] = {}
    for hex_hash, quality, kind_asked, kind_alone in items:
        cap = PDQ_WEAK_DISTANCE if quality < PDQ_WEAK_QUALITY else kind_asked
        asked[hex_hash] = max(min(kind_asked, cap), asked.get(hex_hash, -1))
        alone[hex_hash] = max(min(kind_alone, cap), alone.get(hex_hash, -1))
    smaller = tuple((h, d) for h, d in alone.items() if d < asked[h])
    return PdqQuery(pdq, tuple(asked.items()), smaller, confirm)


def _bits_hex(bits: object) -> str:
    value = 0
    for bit in bits:  # type: ignore[attr-defined]
        value = (value << 1) | int(bit)
    return value.to_bytes(32, "big").hex()


def _rgb_small(image: Image.Image) -> Image.Image:
    upright = ImageOps.exif_transpose(image).convert("RGB")
    if max(upright.size) > VARIANT_SIDE:
        upright = upright.copy()
        upright.thumbnail((VARIANT_SIDE, VARIANT_SIDE), Image.Resampling.LANCZOS)
    return upright


def _crop(image: Image.Image, keep_x: float, keep_y: float, ax: float, ay: float) -> Image.Image:
    width, height = image.size
    w, h = max(1, round(width * keep_x)), max(1, round(height * keep_y))
    x, y = round((width - w) * ax), round((height - h) * ay)
    return image.crop((x, y, x + w, y + h))


def _pdq(image: Image.Image) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.asarray(image))
    return _bits_hex(bits), int(quality)


def pdq_variants_of_image(image: Image.Image, *, min_quality: int = PDQ_MIN_QUALITY) -> list[str]:
    """PDQ hashes of the 16 anchored crops of an image (:data:`DECLARED_CROPS`,
    ``pdq_variants``, spec §2.4), sorted and unique; crops whose PDQ quality is below
    ``min_quality`` are left out."""
    small = _rgb_small(image)
    found = set()
    for keep, ax, ay in DECLARED_CROPS:
        hex_hash, quality = _pdq(_crop(small, keep, keep, ax, ay))
        if quality >= min_quality:
            found.add(hex_hash)
    return sorted(found)


def trim_border(image: Image.Image) -> Image.Image:
    """The image without a uniform border (a frame or letterbox of the top-left corner's
    colour, within a small tolerance); the image itself if there is none or all is border."""
    rgb = image.convert("RGB")
    corner = Image.new("RGB", rgb.size, rgb.getpixel((0, 0)))
    diff = (
        ImageChops.difference(rgb, corner)
        .convert("L")
        .point(lambda v: 255 if v > _BORDER_TOLERANCE else 0)
    )
    box = diff.getbbox()
    if box is None or box == (0, 0, *rgb.size):
        return rgb
    return rgb.crop(box)


def pdq_query_hashes(image: Image.Image) -> PdqQuery:
    """The PDQ hashes a checker asks about for one image, the distance each is asked at and
    the distance within which its match stands (spec §6.8.3 item 6, recommended check; ADR
    0011):

    - the image itself and the image without a uniform border: :data:`PDQ_MATCH_DISTANCE`;
    - its 7 other flips and rotations: asked within :data:`PDQ_FLIP_CONFIRMED_DISTANCE`,
      standing alone within :data:`PDQ_TURN_DISTANCE`, farther only if
      :data:`PDQ_CONFIRMATIONS` of the flip's :data:`CONFIRMING_CROPS` (asked within
      :data:`PDQ_CUT_DISTANCE`, never standing alone) match the same work (``confirm``);
    - the *cuts*: for each declared keep (:data:`CROP_KEEPS`), each of the 9 anchors and each
      assumed loss of :data:`CROP_LOSSES` per axis, the cut sized to line up with a declared
      crop after that loss (quality 50 or more): :data:`PDQ_CUT_DISTANCE`;
    - any of them of quality below :data:`PDQ_WEAK_QUALITY`: at most :data:`PDQ_WEAK_DISTANCE`.

    Each hash is asked once (at the largest of its distances). ``check_pdq_copies`` applies
    the standing and confirming rules, and drops matches farther than
    :data:`PDQ_WEAK_DISTANCE` of declared images whose quality is below
    :data:`PDQ_WEAK_QUALITY`.
    """
    upright = ImageOps.exif_transpose(image).convert("RGB")
    small = _rgb_small(upright)
    whole_image = upright
    if max(whole_image.size) > DIHEDRAL_SIDE:
        whole_image = whole_image.copy()
        whole_image.thumbnail((DIHEDRAL_SIDE, DIHEDRAL_SIDE), Image.Resampling.LANCZOS)
    own, own_quality = _pdq(whole_image)
    items = [(own, own_quality, PDQ_MATCH_DISTANCE, PDQ_MATCH_DISTANCE)]
    confirm = []
    # Each flip/rotation hashed on its own: PDQ's one-pass dihedral hashes differ from the
    # hash of the flipped image by up to 86 bits on textures (its box filter is not symmetric).
    for method in Image.Transpose:
        flip, quality = _pdq(whole_image.transpose(method))
        items.append((flip, quality, PDQ_FLIP_CONFIRMED_DISTANCE, PDQ_TURN_DISTANCE))
        flipped = small.transpose(method)
        crops = []
        for keep, ax, ay in CONFIRMING_CROPS:
            crop, crop_quality = _pdq(_crop(flipped, keep, keep, ax, ay))
            if crop_quality >= PDQ_MIN_QUALITY:
                crops.append(crop)
                items.append((crop, crop_quality, PDQ_CUT_DISTANCE, -1))
        confirm.append((flip, tuple(crops)))
    trimmed = trim_border(small)
    if trimmed.size != small.size:
        items.append((*_pdq(trimmed), PDQ_MATCH_DISTANCE, PDQ_MATCH_DISTANCE))
    for keep_declared in CROP_KEEPS:
        for loss in CROP_LOSSES:
            keep = min(1.0, keep_declared / (1.0 - loss))
            for ax, ay in CROP_ANCHORS:
                hex_hash, quality = _pdq(_crop(small, keep, keep, ax, ay))
                if quality >= PDQ_MIN_QUALITY:
                    items.append((hex_hash, quality, PDQ_CUT_DISTANCE, PDQ_CUT_DISTANCE))
    return _query(own, items, tuple(confirm))


def pdq_query_hashes_of_file(fp: Fingerprint) -> PdqQuery:
    """:func:`pdq_query_hashes` of the image file ``fp`` was computed from, with ``fp.pdq``
    asked too (as the copy's own hash); just ``fp.pdq`` if the file no longer decodes.

    Raises:
        ValueError: ``fp`` has no PDQ hash.
    """
    if fp.pdq is None:
        raise ValueError(f"{fp.path} has no PDQ hash")
    quality = fp.pdq_quality if fp.pdq_quality is not None else 100
    own = (fp.pdq, quality, PDQ_MATCH_DISTANCE, PDQ_MATCH_DISTANCE)
    try:
        decoded = decode_image(fp.path, name=str(fp.path))
    except InputError:
        decoded = None
    if decoded is None:
        return _query(fp.pdq, [own])
    with decoded[0] as image:
        query = pdq_query_hashes(image)
    return _with_own(query, own)


def _with_own(query: PdqQuery, own: tuple[str, int, int, int]) -> PdqQuery:
    """``query`` answered under the copy's own hash ``own`` (asked too)."""
    standing = query.standing()
    kept = ((h, 100, d, standing[h]) for h, d in query.asks)
    return _query(own[0], [own, *kept], query.confirm)


def pdq_distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes in hex (0..256).

    Raises:
        ValueError: either is not 64 hex digits.
    """
    if len(a) != 64 or len(b) != 64:
        raise ValueError("PDQ hashes are 64 hex digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _is_text(head: bytes) -> bool:
    """True if ``head`` (a file's first bytes) reads as UTF-8 text without NUL bytes."""
    if b"\0" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_HEAD)


def media_type_of(
    path: Path, image_format: str | None = None, *, head: bytes | None = None
) -> str | None:
    """The RFC 6838 media type of a file, from its content, not its name.

    Pillow's for images (``image_format``), else what the magic bytes say (``filetype``), else
    for UTF-8 text the text type its name suggests (``text/markdown``...) or ``text/plain``,
    else None. ``head`` is the file's first bytes (read from ``path`` if not given). Only a
    lowercase ``type/subtype`` without parameters is returned (spec §2.4).
    """
    guess = Image.MIME.get(image_format) if image_format else None
    if guess is None:
        head = _read_head(path) if head is None else head
        guess = filetype.guess_mime(head) if head else None
        if guess is None and head and _is_text(head):
            named, _ = mimetypes.guess_type(path.name, strict=False)
            guess = named if named and named.startswith(_TEXTUAL) else "text/plain"
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


def _reduced(image: Image.Image) -> Image.Image:
    """``image`` loaded, and downsampled by box filter if its longer side exceeds
    :data:`REDUCE_ABOVE` (upright per its EXIF orientation in that case)."""
    longest = max(image.size)
    if longest <= REDUCE_ABOVE:
        image.load()
        return image
    orientation = image.getexif().get(0x0112)
    if image.format == "JPEG":
        # DCT-domain scaling while decoding (1/2, 1/4, 1/8): never decoded at full size.
        scale = longest // REDUCED_SIDE
        image.draft("RGB", (image.width // scale, image.height // scale))
    image.load()
    factor = max(image.size) // REDUCED_SIDE
    if factor < 2:
        return image  # still carries its EXIF: made upright where it is hashed
    width, height = image.size
    if image.mode in ("L", "RGB", "RGBA"):
        out = image.reduce(factor)  # box filter straight from the decoded pixels, no copy
    else:
        # Converted band by band, so no full-size converted copy is ever made.
        alpha = "A" in image.getbands() or "transparency" in image.info
        mode = "RGBA" if alpha else "RGB"
        out = Image.new(mode, (-(-width // factor), -(-height // factor)))
        band = factor * 64
        for top in range(0, height, band):
            part = image.crop((0, top, width, min(height, top + band)))
            out.paste(part.convert(mode).reduce(factor), (0, top // factor))
    image.close()
    method = _ORIENTATION.get(orientation) if isinstance(orientation, int) else None
    return out.transpose(method) if method is not None else out


def decode_image(
    source: Path | IO[bytes], *, name: str = "image"
) -> tuple[Image.Image, str] | None:
    """Decode an image with bounded memory: the image (reduced, see the module docstring) and
    its format, or None if Pillow cannot decode it.

    Raises:
        InputError: the image has more than :data:`MAX_IMAGE_PIXELS` pixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name}: {_too_large(None)} ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise InputError(f"{name}: {_too_large((width, height))}")
    image_format = str(image.format or "")
    try:
        return _reduced(image), image_format
    except (OSError, ValueError, SyntaxError):
        image.close()
        return None


def _too_large(size: tuple[int, int] | None) -> str:
    stated = f"{size[0]:,} x {size[1]:,} pixels, " if size else ""
    return (
        f"image of {stated}over the limit of {MAX_IMAGE_PIXELS:,} pixels "
        "(a decompression bomb?): refused"
    )


def fingerprint(
    path: Path, *, pdq: bool = True, iscc: bool = True, variants: bool = True
) -> Fingerprint:
    """Compute every fingerprint the SDK knows for the file at ``path``.

    A file is an image if Pillow can decode it; images get PDQ (with ``pdq``) and, with
    ``variants`` too, the PDQ hashes of its crops (:func:`pdq_variants_of_image`) if the
    image's own PDQ quality is at least 50 (a node ignores them otherwise). Text and images
    get an ISCC (with ``iscc``). Large images are decoded with bounded memory.

    Raises:
        InputError: the file is empty, or an image over :data:`MAX_IMAGE_PIXELS`.
        OSError: the file cannot be read.
    """
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes): there is no content to identify it by")
    digest = sha256_of(path)
    head = _read_head(path)
    sniffed = filetype.guess_mime(head)
    decoded = None
    if not (sniffed or "").startswith(("audio/", "video/")) and not (
        sniffed is None and _is_text(head)
    ):
        decoded = decode_image(path, name=str(path))
    image = decoded[0] if decoded is not None else None
    media_type = media_type_of(path, decoded[1] if decoded is not None else None, head=head)
    pdq_hex = quality = None
    crops: list[str] = []
    if image is not None and pdq:
        pdq_hex, quality = pdq_of_image(image)
        if variants and quality >= PDQ_MIN_QUALITY:
            crops = [h for h in pdq_variants_of_image(image) if h != pdq_hex]
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
        pdq_variants=tuple(crops[:MAX_PDQ_VARIANTS]),
    )


def fingerprint_bytes(data: bytes, *, pdq: bool = True) -> Fingerprint:
    """Fingerprints of bytes held in memory (a crawler's download): SHA-256, and PDQ for images.

    ``path`` of the result is ``Path("-")``; no ISCC (it is a creator's concern).

    Raises:
        InputError: an image over :data:`MAX_IMAGE_PIXELS`.
    """
    digest = hashlib.sha256(data).hexdigest()
    pdq_hex = quality = None
    media_type = None
    decoded = decode_image(io.BytesIO(data), name="content") if data else None
    if decoded is not None:
        image, image_format = decoded
        media_type = Image.MIME.get(image_format)
        if pdq:
            pdq_hex, quality = pdq_of_image(image)
        image.close()
    return Fingerprint(
        path=Path("-"),
        size=len(data),
        sha256=digest,
        media_type=media_type,
        pdq=pdq_hex,
        pdq_quality=quality,
    )


def pdq_query_of_bytes(data: bytes) -> PdqQuery | None:
    """:func:`pdq_query_hashes` of an image held in memory (a crawler's download), with the
    PDQ hash :func:`fingerprint_bytes` gives as the copy's own; None if it is not an image.

    Raises:
        InputError: an image over :data:`MAX_IMAGE_PIXELS`.
    """
    decoded = decode_image(io.BytesIO(data), name="content") if data else None
    if decoded is None:
        return None
    with decoded[0] as image:
        own, quality = pdq_of_image(image)
        query = pdq_query_hashes(image)
    return _with_own(query, (own, quality, PDQ_MATCH_DISTANCE, PDQ_MATCH_DISTANCE))


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
