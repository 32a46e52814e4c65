"""docs/operations.md cannot drift from the code: its configuration table lists exactly the
options of ``registry serve`` with their variables and defaults, and every ``REGISTRY_*``
setting; every ``registry`` command line in it uses options that exist."""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import click

from registry.cli import cli, serve
from registry.config.settings import ENV_PREFIX, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
MARKER = "<!-- config-reference: checked by tests/node/test_operations_doc.py -->"
SECRETS = {"REGISTRY_SIGNING_KEY", "REGISTRY_ADMIN_TOKEN"}  # values, or *_FILE options


def reference_rows() -> list[list[str]]:
    """The cells of the configuration table (header and rule skipped)."""
    text = DOC.read_text(encoding="utf-8").split(MARKER, 1)[1].lstrip("\n")
    rows = []
    for line in text.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def codes(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def serve_options() -> dict[str, click.Option]:
    return {
        p.opts[0]: p for p in serve.params if isinstance(p, click.Option) and p.opts[0] != "--help"
    }


def test_every_serve_option_is_documented_with_its_variable_and_default() -> None:
    rows = {codes(r[0])[0]: r for r in reference_rows() if codes(r[0])}
    options = serve_options()
    assert set(rows) == set(options)
    for name, option in options.items():
        row = rows[name]
        assert codes(row[1]) == [option.envvar], name
        default = option.default
        if isinstance(default, (int, float, str, Path)) and str(default):
            shown = str(default)
            assert shown in codes(row[2]), f"{name}: default {shown} not in {row[2]!r}"


def test_every_setting_variable_is_documented() -> None:
    documented = {code for row in reference_rows() for code in codes(row[1])}
    fields = {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
    assert fields <= documented, fields - documented
    assert {v for v in documented if v.startswith(ENV_PREFIX)} <= fields | {
        ENV_PREFIX + "SIGNING_KEY_FILE",
        ENV_PREFIX + "ADMIN_TOKEN_FILE",
    }
    assert documented >= SECRETS


def command_lines() -> list[list[str]]:
    """Every ``registry ...`` command in the guide's sh code blocks, continuations joined."""
    text = DOC.read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = block.replace("\\\n", " ")
        for raw in joined.splitlines():
            line = raw.split("  #", 1)[0].strip()
            if line.startswith("registry "):
                found.append(shlex.split(line)[1:])
    return found


def test_command_examples_use_real_commands_and_options() -> None:
    lines = command_lines()
    assert len(lines) >= 6
    for line in lines:
        command: click.Command = cli
        args = line
        while isinstance(command, click.Group) and args and not args[0].startswith("-"):
            sub = command.get_command(click.Context(command), args[0])
            assert sub is not None, f"no command {args[0]!r} in {args}"
            command, args = sub, args[1:]
        known = {o for p in command.params for o in p.opts}
        used = {a.split("=", 1)[0] for a in args if a.startswith("--")}
        assert used <= known, f"{command.name}: unknown {used - known}"
