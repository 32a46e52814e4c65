"""Crash safety: a writer process SIGKILLed at random moments loses no acknowledged entry.

Each round starts tests/node/crash_writer.py on the same database, waits for it to acknowledge
entries, kills it (SIGKILL, no clean-up) at a random moment, and keeps every ``id index`` line
it printed before dying. Afterwards the log must open (its start-up check passes), hold every
acknowledged entry at its acknowledged index, and pass the full ``verify_log``.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from pathlib import Path

import pytest

from registry.indexes.rebuild import check_index
from registry.log import NodeLog, upgrade, verify_log
from registry.log.custody import KeyFile

WRITER = Path(__file__).resolve().parent / "crash_writer.py"
ROUNDS = 5


async def run_and_kill(
    database_url: str, seed: int, delay: float, key_file: Path
) -> dict[str, int]:
    """Run one writer, SIGKILL it ``delay`` seconds after its first acknowledgement; return
    the acknowledgements it printed, {id: index}."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WRITER),
        database_url,
        str(seed),
        str(key_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    acked: dict[str, int] = {}
    try:
        first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert first, (await process.stderr.read()).decode() if process.stderr else "no output"
        lines = [first]
        await asyncio.sleep(delay)
    finally:
        process.send_signal(signal.SIGKILL)
    rest, stderr = await process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    lines += rest.splitlines(keepends=True)
    for line in lines:
        if line.endswith(b"\n"):  # a line cut by the kill was never fully acknowledged
            record_id, index = line.decode().split()
            acked[record_id] = int(index)
    return acked


@pytest.mark.slow
async def test_killed_writer_loses_no_acknowledged_entry(
    database_url: str, key_file: KeyFile
) -> None:
    await upgrade(database_url)
    rng = random.Random(20251121)
    acked: dict[str, int] = {}
    for round_number in range(ROUNDS):
        delay = rng.uniform(0.02, 0.6)
        got = await run_and_kill(database_url, round_number + 1, delay, key_file.path)
        assert got, "the writer acknowledged nothing"
        acked.update(got)
    log = await NodeLog.open(database_url, custody=key_file)  # the start-up check passes
    try:
        assert log.origin == "crash.example/log"
        size = await log.size()
        assert size >= max(acked.values()) + 1
        for record_id, index in acked.items():
            found = await log.find(record_id)
            assert found is not None, f"acknowledged entry {record_id} lost"
            assert found[0] == index
        # the persistent index was written in the same transactions: it equals the log (ADR 0010)
        checked = await check_index(log.engine, repair=False)
        assert checked.equal, checked.differences
        assert checked.entries == size
    finally:
        await log.close()
    report = await verify_log(database_url)
    assert report.size == size
    assert len(set(acked.values())) == len(acked)
