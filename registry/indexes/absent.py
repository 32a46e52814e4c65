"""A "certainly absent" front for the binary batch check (spec §6.8.4, issue 15, ADR 0010).

Crawlers check batches of SHA-256 digests of which ~99% were never declared. Before the
database is asked, each digest is tested against a bitmap over every SHA-256 subject the node
has indexed: bit ``d >> (64 - b)`` (the top ``b`` bits of the digest's first 8 bytes, read
big-endian) is set for each indexed digest ``d``. A clear bit proves the digest absent; a set
bit may be a false positive, so only those positions go to the database, which gives the exact
answer. SHA-256 is uniform, so with ``n`` keys the false-positive rate is ``1 - e^(-n / 2^b)``;
the bitmap is doubled (rebuilt from ``index_subjects``) before ``n`` exceeds ``2^b / 32``
(rate <= 3.1%), costing at most ~32 bits per key at its largest and ~16 on average.

The bitmap is a file beside the near-duplicate files (:mod:`registry.indexes.nearfile`),
written under the same writer lock from the same committed entries, and memory-mapped by every
worker. Bits are only ever set (a stale reader sees a subset of later bits, a crash leaves extra
bits): both only cost false positives, never a wrong "absent" for an entry the state covers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_BITS",
    "AbsentFilter",
    "filter_name",
    "needs_growth",
    "set_keys",
]

MIN_BITS: Final = 20
"""log2 of the smallest bitmap (128 KiB)."""
LOAD: Final = 32
"""The bitmap is doubled before it holds more than one key per ``LOAD`` bits."""
DIGEST: Final = 32


def filter_name(bits: int) -> str:
    """The bitmap file of ``2**bits`` bits."""
    return f"sha256-{bits}.bits"


def needs_growth(bits: int, keys: int) -> int:
    """The size (log2 bits) the bitmap should have for ``keys`` keys (``bits`` if enough)."""
    while keys * LOAD > (1 << bits):
        bits += 1
    return bits


def _positions(digests: npt.NDArray[np.uint8], bits: int) -> npt.NDArray[np.uint64]:
    """Bit positions of ``(n, 32)`` digests: the top ``bits`` bits of their first 8 bytes."""
    heads = np.ascontiguousarray(digests[:, :8]).view(">u8").reshape(-1).astype(np.uint64)
    return heads >> np.uint64(64 - bits)


def set_keys(path: Path, bits: int, keys: Iterable[bytes]) -> None:
    """Set the bits of 32-byte ``keys`` in the bitmap at ``path`` (created, zero, if missing);
    other lengths (damaged stored hashes kept as text, ADR 0009) are never binary-checked."""
    blob = b"".join(k for k in keys if len(k) == DIGEST)
    size = (1 << bits) // 8
    if not path.exists():
        # Allocated, not sparse: a memory-mapped write into a hole of a full file system would
        # kill the process (SIGBUS); posix_fallocate reports ENOSPC as an OSError instead.
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
        finally:
            os.close(fd)
        temporary.replace(path)
    if not blob:
        return
    positions = _positions(np.frombuffer(blob, dtype=np.uint8).reshape(-1, DIGEST), bits)
    mapped = np.memmap(path, dtype=np.uint8, mode="r+", shape=(size,))
    np.bitwise_or.at(
        mapped,
        (positions >> np.uint64(3)).astype(np.intp),
        (np.uint8(1) << (positions & np.uint64(7)).astype(np.uint8)),
    )
    mapped.flush()
    del mapped


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AbsentFilter:
    """A reader's memory map of the bitmap (``None`` until the files have one)."""

    def __init__(self) -> None:
        self.bits = 0
        self._map: npt.NDArray[np.uint8] | None = None

    def attach(self, directory: Path, bits: int) -> None:
        """Map the bitmap of ``2**bits`` bits in ``directory`` (0: none yet)."""
        if bits == self.bits:
            return
        if bits == 0:
            self._map = None
        else:
            self._map = np.asarray(
                np.memmap(
                    directory / filter_name(bits),
                    dtype=np.uint8,
                    mode="r",
                    shape=((1 << bits) // 8,),
                )
            )
        self.bits = bits

    def maybe_present(self, blob: bytes) -> npt.NDArray[np.intp] | None:
        """Positions of the concatenated digests in ``blob`` that may be indexed (the others
        certainly are not); None if there is no bitmap (then every position may be)."""
        if self._map is None:
            return None
        digests = np.frombuffer(blob, dtype=np.uint8, count=len(blob) // DIGEST * DIGEST)
        positions = _positions(digests.reshape(-1, DIGEST), self.bits)
        words = self._map[(positions >> np.uint64(3)).astype(np.intp)]
        hit = (words >> (positions & np.uint64(7)).astype(np.uint8)) & np.uint8(1)
        return np.flatnonzero(hit)
