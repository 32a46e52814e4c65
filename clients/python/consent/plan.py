"""``consent declare --dry-run``: what would be declared, work by work, without sending it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from consent.creator import collect_works, pack_declarations
from consent.fingerprint import Fingerprint

__all__ = ["dry_run"]


def dry_run(
    fps: Sequence[Fingerprint],
    *,
    urls: Mapping[Path, Sequence[str]],
    did: str,
    prefs: Mapping[str, str],
    issued_at: int | None,
) -> tuple[dict[str, object], str]:
    """The plan as a JSON document (``works``: one per distinct content, with its files,
    SHA-256, media type, PDQ quality, ISCC and URLs; ``declarations``: the unsigned
    declarations) and as text: a line per work, then the totals.

    Raises:
        RecordError: a URL is not an http(s) URL.
    """
    works, files = collect_works(fps, urls=urls)
    planned = pack_declarations(works, creator=did, issued_at=issued_at or 0, prefs=prefs)
    rows: list[dict[str, object]] = [
        {
            "files": files.get(work.sha256, []),
            "sha256": work.sha256,
            "media_type": work.media_type,
            "pdq_quality": work.pdq_quality,
            "iscc": work.iscc,
            "urls": list(work.urls),
        }
        for work in works
    ]
    stated = ", ".join(f"{k}={v}" for k, v in sorted(prefs.items()))
    lines = [
        f"{', '.join(files.get(work.sha256, []))}  {work.sha256[:16]}  {work.media_type or '?'}"
        + (f"  PDQ quality {work.pdq_quality}" if work.pdq_quality is not None else "")
        + (f"  {len(work.urls)} URLs" if work.urls else "")
        for work in works
    ]
    lines.append(
        f"would declare {len(works)} works ({stated}) in {len(planned)} declarations "
        "as creator " + did + ": nothing sent (works you already declared are skipped then)"
    )
    document: dict[str, object] = {
        "works": rows,
        "declarations": [msgspec.to_builtins(d) for d in planned],
    }
    return document, "\n".join(lines)
