"""Generated test photographs: smooth, textured images PDQ rates as good quality (>= 50),
each different from the others, and near-duplicate copies of them (resized, re-encoded)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def photo(seed: int, width: int = 640, height: int = 480) -> Image.Image:
    """A deterministic synthetic photograph: blurred blobs and stripes over a gradient."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for c in range(3):
        img = (x / width * rng.uniform(60, 200)) + (y / height * rng.uniform(60, 200))
        for _ in range(12):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            r = rng.uniform(20, min(width, height) / 3)
            img += rng.uniform(-120, 120) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        img += 30 * np.sin(x / rng.uniform(8, 40) + c) * np.cos(y / rng.uniform(8, 40))
        channels.append(np.clip(img, 0, 255))
    return Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8), "RGB")


def write_folder(folder: Path, count: int, *, first_seed: int = 0) -> list[Path]:
    """``count`` PNG photographs in ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"artwork-{i + 1:02d}.png"
        photo(first_seed + i).save(path, format="PNG")
        paths.append(path)
    return paths


def near_duplicate(source: Path, target: Path) -> Path:
    """``source`` resized to 70% and re-encoded as a JPEG of quality 75."""
    with Image.open(source) as image:
        small = image.resize(
            (image.width * 7 // 10, image.height * 7 // 10), Image.Resampling.BICUBIC
        )
        buffer = io.BytesIO()
        small.convert("RGB").save(buffer, format="JPEG", quality=75)
    target.write_bytes(buffer.getvalue())
    return target
