"""The README's curl walk-through runs as written, against a real node on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.node.test_cli import serving

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- walkthrough:"


def walkthrough() -> str:
    """The shell block right after the walk-through marker in README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme[readme.index(MARKER) :]
    match = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert match is not None, "no ```sh block after the walk-through marker"
    return match.group(1)


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    script = walkthrough()
    with serving("--data-dir", str(tmp_path / "data")) as base:
        env = dict(os.environ)
        env["NODE"] = base
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "content-usage: train-ai=n" in out.lower()
    assert '"optOut":true' in out.replace(" ", "")
    receipt = json.loads((tmp_path / "receipt.json").read_text())
    assert receipt["index"] == 0
    assert receipt["receipt"].startswith("c2sp.org/tlog-proof@v1\n")
    fetched = json.loads((tmp_path / "fetched.json").read_text())
    assert fetched["id"] == receipt["id"]
    # Both receipts (at submission, and fetched later) were checked offline.
    assert out.count("receipt OK: entry 0 of ") == 2
