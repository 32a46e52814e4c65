"""Every example of clients/python/README.md runs as written, in order, against a real node.

The shell blocks run with bash (``set -e``) and the Python blocks with this interpreter, in one
working folder holding ``portfolio/`` (an image and a text). The only substitution is the
node's address: the README's ``http://127.0.0.1:8000`` becomes the test node's free port. The
``may_train_on`` function the signals example defines is then called on a local web server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.clients.sdk_support import BIN, free_port
from tests.clients.test_cli_consent import make_image
from tests.clients.test_cli_export import instagram_export

README = Path(__file__).parents[2] / "clients" / "python" / "README.md"
README_NODE = "http://127.0.0.1:8000"


TRUST_MARKER = "<!-- trust"
"""Marks the blocks of the trust section (spec §9), which need a node that checks domains and
trusts a platform: ``tests/clients/test_cli_trust.py`` runs them."""


def all_blocks() -> list[tuple[bool, str, str]]:
    """(is a trust block, language, code) of every fenced sh or python block, in order."""
    found = re.findall(
        r"^(<!-- trust[^\n]*\n)?```(sh|python)\n(.*?)^```", README.read_text(), re.S | re.M
    )
    return [(bool(marker), lang, code) for marker, lang, code in found]


def blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced sh or python block but the trust ones, in order."""
    return [(lang, code) for trust, lang, code in all_blocks() if not trust]


def trust_blocks() -> list[tuple[str, str]]:
    """(language, code) of the trust section's blocks, in order."""
    return [(lang, code) for trust, lang, code in all_blocks() if trust]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_readme_examples_run_as_written(served_node: str, tmp_path: Path) -> None:
    examples = blocks()
    assert [lang for lang, _ in examples].count("sh") >= 3
    assert [lang for lang, _ in examples].count("python") >= 4
    portfolio = tmp_path / "portfolio"
    portfolio.mkdir()
    make_image(portfolio / "sunset.png", 7)
    (portfolio / "poem.txt").write_text("Consent travels with the work.\n" * 10)
    instagram_export(tmp_path / "instagram-export.zip")  # the reader's own export
    # A SPAWNING_OPTS_KEY would make datadiligence's default rules ask Spawning's servers,
    # which are not on loopback: the examples run as a reader without one would.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSENT_", "SPAWNING_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")  # the reader's per-user data directory
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(QuietHandler, directory=str(portfolio))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    outputs = []
    exports: list[str] = []  # a reader's shell keeps what earlier blocks exported
    try:
        for lang, block in examples:
            code = block.replace(README_NODE, served_node)
            if "def may_train_on" in code:
                code += f"\nassert not may_train_on({site + '/sunset.png'!r})\n"
            if lang == "sh":
                command = ["bash", "-e", "-c", "\n".join([*exports, code])]
                exports += [line for line in code.splitlines() if line.startswith("export ")]
            else:
                command = [sys.executable, "-c", code]
            result = subprocess.run(
                command,
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, (
                f"{lang} block failed:\n{block}\n{result.stdout}{result.stderr}"
            )
            outputs.append(result.stdout)
    finally:
        server.shutdown()
        server.server_close()
    text = "\n".join(outputs)
    assert "declared: 1 declarations logged, 2 works" in text
    assert "declared: 0 declarations logged, 2 works, 2 already declared" in text
    assert "OK: declaration " in text
    assert "declared: 1 declarations logged, 5 works" in text  # the Instagram export
    assert "/receipts/exports/instagram-export.json" in text  # in the key's record
    assert "dates and captions kept locally in " + str(tmp_path / "xdg-data" / "consent") in text
    assert "signals for 6 works: 5 site files, 4 images" in text
    assert (
        "Content-Usage: /portfolio/sunset.png$ train-ai=y"
        in (tmp_path / "site" / "robots.txt").read_text()
    )
    assert "sunset.png reserved decided by registry" in text  # re-declared by the SDK block
    assert "poem-draft.txt reserved by ISCC" in text  # the poem, re-declared by the SDK block
    assert "100000 checked offline," in text  # the asyncio offline check
    assert "hashes asked; near-duplicates: [(" in text  # the cropped sunset.png, declared
    assert (tmp_path / "answers.json").read_text().startswith("{")
