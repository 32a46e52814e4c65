"""registry.core is pure and light: importing it pulls in only msgspec and cryptography.

The SDK and third-party verifiers depend on the core without the node's web framework and
database drivers (issue 2, "How it is checked"), and the core does no I/O of its own.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import registry.core

# typing_extensions is imported by msgspec itself.
ALLOWED_THIRD_PARTY = {
    "msgspec",
    "cryptography",
    "registry",
    "_cffi_backend",
    "cffi",
    "typing_extensions",
}


def core_modules() -> list[str]:
    path = [str(Path(registry.core.__file__).parent)]
    return sorted(f"registry.core.{m.name}" for m in pkgutil.iter_modules(path))


def test_core_has_the_documented_modules() -> None:
    names = {name.rsplit(".", 1)[1] for name in core_modules()}
    assert {"errors", "encoding", "keys", "records", "merkle", "tiles", "note"} <= names


def test_importing_every_core_module_loads_only_stdlib_msgspec_and_cryptography() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(json.loads(out))
    foreign = {
        m
        for m in loaded
        if m not in sys.stdlib_module_names
        and m not in ALLOWED_THIRD_PARTY
        and not m.startswith("_")
    }
    assert foreign == set()
    assert "litestar" not in loaded
    assert "sqlalchemy" not in loaded


def test_core_modules_open_no_sockets_or_files_at_import() -> None:
    # A pure core never touches the network, the clock, randomness or the file system by
    # itself (spec §0): the modules must not import the packages that would let them.
    forbidden = (
        "socket",
        "asyncio",
        "sqlite3",
        "subprocess",
        "urllib.request",
        "http.client",
        "os",
        "time",
        "random",
        "secrets",
        "datetime",
    )
    for name in core_modules():
        source = (
            Path(sys.modules["registry.core"].__file__ or "")
            .parent.joinpath(name.rsplit(".", 1)[1] + ".py")
            .read_text(encoding="utf-8")
        )
        for module in forbidden:
            assert f"import {module}" not in source, f"{name} imports {module}"
            assert f"from {module} import" not in source, f"{name} imports from {module}"
