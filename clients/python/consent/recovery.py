"""A creator key's recovery phrase: its 32-byte Ed25519 seed as 24 BIP-39 words.

BIP-39 (the ``mnemonic`` package, the reference implementation's authors) encodes 256 bits of
entropy as 24 words of a fixed 2,048-word English list, the last word carrying an 8-bit
checksum, so a mistyped word is caught. Here the entropy *is* the key's seed (RFC 8032 §5.1.5:
the private key is those 32 bytes): the phrase restores exactly the same key and ``did:key``.
This is not BIP-39's seed derivation (PBKDF2 of the words, for wallets): no passphrase is mixed
in, so the phrase alone is the key, and must be kept like the key.
"""

from __future__ import annotations

import re
from typing import Final

from mnemonic import Mnemonic

from consent.errors import KeyFileError
from registry.core.keys import PrivateKey

__all__ = ["PHRASE_WORDS", "key_from_phrase", "phrase_from_key", "printable_backup"]

PHRASE_WORDS: Final = 24
_ENGLISH: Final = Mnemonic("english")
_NUMBERED: Final = re.compile(r"(?<![0-9])([0-9]{1,2})\.\s+([A-Za-z]+)")


def phrase_from_key(key: PrivateKey) -> str:
    """The 24-word recovery phrase of ``key`` (lowercase words separated by single spaces)."""
    phrase: str = _ENGLISH.to_mnemonic(key.seed)
    return phrase


def key_from_phrase(text: str) -> PrivateKey:
    """The key a recovery phrase encodes: the 24 words in order, or the numbered words of the
    page :func:`printable_backup` wrote (``1. word``, in any layout). Case, spaces and line
    breaks are ignored.

    Raises:
        KeyFileError: not 24 words of the BIP-39 English list, or the checksum fails.
    """
    numbered = _NUMBERED.findall(text)
    if numbered:
        words = [w.lower() for _, w in sorted(numbered, key=lambda item: int(item[0]))]
    else:
        words = [w.lower() for w in text.replace(",", " ").split()]
    if len(words) != PHRASE_WORDS:
        raise KeyFileError(f"a recovery phrase has {PHRASE_WORDS} words, this one {len(words)}")
    unknown = [w for w in words if w not in _ENGLISH.wordlist]
    if unknown:
        raise KeyFileError(f"not a word of the recovery list: {unknown[0]!r} (mistyped?)")
    phrase = " ".join(words)
    if not _ENGLISH.check(phrase):
        raise KeyFileError("the recovery phrase's checksum fails: a word is wrong or misplaced")
    return PrivateKey.from_seed(bytes(_ENGLISH.to_entropy(phrase)))


def printable_backup(key: PrivateKey) -> str:
    """A page to print or write down: the DID, the numbered words, how to restore."""
    words = phrase_from_key(key).split()
    rows = [
        "   ".join(f"{n + 1:>2}. {words[n]:<10}" for n in range(start, len(words), 6)).rstrip()
        for start in range(6)
    ]
    return "\n".join(
        [
            "consent-registry creator key: recovery phrase",
            "",
            f"Creator: {key.public_key.did}",
            "",
            *rows,
            "",
            "These 24 words ARE your key: anyone who has them can declare, change and withdraw",
            "in your name. Write them on paper (or print this page), keep it somewhere safe and",
            "offline, and never type them into a website. To get the key back on any machine:",
            "",
            "    consent key restore            (then type the 24 words, in order)",
            "",
        ]
    )
