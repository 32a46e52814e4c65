"""The dependency locks (requirements/README.md) agree with what the projects declare.

``make`` installs only from ``requirements/dev.txt`` and the Docker image only from
``requirements/node.txt``; these tests fail when someone edits a ``pyproject.toml`` without
running ``make lock``, so that a requirement the lock does not satisfy cannot land.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCAL = {"consent-registry", "consent-registry-client"}
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)")


def read_lock(name: str) -> dict[str, str]:
    """Package name -> pinned version; every pin must carry at least one hash."""
    pins: dict[str, str] = {}
    current = ""
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if match := _PIN.match(line):
            current = canonicalize_name(match[1])
            pins[current] = match[2]
        elif line.strip().startswith("--hash=sha256:"):
            pins.setdefault(current + "#hashed", "yes")
    unhashed = [p for p in pins if "#" not in p and p + "#hashed" not in pins]
    assert not unhashed, f"{name}: pins without a hash: {unhashed}"
    return {p: v for p, v in pins.items() if "#" not in p}


def declared(pyproject: Path, extras: set[str]) -> list[Requirement]:
    """The project's own requirements plus those of ``extras`` (local projects followed)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    found = [Requirement(r) for r in project.get("dependencies", [])]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


def closure() -> tuple[list[Requirement], list[Requirement]]:
    """(what ``make`` installs, what the node image installs), local projects expanded."""
    root = ROOT / "pyproject.toml"
    client = ROOT / "clients" / "python" / "pyproject.toml"
    node = declared(root, {"node"})
    dev = declared(root, {"dev", "node", "bench"}) + declared(
        client, {"c2pa", "datadiligence", "all"}
    )
    return dev, node


@pytest.mark.parametrize(("lock", "which"), [("dev.txt", 0), ("node.txt", 1)])
def test_lock_satisfies_every_declared_requirement(lock: str, which: int) -> None:
    pins = read_lock(lock)
    missing, unsatisfied = [], []
    for requirement in closure()[which]:
        name = canonicalize_name(requirement.name)
        if name in LOCAL:
            continue
        if name not in pins:
            missing.append(str(requirement))
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            unsatisfied.append(f"{requirement} (locked {pins[name]})")
    assert not missing, f"{lock} lacks {missing}: run `make lock`"
    assert not unsatisfied, f"{lock} does not satisfy {unsatisfied}: run `make lock`"


def test_node_lock_runs_the_versions_ci_tests() -> None:
    dev, node = read_lock("dev.txt"), read_lock("node.txt")
    differ = {p: (v, dev.get(p)) for p, v in node.items() if dev.get(p) != v}
    assert not differ, f"node.txt and dev.txt disagree (node, dev): {differ}"


def test_local_projects_stay_out_of_the_locks() -> None:
    for lock in ("dev.txt", "node.txt"):
        assert not LOCAL & read_lock(lock).keys(), f"{lock} pins a local project"
