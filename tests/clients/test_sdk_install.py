"""The README's install command for the SDK works in a fresh virtual environment.

``pip install -e clients/python`` alone cannot work: the SDK depends on ``consent-registry``
(the protocol core, the root project), which is not on PyPI. From a checkout the README says
``pip install -e . -e "clients/python[all]"``: pip then takes ``consent-registry`` from the
checkout. This test runs that command (plain extras, so no C2PA download) with pip in a new
venv, offline: the third-party packages are the ones this environment already has (a ``.pth``
file points at them, without this environment's own copies of the two local projects), so
``--no-index`` proves nothing is fetched, and ``--no-build-isolation`` lets pip build the two
local projects with the setuptools found there instead of downloading one. What it proves:
the requirement on ``consent-registry`` is met by the checkout, the SDK installs, imports and
its ``consent`` command runs; not that PyPI serves the third-party packages.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# This environment's own copies of the local projects, and its installer: left out.
# No pip configuration of this machine (local wheel folders, extra indexes) takes part.
_ENV = {
    "PATH": "/usr/bin:/bin",
    "PIP_CONFIG_FILE": "/dev/null",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}
_OWN = ("consent_registry", "__editable__", "pip", "a1_coverage.pth", "distutils-precedence.pth")


def _dependencies_only(target: Path) -> Path:
    """A folder of links to this environment's installed packages except the local projects."""
    site = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in site.iterdir():
        if not entry.name.startswith(_OWN) and entry.name != "__pycache__":
            (target / entry.name).symlink_to(entry)
    return target


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--no-build-isolation", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
        env=_ENV,
    )


@pytest.mark.slow
def test_readme_install_command_works_in_a_fresh_venv(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = fresh / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = _dependencies_only(tmp_path / "deps")
    Path(purelib, "zz_dependencies.pth").write_text(f"{deps}\n")
    # ensurepip's own setuptools (if any) is older than the build backend the projects need
    subprocess.run(
        [str(python), "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"],
        capture_output=True,
        check=False,
        env=_ENV,
    )

    # the SDK alone: its protocol core is not on any index
    alone = _pip(python, "-e", "clients/python")
    assert alone.returncode != 0
    assert "No matching distribution found for consent-registry" in alone.stdout + alone.stderr

    # the README's command, from the checkout
    installed = _pip(python, "-e", ".", "-e", "clients/python")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    version = subprocess.run(
        [str(fresh / "bin" / "consent"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("consent ")
    where = subprocess.run(
        [str(python), "-c", "import consent, registry.core; print(consent.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(ROOT / "clients" / "python" / "consent" / "__init__.py")
    assert sys.prefix not in where.stdout
