"""The domain check of spec §9.2 against a real web server on loopback: what names a key, and
every limit (size, deadline, redirects, scheme, addresses, public suffixes, domain syntax)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import socket
import time

import pytest
from aiohttp import web

from registry.core.errors import KeyFormatError
from registry.identity import (
    MAX_DOCUMENT_BYTES,
    MAX_REDIRECTS,
    DocumentError,
    FetchPolicy,
    InvalidDomainError,
    Verdict,
    check_document,
    check_domain_control,
    checked_domain,
    is_public_suffix,
    system_resolver,
)
from tests.identity.conftest import (
    OWNER,
    STRANGER,
    Site,
    did_document,
    redirect,
    serve,
    serve_gzip,
)

ALICE = "alice.example"
OWNER_DID = OWNER.public_key.did
GZIP_DOCUMENT = gzip.compress(did_document(ALICE, also=[OWNER_DID]))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- what names a key (§9.2 items 1 and 2) ---------------------------------------------------


async def test_named_in_also_known_as(site: Site) -> None:
    document = did_document(ALICE, also=["did:web:other.example", OWNER_DID])
    site.publish(ALICE, serve(document))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.NAMED
    assert check.named
    assert check.evidence == sha256(document)  # the exact bytes served
    assert check.url == f"http://{ALICE}/.well-known/did.json"
    assert "alsoKnownAs" in check.reason
    assert site.requests == [(ALICE, "/.well-known/did.json")]


@pytest.mark.parametrize("kind", ["Multikey", "Ed25519VerificationKey2020"])
async def test_named_by_a_verification_method(site: Site, kind: str) -> None:
    method = {
        "id": f"did:web:{ALICE}#key-1",
        "type": kind,
        "controller": f"did:web:{ALICE}",
        "publicKeyMultibase": OWNER_DID.removeprefix("did:key:"),
    }
    document = did_document(ALICE, methods=["not an object", method])
    site.publish(ALICE, serve(document))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.NAMED
    assert check.reason.endswith("verificationMethod[1]")
    assert check.evidence == sha256(document)


async def test_a_document_naming_another_key_is_not_named(site: Site) -> None:
    document = did_document(ALICE, also=[STRANGER.public_key.did])
    site.publish(ALICE, serve(document))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.NOT_NAMED
    assert not check.named
    assert check.evidence == sha256(document)  # answered: a lapse candidate, with its evidence
    assert f"does not name {OWNER_DID}" in check.reason


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (did_document("mallory.example", also=[OWNER_DID]), "not 'did:web:alice.example'"),
        (did_document("alice.example:8443", also=[OWNER_DID]), "not 'did:web:alice.example'"),
        (b'{"alsoKnownAs": []}', "missing or not a string"),
        (b"<html>parked domain</html>", "not JSON"),
        (b'["did:web:alice.example"]', "not a JSON object"),
        (json.dumps({"id": f"did:web:{ALICE}", "alsoKnownAs": OWNER_DID}).encode(), "not name"),
    ],
)
async def test_documents_that_do_not_name_the_key(site: Site, document: bytes, reason: str) -> None:
    site.publish(ALICE, serve(document))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.NOT_NAMED
    assert reason in check.reason
    assert check.evidence == sha256(document)


def test_a_verification_method_of_another_type_does_not_name_the_key() -> None:
    multibase = OWNER_DID.removeprefix("did:key:")
    jwk = {"type": "JsonWebKey2020", "publicKeyMultibase": multibase}
    with pytest.raises(DocumentError, match="does not name"):
        check_document(did_document(ALICE, methods=[jwk]), ALICE, OWNER_DID)
    with pytest.raises(DocumentError, match="not JSON"):
        check_document(b"\xff\xfe{}", ALICE, OWNER_DID)  # UTF-16 is not a did.json


async def test_a_missing_document_is_not_named_and_a_server_error_is_unreachable(
    site: Site,
) -> None:
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())  # nothing published
    assert check.verdict is Verdict.NOT_NAMED  # §9.2: the document is gone
    assert "HTTP 404" in check.reason
    assert check.evidence == sha256(b"no such document")
    site.publish(ALICE, serve(b"gone", status=410))
    assert (await check_domain_control(ALICE, OWNER_DID, site.policy())).verdict is (
        Verdict.NOT_NAMED
    )
    site.publish(ALICE, serve(b"oops", status=503))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.UNREACHABLE  # never a lapse by itself
    assert "HTTP 503" in check.reason
    assert check.evidence is None


# --- size: 64 KiB, counted after decompression ----------------------------------------------


async def test_a_gzip_document_is_inflated_and_its_evidence_is_the_document(site: Site) -> None:
    document = did_document(ALICE, also=[OWNER_DID])
    site.publish(ALICE, serve_gzip(document))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.NAMED
    assert check.evidence == sha256(document)


async def test_an_oversize_document_is_refused(site: Site) -> None:
    padding = " " * (MAX_DOCUMENT_BYTES + 1 - len(did_document(ALICE, also=[OWNER_DID])))
    document = did_document(ALICE, also=[OWNER_DID]) + padding.encode()
    assert len(document) == MAX_DOCUMENT_BYTES + 1
    site.publish(ALICE, serve(document))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert f"at most {MAX_DOCUMENT_BYTES}" in check.reason
    # exactly at the limit is fine
    site.publish(ALICE, serve(document[:-1]))
    assert (await check_domain_control(ALICE, OWNER_DID, site.policy())).named


async def test_an_endless_stream_is_cut_at_the_limit(site: Site) -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # no Content-Length to refuse it by
        await response.prepare(request)
        for _ in range(1024):
            await response.write(b" " * 4096)
            sent += 4096
        return response

    site.publish(ALICE, endless)
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert f"larger than {MAX_DOCUMENT_BYTES} bytes" in check.reason


async def test_a_gzip_bomb_is_stopped_after_inflating_the_limit(site: Site) -> None:
    bomb = gzip.compress(b" " * (64 * MAX_DOCUMENT_BYTES))  # 4 MiB inflated
    assert len(bomb) < MAX_DOCUMENT_BYTES // 4
    site.publish(ALICE, serve(bomb, headers={"Content-Encoding": "gzip"}))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert "once inflated" in check.reason


async def test_an_unrequested_encoding_is_refused(site: Site) -> None:
    site.publish(ALICE, serve(b"\x1b\x00", headers={"Content-Encoding": "br"}))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert "unrequested content encoding 'br'" in check.reason


# --- one overall deadline --------------------------------------------------------------------


async def test_a_dripping_server_hits_the_overall_deadline(site: Site) -> None:
    document = did_document(ALICE, also=[OWNER_DID])

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(len(document))})
        await response.prepare(request)
        for byte in document:  # each byte well within any per-read timeout
            await response.write(bytes([byte]))
            await asyncio.sleep(0.05)
        return response

    site.publish(ALICE, drip)
    started = time.monotonic()
    check = await check_domain_control(ALICE, OWNER_DID, site.policy(timeout=1.0))
    elapsed = time.monotonic() - started
    assert check.verdict is Verdict.UNREACHABLE
    assert "within 1 s" in check.reason
    assert 0.9 < elapsed < 2.0  # the whole check, not one read, was bounded


async def test_a_slow_resolver_counts_against_the_same_deadline(site: Site) -> None:
    inner = site.resolver()

    async def slow(host: str, port: int) -> list[tuple[str, int]]:
        await asyncio.sleep(0.6)
        return list(await inner(host, port))

    async def slow_answer(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.6)
        return web.Response(body=did_document(ALICE, also=[OWNER_DID]))

    site.publish(ALICE, slow_answer)
    policy = site.policy(timeout=1.0, resolver=slow)
    check = await check_domain_control(ALICE, OWNER_DID, policy)
    assert check.verdict is Verdict.UNREACHABLE  # 0.6 s + 0.6 s > 1 s, each part < 1 s


# --- redirects: same host only, at most MAX_REDIRECTS ----------------------------------------


async def test_a_same_host_redirect_is_followed_with_one_lookup(site: Site) -> None:
    document = did_document(ALICE, also=[OWNER_DID])
    site.publish(ALICE, redirect("/did/current.json", 301))
    site.publish(ALICE, serve(document), path="/did/current.json")
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.named
    assert check.url == f"http://{ALICE}/did/current.json"
    assert check.evidence == sha256(document)
    assert site.lookups == [ALICE]  # resolved once: every hop goes to the checked address


async def test_a_redirect_to_another_host_is_refused(site: Site) -> None:
    site.publish(ALICE, redirect("http://mallory.example/.well-known/did.json"))
    site.publish("mallory.example", serve(did_document(ALICE, also=[OWNER_DID])))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert "redirect to another host" in check.reason
    assert ("mallory.example", "/.well-known/did.json") not in site.requests
    # a subdomain is another host too
    site.publish(ALICE, redirect("http://www.alice.example/.well-known/did.json"))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED


async def test_too_many_redirects_are_refused(site: Site) -> None:
    for hop in range(MAX_REDIRECTS + 1):
        path = "/.well-known/did.json" if hop == 0 else f"/hop/{hop}"
        site.publish(ALICE, redirect(f"/hop/{hop + 1}", 307), path=path)
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER_DID])), path="/hop/4")
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert f"more than {MAX_REDIRECTS} redirects" in check.reason
    # one fewer hop is followed
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER_DID])), path="/hop/3")
    assert (await check_domain_control(ALICE, OWNER_DID, site.policy())).named


async def test_a_redirect_without_location_is_unreachable(site: Site) -> None:
    async def bare(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302)

    site.publish(ALICE, bare)
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.UNREACHABLE
    assert "without a Location" in check.reason


# --- https, and plain http only when allowed -------------------------------------------------


async def test_https_checks_the_certificate_against_the_domain(site: Site) -> None:
    document = did_document(ALICE, also=[OWNER_DID])
    site.publish(ALICE, serve(document))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy(allow_http=False))
    assert check.named
    assert check.url == f"https://{ALICE}/.well-known/did.json"
    # the server's certificate is for alice.example only: bob.example's check must fail TLS
    # even though the connection goes to the same checked address
    site.publish("bob.example", serve(did_document("bob.example", also=[OWNER_DID])))
    check = await check_domain_control("bob.example", OWNER_DID, site.policy(allow_http=False))
    assert check.verdict is Verdict.UNREACHABLE
    assert "CERTIFICATE_VERIFY_FAILED" in check.reason
    # and a CA the node does not trust fails too
    untrusted = site.policy(allow_http=False, tls=None)
    assert (await check_domain_control(ALICE, OWNER_DID, untrusted)).verdict is (
        Verdict.UNREACHABLE
    )


async def test_plain_http_is_not_fetched_unless_allowed(site: Site) -> None:
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER_DID])))
    # the https check reaches the plain http port: no document request is ever served
    policy = site.policy(allow_http=False, resolver=site.resolver())
    check = await check_domain_control(ALICE, OWNER_DID, policy)
    assert check.verdict is Verdict.UNREACHABLE
    assert site.requests == []


async def test_a_redirect_from_https_to_plain_http_is_refused(site: Site) -> None:
    site.publish(ALICE, redirect(f"http://{ALICE}:{site.port}/.well-known/did.json"))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy(allow_http=False))
    assert check.verdict is Verdict.REFUSED
    assert "only https is fetched" in check.reason


# --- addresses: public only, unless allowed; the checked address is the one connected to -----


async def test_loopback_is_refused_unless_allowed(site: Site) -> None:
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER_DID])))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy(allow_private=False))
    assert check.verdict is Verdict.REFUSED
    assert "non-public addresses (127.0.0.1)" in check.reason
    assert site.requests == []  # refused before connecting
    assert (await check_domain_control(ALICE, OWNER_DID, site.policy())).named


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fc00::1", "0.0.0.0"]
)
async def test_non_public_addresses_are_refused(site: Site, address: str) -> None:
    policy = site.policy(allow_private=False, resolver=site.resolver(address))
    check = await check_domain_control(ALICE, OWNER_DID, policy)
    assert check.verdict is Verdict.REFUSED
    assert address in check.reason


async def test_non_public_addresses_of_a_host_are_dropped_not_tried(site: Site) -> None:
    # a host resolving to loopback, documentation space and a public address: only the public
    # one is tried (whatever answers there, if anything, serves no document naming the key),
    # never the loopback one that does serve it
    async def mixed(host: str, port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", site.port), ("198.51.100.7", 80), ("1.1.1.1", 9)]

    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER_DID])))
    policy = site.policy(allow_private=False, resolver=mixed, timeout=0.5)
    check = await check_domain_control(ALICE, OWNER_DID, policy)
    assert check.verdict in (Verdict.UNREACHABLE, Verdict.NOT_NAMED)  # the public one was tried
    assert site.requests == []  # the loopback one was not


async def test_an_address_that_refuses_falls_through_to_the_next(site: Site) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now

    async def two(host: str, port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", closed_port), ("127.0.0.1", site.port)]

    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER_DID])))
    assert (await check_domain_control(ALICE, OWNER_DID, site.policy(resolver=two))).named

    async def none_listening(host: str, port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", closed_port)]

    check = await check_domain_control(ALICE, OWNER_DID, site.policy(resolver=none_listening))
    assert check.verdict is Verdict.UNREACHABLE
    assert "cannot connect to alice.example" in check.reason


async def test_a_name_that_does_not_resolve_is_unreachable(site: Site) -> None:
    check = await check_domain_control("alice.invalid", OWNER_DID, site.policy())
    assert check.verdict is Verdict.UNREACHABLE
    assert "does not resolve" in check.reason

    async def empty(host: str, port: int) -> list[tuple[str, int]]:
        return []

    check = await check_domain_control(ALICE, OWNER_DID, site.policy(resolver=empty))
    assert check.verdict is Verdict.UNREACHABLE
    assert "no address" in check.reason


async def test_the_system_resolver_resolves_localhost() -> None:
    found = await system_resolver("localhost", 443)
    assert found
    assert {address for address, _ in found} <= {"127.0.0.1", "::1"}
    assert all(port == 443 for _, port in found)


# --- the domain itself ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["github.io", "co.uk", "com", "example", "blogspot.com"])
async def test_public_suffixes_are_refused_without_a_request(site: Site, suffix: str) -> None:
    assert is_public_suffix(suffix)
    check = await check_domain_control(suffix, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert "is a public suffix" in check.reason
    assert site.lookups == []
    assert site.requests == []


def test_sites_under_a_public_suffix_are_not_public_suffixes() -> None:
    for domain in ("alice.github.io", "bbc.co.uk", "www.bbc.co.uk", ALICE):
        assert not is_public_suffix(domain)


@pytest.mark.parametrize(
    "domain",
    [
        "alice.example:8443",
        "alice.example.",
        "127.0.0.1",
        "[::1]",
        "https://alice.example",
        "alice.example/path",
        "-alice.example",
        "alice..example",
        "",
        "al ice.example",
        "ålice.example",
        "a" * 64 + ".example",
    ],
)
async def test_malformed_domains_are_rejected(domain: str) -> None:
    with pytest.raises(InvalidDomainError, match=r"§9\.3\.1"):
        await check_domain_control(domain, OWNER_DID, FetchPolicy())


def test_domains_are_lowercased() -> None:
    assert checked_domain("Alice.Example") == ALICE
    assert checked_domain("xn--lice-qoa.example") == "xn--lice-qoa.example"


async def test_a_malformed_did_is_rejected() -> None:
    with pytest.raises(KeyFormatError):
        await check_domain_control(ALICE, "did:web:alice.example", FetchPolicy())


def test_the_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout"):
        FetchPolicy(timeout=0)


# --- servers that misbehave -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (GZIP_DOCUMENT[:10] + b"garbage that is not deflate", "does not inflate"),
        (GZIP_DOCUMENT[:-12], "truncated"),
    ],
)
async def test_a_broken_gzip_body_is_refused(site: Site, body: bytes, reason: str) -> None:
    site.publish(ALICE, serve(body, headers={"Content-Encoding": "gzip"}))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.REFUSED
    assert reason in check.reason


async def test_a_server_that_hangs_up_is_unreachable(site: Site) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    site.publish(ALICE, hang_up)
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.UNREACHABLE
    assert "RemoteProtocolError" in check.reason


async def test_a_body_cut_short_is_unreachable(site: Site) -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"id": ')
        assert request.transport is not None
        request.transport.close()
        return response

    site.publish(ALICE, cut)
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.UNREACHABLE
    assert check.evidence is None


async def test_a_redirect_to_a_malformed_url_is_unreachable(site: Site) -> None:
    site.publish(ALICE, redirect("http://alice.example:port/"))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.UNREACHABLE
    assert "Invalid URL in location header" in check.reason


async def test_a_resolver_answering_a_non_address_is_refused(site: Site) -> None:
    async def garbage(host: str, port: int) -> list[tuple[str, int]]:
        return [("not-an-address", port)]

    policy = site.policy(allow_private=False, resolver=garbage)
    check = await check_domain_control(ALICE, OWNER_DID, policy)
    assert check.verdict is Verdict.REFUSED


async def test_an_oversize_404_is_still_gone_with_empty_evidence(site: Site) -> None:
    site.publish(ALICE, serve(b" " * (MAX_DOCUMENT_BYTES + 1), status=404))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.NOT_NAMED
    assert check.evidence == sha256(b"")


async def test_an_ipv6_address_is_connected_to_with_the_name_in_host() -> None:
    seen: list[str] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        seen.append(request.host)
        return web.Response(body=did_document(ALICE, also=[OWNER_DID]))

    app = web.Application()
    app.router.add_get("/.well-known/did.json", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.bind(("::1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()

    async def v6(host: str, wanted: int) -> list[tuple[str, int]]:
        return [("::1", port)]

    try:
        policy = FetchPolicy(allow_http=True, allow_private=True, resolver=v6, timeout=5)
        check = await check_domain_control(ALICE, OWNER_DID, policy)
    finally:
        await runner.cleanup()
    assert check.named
    assert seen == [ALICE]  # Host names the domain, not the address


async def test_an_empty_gzip_body_is_an_empty_document(site: Site) -> None:
    site.publish(ALICE, serve(b"", headers={"Content-Encoding": "gzip"}))
    check = await check_domain_control(ALICE, OWNER_DID, site.policy())
    assert check.verdict is Verdict.NOT_NAMED
    assert check.evidence == sha256(b"")
