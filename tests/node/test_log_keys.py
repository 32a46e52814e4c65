"""The node's origin and signing key: generated once, stored, and never silently replaced."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import pytest

from registry.core.checkpoint import open_checkpoint
from registry.core.note import NoteSigner, NoteVerifier
from registry.log import NodeConfigError, NodeLog

OpenLog = Callable[..., Awaitable[NodeLog]]


def signer(name: str, label: str = "k") -> NoteSigner:
    return NoteSigner.from_seed(name, hashlib.sha256(label.encode()).digest())


async def test_key_generated_on_first_start_and_kept(open_log: OpenLog) -> None:
    first = await open_log()
    vkey = first.verifier_key
    assert NoteVerifier.from_vkey(vkey).name == "test.example/log"
    await first.close()
    again = await open_log()
    assert again.verifier_key == vkey
    open_checkpoint(await again.checkpoint(), NoteVerifier.from_vkey(vkey))


async def test_operator_key_is_used(open_log: OpenLog) -> None:
    key = signer("test.example/log")
    log = await open_log(signing_key=key.skey)
    assert log.verifier_key == key.verifier.vkey
    await log.close()
    # Giving the same key again is fine; omitting it uses the stored one.
    assert (await open_log(signing_key=key.skey)).verifier_key == key.verifier.vkey
    assert (await open_log(origin=None)).verifier_key == key.verifier.vkey


async def test_origin_defaults_to_the_key_name(open_log: OpenLog) -> None:
    key = signer("example.org/declarations")
    log = await open_log(origin=None, signing_key=key.skey)
    assert log.origin == "example.org/declarations"


async def test_default_origin_without_configuration(open_log: OpenLog) -> None:
    log = await open_log(origin=None)
    assert log.origin.startswith("consent-registry.localhost/")
    assert log.verifier_key.startswith(log.origin + "+")


async def test_different_key_is_refused(open_log: OpenLog) -> None:
    await (await open_log()).close()
    other = signer("test.example/log", "other")
    with pytest.raises(NodeConfigError, match="differs from the node key") as refused:
        await open_log(signing_key=other.skey)
    assert other.skey not in str(refused.value)
    assert other.skey.split("+")[-1] not in str(refused.value)


async def test_different_origin_is_refused(open_log: OpenLog) -> None:
    await (await open_log()).close()
    with pytest.raises(NodeConfigError, match="cannot change"):
        await open_log(origin="elsewhere.example/log")


async def test_key_named_differently_from_origin_is_refused(open_log: OpenLog) -> None:
    with pytest.raises(NodeConfigError, match="key name must equal the origin"):
        await open_log(signing_key=signer("someone.else/log").skey)


async def test_malformed_key_is_refused_without_echoing_it(open_log: OpenLog) -> None:
    secret = "PRIVATE+KEY+test.example/log+00000000+AQsecretsecretsecret"
    with pytest.raises(NodeConfigError) as refused:
        await open_log(signing_key=secret)
    assert "secretsecret" not in str(refused.value)


async def test_unmigrated_database_is_refused(database_url: str) -> None:
    with pytest.raises(NodeConfigError, match="db upgrade"):
        await NodeLog.open(database_url)
