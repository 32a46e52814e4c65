"""A log writer to be killed: submits entries forever, printing each acknowledgement.

Usage: ``python crash_writer.py DATABASE_URL SEED KEY_FILE``. Opens a NodeLog on the
(migrated) database, its signing key in KEY_FILE, and submits batches of new, validly signed
entries (derived from SEED) concurrently, printing ``<id> <index>`` for each acknowledged
entry, flushed, the moment ``submit`` returns.
tests/node/test_crash.py SIGKILLs it at random moments and checks every printed entry survived.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

from registry.log import NodeLog
from registry.log.custody import KeyFile

CONCURRENCY = 48


def _make_entries_function() -> Callable[..., list[bytes]]:
    """Load ``make_entries`` from tests/conftest.py (this script is not run by pytest)."""
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("registry_test_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Callable[..., list[bytes]], module.make_entries)


async def _submit_and_report(log: NodeLog, entry: bytes) -> None:
    result = await log.submit(entry)
    sys.stdout.write(f"{result.id} {result.index}\n")
    sys.stdout.flush()


async def main(database_url: str, seed: int, key_file: Path) -> None:
    make_entries = _make_entries_function()
    log = await NodeLog.open(
        database_url,
        origin="crash.example/log",
        batch_interval=0.005,
        max_batch=16,
        custody=KeyFile(key_file),
    )
    round_number = 0
    while True:
        entries = make_entries(CONCURRENCY, seed=seed * 100_000 + round_number)
        await asyncio.gather(*(_submit_and_report(log, entry) for entry in entries))
        round_number += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
