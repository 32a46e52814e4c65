"""The trust commands of ``consent`` (spec §9): ``bind-domain``, ``rotate``, ``revoke``,
``dispute``, ``platform attest`` and ``check --policy / --verify-evidence``.

The first tests need no node (usage errors, one readable line each). The end-to-end tests run
the command against a real ``registry serve`` process on 127.0.0.1 that trusts one platform
key and may check domains on loopback over plain http (:func:`trust_settings`), with a local
web server serving the domain's ``did.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest
from consent import ConsentClient, NodeError
from consent.keyfile import save_key
from consent.trust import rotation

from registry.core.keys import PrivateKey
from registry.core.records import (
    encode_record,
    new_declaration,
    new_work,
    sign_declaration,
)
from registry.wire import SnapshotListing
from tests.clients.sdk_support import BIN, free_port, start_registry, stop_registry
from tests.clients.test_cli_consent import PASSPHRASE, as_json, consent, make_image
from tests.clients.test_sdk_readme import README_NODE, blocks, trust_blocks
from tests.clients.trust_support import key

PLATFORM_NAME = "cara"
PLATFORM = key("cli platform")
DEAD_NODE = "http://127.0.0.1:9"  # discard port: nothing answers


def keygen(folder: Path, name: str) -> tuple[Path, str]:
    """A key file made by ``consent keygen``; its path and did."""
    path = folder / f"{name}.json"
    env = {"CONSENT_KEY": str(path), "CONSENT_PASSPHRASE": PASSPHRASE}
    made = consent("keygen", "--json", "--scrypt-n", "1024", cwd=folder, env=env)
    return path, str(as_json(made)["did"])


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``consent: error:`` line of a failed command (exit 1)."""
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("consent: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("keys")
    owner, owner_did = keygen(folder, "owner")
    new, new_did = keygen(folder, "owner-new")
    platform = folder / "platform.json"
    save_key(PLATFORM, platform, PASSPHRASE, scrypt_n=1024)
    return {
        "folder": folder,
        "owner": owner,
        "owner_did": owner_did,
        "new": new,
        "new_did": new_did,
        "platform": platform,
    }


def env_of(keys: dict[str, Any], node: str, key_file: Path | None = None) -> dict[str, str]:
    return {
        "CONSENT_KEY": str(key_file or keys["owner"]),
        "CONSENT_PASSPHRASE": PASSPHRASE,
        "CONSENT_NODE": node,
        "CONSENT_DATA_DIR": str(keys["folder"] / "data"),
    }


# --- usage errors: one readable line, no node needed ------------------------------------------


def test_trust_commands_refuse_bad_arguments_in_one_line(
    keys: dict[str, Any], tmp_path: Path
) -> None:
    env = env_of(keys, DEAD_NODE)
    cases = [
        (["dispute", "not-an-id"], "is not a declaration id (64 lowercase hex digits"),
        (["revoke", "--since", "last tuesday", "--yes"], "--since 'last tuesday': give a date"),
        (["revoke", "--since", "2999-01-01", "--yes"], "is in the future"),
        (["revoke", "--since", "2026-01-01"], "not confirmed (add --yes to confirm)"),
        (["rotate", "--new-key", str(keys["owner"]), "--yes"], "holds the same key"),
        (["rotate", "--new-key", str(keys["new"])], "not confirmed (add --yes to confirm)"),
        (["rotate", "--new-key", str(tmp_path / "missing.json"), "--yes"], "missing.json"),
        (["bind-domain", "https://alice.example/"], "give the domain alone"),
        (["check", "https://a.example/x.png", "--levels"], "--levels needs --offline"),
        (["bind-domain", "alice.example:8443", "--print-only"], "is not a domain name"),
        (
            ["platform", "attest", "--platform-key", str(keys["platform"]), "--account", "a",
             "--creator", "did:key:zBad"],
            "--creator 'did:key:zBad':",
        ),
        (
            ["platform", "attest", "--platform-key", str(keys["platform"]), "--account", "a",
             "--creator", keys["owner_did"]],
            "nothing to attest: give files or folders, or --hashes FILE",
        ),
        (
            ["platform", "attest", "--platform-key", str(keys["platform"]), "--account", "a",
             "--creator", keys["owner_did"], "--account-only", str(tmp_path)],
            "--account-only binds the account alone",
        ),
    ]  # fmt: skip
    for argv, words in cases:
        result = consent(*argv, "--retries", "0", cwd=tmp_path, env=env, ok=False)
        assert words in one_line_error(result), (argv, result.stderr)
    # revoking warns loudly before it asks
    revoke = consent("revoke", "--retries", "0", cwd=tmp_path, env=env, ok=False)
    assert "WARNING: revoking " + keys["owner_did"] + " is final" in revoke.stderr
    for argv in (["rotate"], ["check", "x", "--policy", "strict"], ["platform", "attest"]):
        assert consent(*argv, cwd=tmp_path, env=env, ok=False).returncode == 2


def test_bind_domain_print_only_gives_the_did_json_to_publish(
    keys: dict[str, Any], tmp_path: Path
) -> None:
    env = env_of(keys, DEAD_NODE)
    printed = consent("bind-domain", "Alice.Example", "--print-only", cwd=tmp_path, env=env)
    intro, _, body = printed.stdout.partition("\n")
    assert intro.startswith("publish this document at https://alice.example/.well-known/did.json")
    document = json.loads(body)
    assert document["id"] == "did:web:alice.example"
    assert document["alsoKnownAs"] == [keys["owner_did"]]
    out = tmp_path / "did.json"
    consent(
        "bind-domain", "alice.example", "--print-only", "--out", str(out), cwd=tmp_path, env=env
    )
    assert json.loads(out.read_text()) == document
    again = consent(
        "bind-domain", "alice.example", "--print-only", "--out", str(out), cwd=tmp_path,
        env=env, ok=False,
    )  # fmt: skip
    assert "already exists (use --force" in one_line_error(again)


def test_platform_attest_reports_each_bad_input_line(keys: dict[str, Any], tmp_path: Path) -> None:
    hashes = tmp_path / "hashes.txt"
    good = hashlib.sha256(b"one").hexdigest()
    hashes.write_text(f"# uploads of @alice\n{good}\nnot-a-hash\n\n{good.upper()}\n{good[:10]}\n")
    result = consent(
        "platform", "attest", "--platform-key", str(keys["platform"]), "--account", "alice",
        "--creator", keys["owner_did"], "--hashes", str(hashes), "--retries", "0",
        cwd=tmp_path, env=env_of(keys, DEAD_NODE), ok=False,
    )  # fmt: skip
    lines = result.stderr.splitlines()
    assert f"consent: {hashes}:3: not a SHA-256 (64 hex digits): 'not-a-hash'" in lines
    assert f"consent: {hashes}:6: not a SHA-256 (64 hex digits): '{good[:10]}'" in lines
    assert "cannot reach" in one_line_error(result)  # the valid hash was going to be sent


# --- end to end, against a real node -----------------------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def trust_settings(folder: Path, sites: dict[str, int]) -> dict[str, str]:
    """The ``REGISTRY_*`` settings of the test node: it trusts :data:`PLATFORM` as
    ``cara`` for every host (spec §9.6 item 1) and, for tests only, checks domains over plain
    http on loopback, where each domain of ``sites`` is served by a web server of this test
    on the port given."""
    platforms = folder / "trusted-platforms.json"
    entry = {"name": PLATFORM_NAME, "key": PLATFORM.public_key.did, "scope": "*", "quota": 100_000}
    platforms.write_text(json.dumps({"platforms": [entry]}))
    return {
        "REGISTRY_TRUSTED_PLATFORMS": str(platforms),
        "REGISTRY_SNAPSHOT_INTERVAL": "0.2",
        "REGISTRY_BINDING_ALLOW_HTTP": "1",
        "REGISTRY_BINDING_ALLOW_PRIVATE": "1",
        "REGISTRY_BINDING_RESOLVE": ",".join(f"{d}=127.0.0.1:{p}" for d, p in sites.items()),
    }


@contextmanager
def serve_folder(root: Path) -> Iterator[int]:
    """A web server on loopback serving ``root``; its port."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(QuietHandler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A web server on loopback playing https://owner.example: its folder and port."""
    root = tmp_path_factory.mktemp("site")
    with serve_folder(root) as port:
        yield root, port


@pytest.fixture(scope="module")
def readme_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """The README reader's site, https://example.com: the folder the examples run in."""
    root = tmp_path_factory.mktemp("readme")
    with serve_folder(root) as port:
        yield root, port


@pytest.fixture(scope="module")
def trust_node(
    tmp_path_factory: pytest.TempPathFactory,
    site: tuple[Path, int],
    readme_site: tuple[Path, int],
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("trust-node")
    sites = {"owner.example": site[1], "example.com": readme_site[1]}
    process, base = start_registry(folder / "data", settings=trust_settings(folder, sites))
    try:
        yield base
    finally:
        stop_registry(process)


def declare(client: ConsentClient, signer: PrivateKey, sha256: str, prefs: dict[str, str],
            at: int, urls: tuple[str, ...] = ()) -> str:  # fmt: skip
    record = new_declaration(
        creator=signer.public_key.did,
        issued_at=at,
        works=[new_work(sha256, urls=urls)],
        prefs=prefs,
    )
    return client.submit(encode_record(sign_declaration(record, signer))).id


def test_records_route_round_trip_and_problems(trust_node: str) -> None:
    old, new = key("records old"), key("records new")
    now = int(time.time())
    entry = encode_record(rotation(old, new.public_key.did, issued_at=now))
    with ConsentClient(trust_node) as client:
        first = client.submit_record(entry)
        assert not first.duplicate
        assert client.submit_record(entry).duplicate
        verified = client.verify_record(first.id)
        assert verified.entry == entry
        assert verified.index == first.index
        future = rotation(key("records later"), new.public_key.did, issued_at=now + 3600)
        with pytest.raises(NodeError) as refused:
            client.submit_record(encode_record(future))
        assert (refused.value.status, refused.value.slug) == (422, "future-dated")
        with pytest.raises(NodeError) as missing:
            client.record("00" * 32)
        assert missing.value.status == 404
        trust = client.trust()
        assert trust.platforms == {PLATFORM.public_key.did: PLATFORM_NAME}
        assert trust.nodes  # the node trusts its own bindings


def test_bind_domain_then_the_owner_outranks_a_stranger(
    keys: dict[str, Any], trust_node: str, site: tuple[Path, int], tmp_path: Path
) -> None:
    root, _ = site
    env = env_of(keys, trust_node)
    failed = consent("bind-domain", "owner.example", cwd=tmp_path, env=env, ok=False)
    assert "could not confirm that https://owner.example/.well-known/did.json names your key" in (
        one_line_error(failed)
    )
    published = root / ".well-known" / "did.json"
    published.parent.mkdir(exist_ok=True)
    bound = consent("bind-domain", "owner.example", "--out", str(published), cwd=tmp_path, env=env)
    assert f"bound: owner.example -> {keys['owner_did']}" in bound.stdout
    page = "https://owner.example/art/sunset.png"
    make_image(tmp_path / "sunset.png", 3)
    consent(
        "declare", str(tmp_path / "sunset.png"), "--allow-train", "--url-map",
        str(_url_map(tmp_path, tmp_path / "sunset.png", page)), cwd=tmp_path, env=env,
    )  # fmt: skip
    with ConsentClient(trust_node) as client:
        sha256 = hashlib.sha256((tmp_path / "sunset.png").read_bytes()).hexdigest()
        stranger = declare(
            client, key("stranger"), sha256, {"train-ai": "n"}, int(time.time()), (page,)
        )
    verified = as_json(consent("check", page, "--json", "--verify-evidence", cwd=tmp_path, env=env))
    (row,) = verified["results"]
    assert row["prefs"] == {"train-ai": "y"}  # spec §9.4.7: the default policy, verified
    levels = {c["declaration"]: (c["level"], c["counted"]) for c in row["claims"]}
    assert levels[stranger] == ("none", False)
    assert ("domain:owner.example", True) in levels.values()
    (evidence,) = row["evidence"]
    assert evidence["ok"]
    assert evidence["confirmed"] == ["domain:owner.example"]
    anything = as_json(consent("check", page, "--json", "--policy", "any", cwd=tmp_path, env=env))
    assert anything["results"][0]["prefs"] == {"train-ai": "n"}
    assert anything["policy"] == "any"
    table = consent("check", page, "--policy", "verified", cwd=tmp_path, env=env).stdout
    assert "domain:owner.example (+1 not counted)" in table
    # offline: the snapshot holds what any policy reserves; hits are asked under the policy
    with ConsentClient(trust_node) as client:
        wait_for_snapshot(client, client.record(stranger).index + 1)
    cache = ["--offline", "--cache", str(tmp_path / "cache"), "--json"]
    offline_any = as_json(consent("check", page, *cache, "--policy", "any", cwd=tmp_path, env=env))
    assert offline_any["reserved"] == 1
    offline = as_json(consent("check", page, *cache, cwd=tmp_path, env=env))
    assert offline["reserved"] == 0
    assert offline["offline"]["asked"] == 1
    # with the snapshot's levels file (spec §8.10) the hit is decided offline, with the
    # owner's domain level and the binding's id, and nothing is asked of the node
    levels = as_json(consent("check", page, *cache, "--levels", cwd=tmp_path, env=env))
    assert (levels["reserved"], levels["offline"]["asked"], levels["offline"]["decided"]) == (
        0,
        0,
        1,
    )
    (decided,) = levels["results"]
    assert decided["prefs"] == {"train-ai": "y"}
    by_id = {c["declaration"]: c for c in decided["claims"]}
    assert (by_id[stranger]["level"], by_id[stranger]["counted"]) == ("none", False)
    (owner_claim,) = (c for c in by_id.values() if c["level"] == "domain:owner.example")
    assert owner_claim["counted"] is True
    assert len(owner_claim["evidence"]) == 1
    levels_any = consent(
        "check", page, *cache, "--levels", "--policy", "any", cwd=tmp_path, env=env
    )
    assert as_json(levels_any)["reserved"] == 1
    assert as_json(levels_any)["offline"]["decided"] == 1
    # the owner disputes the stranger's claim: shown on it (spec §9.4.6)
    disputed = consent("dispute", stranger, cwd=tmp_path, env=env)
    assert f"disputed: {stranger} (not-rightsholder)" in disputed.stdout
    after = as_json(consent("check", page, "--json", cwd=tmp_path, env=env))
    claim = next(c for c in after["results"][0]["claims"] if c["declaration"] == stranger)
    assert len(claim["disputed_by"]) == 1
    unknown = consent("dispute", "ab" * 32, cwd=tmp_path, env=env, ok=False)
    assert f"the node holds no declaration {'ab' * 32}" in one_line_error(unknown)


def wait_for_snapshot(client: ConsentClient, size: int) -> None:
    """Wait until the node's snapshot chain covers ``size`` entries."""
    for _ in range(300):
        listing = msgspec.json.decode(client.get_bytes("/v1/snapshots"), type=SnapshotListing)
        if listing.size >= size:
            return
        time.sleep(0.1)
    raise AssertionError("the node's snapshot never reached the log size")


def _url_map(folder: Path, path: Path, url: str) -> Path:
    mapping = folder / "urls.tsv"
    mapping.write_text(f"{path}\t{url}\n")
    return mapping


def test_a_platform_attests_1000_uploads_and_answers_show_its_level(
    keys: dict[str, Any], trust_node: str, tmp_path: Path
) -> None:
    creator = key("platform user")
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for n in range(3):
        make_image(uploads / f"art{n}.png", 100 + n, size=64)
    others = tmp_path / "hashes.txt"
    others.write_text("\n".join(hashlib.sha256(b"%d" % n).hexdigest() for n in range(997)))
    env = env_of(keys, trust_node)
    attested = consent(
        "platform", "attest", "--platform-key", str(keys["platform"]), "--account", "alice",
        "--creator", creator.public_key.did, str(uploads), "--hashes", str(others),
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert (
        f"attested 1000 works of @alice ({creator.public_key.did}) in 1 attestations: "
        "1 logged, 0 rejected" in attested.stdout
    )
    sha256 = hashlib.sha256((uploads / "art0.png").read_bytes()).hexdigest()
    with ConsentClient(trust_node) as client:
        mine = declare(client, creator, sha256, {"train-ai": "n"}, int(time.time()))
        declare(client, key("stranger 2"), sha256, {"train-ai": "y"}, int(time.time()))
        answer = client.work_by_sha256(sha256)
    claim = next(c for c in answer.claims if c.declaration == mine)
    assert claim.level == f"platform:{PLATFORM_NAME}"
    checked = as_json(
        consent("check", str(uploads / "art0.png"), "--json", "--verify-evidence", cwd=tmp_path,
                env=env)
    )  # fmt: skip
    (row,) = checked["results"]
    assert row["prefs"] == {"train-ai": "n"}
    assert row["evidence"][0]["confirmed"] == [f"platform:{PLATFORM_NAME}"]
    # the user lost that key: the platform binds the account to a new key, without works
    successor = key("platform user new")
    moved = consent(
        "platform", "attest", "--platform-key", str(keys["platform"]), "--account", "alice",
        "--creator", successor.public_key.did, "--account-only", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert f"bound @alice to {successor.public_key.did} (attestation " in moved.stdout
    # the crawler trusts no platform of its own choosing: nothing is confirmed
    distrust = consent(
        "check", str(uploads / "art0.png"), "--json", "--verify-evidence", "--trust-node",
        key("nobody").public_key.did, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert not as_json(distrust)["results"][0]["evidence"][0]["ok"]
    assert "which you do not trust" in distrust.stderr


def test_an_untrusted_platform_is_refused_one_line_per_attestation(
    keys: dict[str, Any], trust_node: str, tmp_path: Path
) -> None:
    rogue = tmp_path / "rogue.json"
    save_key(key("rogue platform"), rogue, PASSPHRASE, scrypt_n=1024)
    hashes = tmp_path / "hashes.txt"
    hashes.write_text("\n".join(hashlib.sha256(b"r%d" % n).hexdigest() for n in range(1529)))
    result = consent(
        "platform", "attest", "--platform-key", str(rogue), "--account", "mallory",
        "--creator", keys["owner_did"], "--hashes", str(hashes),
        cwd=tmp_path, env=env_of(keys, trust_node), ok=False,
    )  # fmt: skip
    rejected = [line for line in result.stderr.splitlines() if " rejected: " in line]
    assert len(rejected) == 2  # 1529 hashes: two attestations, each refused
    assert all("untrusted-platform" in line for line in rejected)
    assert "in 2 attestations: 0 logged, 2 rejected" in result.stdout
    assert "2 attestations rejected, e.g. untrusted-platform" in one_line_error(result)


def test_revoking_a_stolen_key_voids_the_thiefs_withdrawal(
    keys: dict[str, Any], trust_node: str, tmp_path: Path
) -> None:
    victim_file, victim = keygen(tmp_path, "victim")
    env = env_of(keys, trust_node, victim_file)
    work = tmp_path / "work.png"
    make_image(work, 7, size=64)
    now = int(time.time())
    consent("declare", str(work), "--no-train", "--issued-at", str(now - 300), cwd=tmp_path,
            env=env)  # fmt: skip
    # the thief, holding the key, withdraws
    consent("withdraw", str(work), "--issued-at", str(now - 60), cwd=tmp_path, env=env)
    before = as_json(consent("check", str(work), "--json", cwd=tmp_path, env=env))
    assert before["reserved"] == 0
    revoked = consent("revoke", "--since", str(now - 120), "--yes", cwd=tmp_path, env=env)
    assert f"revoked: {victim} since " in revoked.stdout
    assert "WARNING: revoking" in revoked.stderr
    after = as_json(consent("check", str(work), "--json", cwd=tmp_path, env=env))
    assert after["reserved"] == 1  # spec §9.4.1: the withdrawal after `since` does not count


def test_rotation_hands_over_to_the_new_key(
    keys: dict[str, Any], trust_node: str, tmp_path: Path
) -> None:
    old_file, old_did = keygen(tmp_path, "old")
    new_file, new_did = keygen(tmp_path, "new")
    env = env_of(keys, trust_node, old_file)
    work = tmp_path / "work.png"
    make_image(work, 8, size=64)
    now = int(time.time())
    consent("declare", str(work), "--no-train", "--issued-at", str(now - 100), cwd=tmp_path,
            env=env)  # fmt: skip
    rotated = consent("rotate", "--new-key", str(new_file), "--yes", cwd=tmp_path, env=env)
    assert f"rotated: {old_did} -> {new_did}" in rotated.stdout
    assert f"export CONSENT_KEY={new_file}" in rotated.stdout
    assert "1 of them are in the new key's record" in rotated.stdout
    # the new key changes the old key's declaration: one claim, the old key's principal
    new_env = env_of(keys, trust_node, new_file)
    kept = consent("declare", str(work), "--allow-train", cwd=tmp_path, env=new_env)
    assert "1 works kept as they are" in kept.stdout  # the old key's statement is the new key's
    consent("change", str(work), "--allow-train", cwd=tmp_path, env=new_env)
    checked = as_json(consent("check", str(work), "--json", "--policy", "any", cwd=tmp_path,
                              env=new_env))  # fmt: skip
    (row,) = checked["results"]
    assert row["prefs"] == {"train-ai": "y"}
    assert [claim["level"] for claim in row["claims"]] == ["none"]  # one claim: one person
    with ConsentClient(trust_node) as client:
        answer = client.work_by_sha256(row["key"], policy="any")
    (claim,) = answer.claims
    assert (claim.creator, claim.principal) == (new_did, old_did)
    # what the retired old key signs from now on does not count (spec §9.4.2)
    old_env = env_of(keys, trust_node, old_file)
    consent("change", str(work), "--no-train", cwd=tmp_path, env=old_env)
    again = as_json(consent("check", str(work), "--json", cwd=tmp_path, env=new_env))
    assert again["results"][0]["prefs"] == {"train-ai": "y"}


def test_readme_trust_examples_run_as_written(
    trust_node: str, readme_site: tuple[Path, int]
) -> None:
    """The trust section of clients/python/README.md, after its first example (the creator's
    key and declarations), in the folder https://example.com serves."""
    root, _ = readme_site
    portfolio = root / "portfolio"
    portfolio.mkdir()
    make_image(portfolio / "sunset.png", 7)
    (portfolio / "poem.txt").write_text("Consent travels with the work.\n" * 10)
    save_key(PLATFORM, root / "platform-key.json", "a long passphrase only you know", scrypt_n=1024)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSENT_", "SPAWNING_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_DATA_HOME"] = str(root / "xdg-data")
    first = blocks()[0]
    assert first[0] == "sh"
    assert "consent keygen" in first[1]
    examples = [first, *trust_blocks()]
    assert [lang for lang, _ in examples].count("sh") >= 4
    exports: list[str] = []
    outputs: list[str] = []
    for lang, block in examples:
        code = block.replace(README_NODE, trust_node)
        if lang == "sh":
            command = ["bash", "-e", "-c", "\n".join([*exports, code])]
            exports += [line for line in code.splitlines() if line.startswith("export ")]
        else:
            command = [sys.executable, "-c", code]
        result = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, (
            f"{lang} block failed:\n{block}\n{result.stdout}{result.stderr}"
        )
        outputs.append(result.stdout)
    text = "\n".join(outputs)
    did = json.loads((root / "creator-key.json").read_text())["did"]
    assert json.loads((root / ".well-known" / "did.json").read_text())["alsoKnownAs"] == [did]
    assert f"bound: example.com -> {did}" in text
    assert "domain:example.com" in text  # the check's identity column
    assert "attested 2 works of @alice" in text
    assert "evidence: domain:example.com confirmed" in text  # the SDK block
    # the binary check with identity (spec §6.8.4): the owner's domain level, per file
    assert re.search(r"^sunset\.png .*counted: \['domain:example\.com'\]$", text, re.M), text
    assert "rotated: " in text
    assert f"revoked: {did} since 2026-12-01 00:00:00 UTC" in text
    offline = json.loads((root / "levels.json").read_text())["offline"]
    assert offline["levels"] is not None  # the levels file was fetched and verified
    anything = json.loads((root / "any.json").read_text())
    assert anything["policy"] == "any"
    assert anything["results"][0]["claims"][0]["level"] == "domain:example.com"
