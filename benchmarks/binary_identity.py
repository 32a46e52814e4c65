"""The cost of identity in the binary batch check's answer (spec §6.8.4, ADR 0023), in process.

Builds and encodes the answer of 10,000 digests with 1% hits, each hit one claim (what
``registry.services.queries.check_binary`` does with the resolutions it gets), without identity
(the baseline, the version-1 answer) and with it, interleaved; best of ``--repeat`` timings of
``--number`` answers each. Prints one table.

Usage::

    .venv/bin/python benchmarks/binary_identity.py
"""

from __future__ import annotations

import argparse
import timeit

from registry.core.batchcheck import CheckAnswer, encode_hits
from registry.core.state import Claim
from registry.services.queries import _binary_claim, _declarations

ITEMS = 10_000


def answer(claims: list[Claim], identity: bool) -> bytes:
    answers = {}
    for i, claim in enumerate(claims):
        listed = [_binary_claim(claim)] if identity else None
        answers[i * (ITEMS // len(claims))] = CheckAnswer(
            {"train-ai": "n"}, _declarations([claim]), listed
        )
    return encode_hits(ITEMS, answers, identity=identity)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hits", type=int, default=100)
    parser.add_argument("--number", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    claims = [
        Claim(
            creator="did:key:z6Mk",
            declaration_id=f"{i:064x}",
            issued_at=1_700_000_000,
            prefs={"train-ai": "n"},
            origins=("node.test/log",),
            level="domain:example.com" if i % 2 else "none",
            evidence=(f"{i + 1:064x}",) if i % 2 else (),
        )
        for i in range(args.hits)
    ]
    plain = identity = float("inf")
    for _ in range(args.repeat):
        seconds = timeit.timeit(lambda: answer(claims, False), number=args.number)
        plain = min(plain, seconds / args.number)
        seconds = timeit.timeit(lambda: answer(claims, True), number=args.number)
        identity = min(identity, seconds / args.number)
    sizes = len(answer(claims, False)), len(answer(claims, True))
    rows = [
        (f"answer of {ITEMS:,} digests, {args.hits} hits", "without identity", "with identity"),
        ("build + encode, us", f"{plain * 1e6:,.0f}", f"{identity * 1e6:,.0f}"),
        ("answer size, bytes", f"{sizes[0]:,}", f"{sizes[1]:,}"),
        ("identity per hit, us", "", f"{(identity - plain) / args.hits * 1e6:.2f}"),
    ]
    for label, left, right in rows:
        print(f"{label:<40}{left:>18}{right:>16}")


if __name__ == "__main__":
    main()
