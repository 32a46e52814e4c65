#!/usr/bin/env python3
"""Generate the language-neutral test vectors in ``spec/vectors/`` from fixed seeds.

Each ``gen_<area>.py`` module beside this script exposes ``generate() -> dict[str, object]``
mapping a file name to its JSON content. Generation is deterministic (fixed seeds, fixed
times), so regenerating must reproduce the committed files byte for byte.

Usage::

    python spec/vectors/generate.py           # (re)write every vector file
    python spec/vectors/generate.py --check   # exit 1 if any file would change
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def render(content: object) -> str:
    """The one on-disk form of a vector file: sorted keys, two-space indent, final newline."""
    return json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate_all() -> dict[str, str]:
    """Run every generator and return file name -> rendered text; names must not collide."""
    sys.path.insert(0, str(HERE.parent.parent))  # the project root, for ``registry``
    sys.path.insert(0, str(HERE))
    files: dict[str, str] = {}
    for module_path in sorted(HERE.glob("gen_*.py")):
        module = importlib.import_module(module_path.stem)
        for name, content in module.generate().items():
            if name in files:
                raise SystemExit(f"{module_path.name}: vector file {name} generated twice")
            files[name] = render(content)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if any file would change")
    args = parser.parse_args(argv)
    files = generate_all()
    stale: list[str] = []
    for name, text in files.items():
        path = HERE / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent.parent)}")
    orphans = sorted(p.name for p in HERE.glob("*.json") if p.name not in files)
    if args.check and (stale or orphans):
        for name in stale:
            print(f"spec/vectors/{name} differs from what the generators produce", file=sys.stderr)
        for name in orphans:
            print(f"spec/vectors/{name} is produced by no generator", file=sys.stderr)
        print("run `make vectors` and commit the result", file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(files)} vector files up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
