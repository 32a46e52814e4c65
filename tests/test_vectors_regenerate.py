"""The committed vectors in spec/vectors are exactly what the generators produce."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_regenerating_the_vectors_changes_nothing() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "spec" / "vectors" / "generate.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "vector files up to date" in result.stdout


def test_every_generator_produces_at_least_one_committed_file() -> None:
    generators = sorted((ROOT / "spec" / "vectors").glob("gen_*.py"))
    committed = sorted((ROOT / "spec" / "vectors").glob("*.json"))
    assert generators, "no vector generators found"
    assert len(committed) >= len(generators)
